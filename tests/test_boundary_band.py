"""Banding at the left border of `3096.jpg` (issue 15): the default keeps it (a strict xfail that flips
when fixed); `--prior-border mirror` removes it.

`pnp deblur 3096.jpg --kernel motion --simulate` (reflect boundary) leaves vertical bands over the
left ~20 columns. Cause (measured, see issue 15): for this asymmetric kernel the reflect-boundary blur
has (near-)null directions concentrated at that border (on 48x48, eigenvalues of AᵀA down to 1e-14,
where the circular blur's smallest is 3e-5), which the data cannot fix; there the fixed point is set
by the prior alone, and the Euler net's zero-padded convolutions bias pixels at the image border.
A stronger prior makes the band worse; the circular model has none. Denoising the image's mirror
tiling with circular convolutions (``MirrorEmbedded``, an isometry: the certificate is unchanged)
removes the bias and the band; the outermost column stays about 3x the inside error.
"""

from __future__ import annotations

import pytest
import torch

from pnp.denoisers import load
from pnp.io import read_image
from pnp.operators import kernels
from pnp.solvers import Stopping
from pnp.tasks import DeblurOptions, Start, deblur, simulate_blur


def _problem(bsds500) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A 96x96 crop of 3096 (sky), ``motion(31, seed 0)`` with reflect boundary, noise 0.01."""
    sharp = read_image(bsds500 / "data" / "images" / "val" / "3096.jpg").image[..., :96, :96]
    kernel = kernels.from_spec("motion", size=31, seed=0)
    return sharp, kernel, simulate_blur(sharp, kernel, boundary="reflect", noise_level=0.01, seed=0)


def _left_band(bsds500, prior_border: str) -> tuple[float, float]:
    """Worst column-mean error over columns 1-19 of the crop, and the inside mean."""
    sharp, kernel, observed = _problem(bsds500)
    restored = deblur(observed, kernel, load("euler", sigma=0.01, nearest=True),
                      DeblurOptions(boundary="reflect", noise_level=0.01, prior_border=prior_border)).restored
    column_error = (restored - sharp).abs().mean(dim=(0, 1, 2))
    return float(column_error[1:20].max()), float(column_error[30:-30].mean())


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="issue 15: the prior's zero-padding bias in the "
                   "reflect model's null directions (use --prior-border mirror)")
def test_no_band_at_the_left_border_of_a_flat_sky(bsds500):
    band, inside = _left_band(bsds500, "zeros")  # measured: 32/255 at column 1, 17 at 17, against 5.4 inside
    assert band < 2 * inside, (band * 255, inside * 255)


def test_the_mirror_border_of_the_prior_removes_the_band(bsds500):
    torch.manual_seed(0)
    band, inside = _left_band(bsds500, "mirror")  # measured: 7.0/255 at column 1, against 4.3 inside
    assert band < 2 * inside, (band * 255, inside * 255)


@pytest.mark.slow
def test_the_reflect_border_is_approached_slowly_so_the_stop_depends_on_the_start(bsds500):
    """What ``DeblurOptions`` says of ``start``: the fixed point is unique (two starts meet when run
    long enough), but along the border's near-null directions the default tolerance stops early."""
    _, kernel, observed = _problem(bsds500)
    prior = load("euler", sigma=0.01, nearest=True)

    def gap(stopping: Stopping) -> float:
        points = [deblur(observed, kernel, prior, DeblurOptions(boundary="reflect", noise_level=0.01, start=start,
                                                                stopping=stopping)).restored
                  for start in (Start.TIKHONOV, Start.OBSERVED)]
        return float((points[0] - points[1]).abs().max())

    assert gap(Stopping(500, 1e-5)) > 5e-3  # measured: 1.6e-2 (4/255)
    assert gap(Stopping(3000, 1e-7)) < 1e-3  # measured: 4.5e-4
