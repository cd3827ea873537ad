"""A known defect, kept as a test that flips when fixed: banding at the left border of `3096.jpg`.

`pnp deblur 3096.jpg --kernel motion --simulate` (reflect boundary) leaves vertical bands over the
left ~20 columns. Cause (measured, see issue 15): for this asymmetric kernel the reflect-boundary blur
has (near-)null directions concentrated at that border (on 48x48, eigenvalues of AᵀA down to 1e-14,
where the circular blur's smallest is 3e-5), which the data cannot fix; there the fixed point is set
by the prior alone, and the Euler net's zero-padded convolutions bias pixels at the image border.
A stronger prior makes the band worse; the circular model has none. Denoising a mirror tiling of the
image with circular convolutions (an isometry, so the certificate is unchanged) removes most of it.
"""

from __future__ import annotations

import pytest
import torch

from pnp.denoisers import load
from pnp.io import load_image
from pnp.operators import kernels
from pnp.tasks import DeblurOptions, deblur, simulate_blur


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="issue 15: the prior's border bias in the reflect model's null directions")
def test_no_band_at_the_left_border_of_a_flat_sky(bsds500):
    sharp = load_image(bsds500 / "data" / "images" / "val" / "3096.jpg")[..., :96, :96]
    kernel = kernels.from_spec("motion", size=31, seed=0)
    observed = simulate_blur(sharp, kernel, boundary="reflect", noise_level=0.01, seed=0)
    torch.manual_seed(0)
    restored = deblur(observed, kernel, load("euler", sigma=0.01, nearest=True),
                      DeblurOptions(boundary="reflect", noise_level=0.01)).restored
    column_error = (restored - sharp).abs().mean(dim=(0, 1, 2))
    interior = float(column_error[30:-30].mean())
    assert float(column_error[:20].max()) < 2 * interior, (column_error[:20] * 255).round().tolist()
