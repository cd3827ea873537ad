"""Blur kernel sources and validation.

Every kernel returned by this module is a 2-D ``torch.float32`` tensor of odd height and width,
finite, non-negative and summing to 1. Such a kernel ``k`` defines a blur whose circular
convolution operator has spectral norm exactly 1 (its DFT has modulus at most ``sum(k) = 1``,
reached at frequency 0), which is what the solvers use to pick a step size.

Sources:

- :func:`levin` -- the 8 real camera-shake kernels of Levin et al. (CVPR 2009), shipped as
  package data;
- :func:`motion` -- a random camera-shake trajectory from deepinv's ``MotionBlurGenerator``;
- :func:`gaussian`, :func:`box` -- analytic kernels;
- :func:`load` -- a ``.npy``, ``.png`` (or other image) or ``.txt`` file;
- :func:`from_spec` -- the textual specs of the CLI (``levin3``, ``motion``, ``gaussian:2``, ...).
"""

from __future__ import annotations

import math
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "KernelError",
    "box",
    "from_spec",
    "gaussian",
    "levin",
    "load",
    "motion",
    "validate",
    "LEVIN_COUNT",
]

LEVIN_COUNT = 8
_LEVIN_FILE = "levin09.npz"


class KernelError(ValueError):
    """A kernel (or a kernel spec) that cannot define a blur: the message says how to fix it."""


def validate(kernel: np.ndarray | torch.Tensor, *, name: str = "kernel") -> torch.Tensor:
    """Check and normalise a blur kernel.

    Args:
        kernel: a 2-D array (H, W).
        name: how to call the kernel in messages.

    Returns:
        A float32 tensor (H', W') with odd H', W' (an even size is zero-padded by one row/column
        at the bottom/right, with a warning), non-negative entries summing to 1 (a kernel that
        does not sum to 1 is rescaled, with a warning).

    Raises:
        KernelError: if the kernel is not 2-D, is empty, has NaN/Inf or negative entries, or sums
            to zero.
    """
    k = torch.as_tensor(np.asarray(kernel, dtype=np.float64)).to(torch.float64)
    if k.ndim != 2:
        raise KernelError(f"{name} must be a 2-D array, got shape {tuple(k.shape)}")
    if k.numel() == 0:
        raise KernelError(f"{name} is empty; give a kernel of at least 1x1")
    if not torch.isfinite(k).all():
        raise KernelError(f"{name} contains NaN or Inf values; fix the kernel file")
    if (k < 0).any():
        raise KernelError(
            f"{name} has negative entries (min {k.min().item():.3g}); "
            "a blur kernel must be non-negative"
        )
    total = k.sum().item()
    if total <= 0:
        raise KernelError(f"{name} is all zeros; a blur kernel must have a positive sum")
    pad_h, pad_w = 1 - k.shape[0] % 2, 1 - k.shape[1] % 2
    if pad_h or pad_w:
        warnings.warn(
            f"{name} has even size {tuple(k.shape)}; zero-padded to "
            f"{(k.shape[0] + pad_h, k.shape[1] + pad_w)} so that it has a centre pixel",
            stacklevel=2,
        )
        k = torch.nn.functional.pad(k, (0, pad_w, 0, pad_h))
    if not math.isclose(total, 1.0, rel_tol=1e-4):
        warnings.warn(f"{name} summed to {total:.6g}; normalised to sum 1", stacklevel=2)
    return (k / total).to(torch.float32)


def levin(index: int) -> torch.Tensor:
    """The ``index``-th (1..8) motion kernel of Levin et al. (2009), 13x13 to 27x27."""
    if not isinstance(index, int) or not 1 <= index <= LEVIN_COUNT:
        raise KernelError(f"Levin kernels are numbered 1..{LEVIN_COUNT}, got {index!r}")
    data = resources.files("pnp.operators").joinpath("data", _LEVIN_FILE)
    with data.open("rb") as handle, np.load(handle) as archive:
        array = archive[f"levin{index}"]
    return validate(array, name=f"levin{index}")


def motion(size: int = 31, seed: int = 0, *, length_scale: float = 0.5, spread: float = 0.6) -> torch.Tensor:
    """A random camera-shake kernel of ``size`` x ``size`` pixels.

    The trajectory is deepinv's ``MotionBlurGenerator`` (a Gaussian process with a Matern
    covariance in x and y); ``length_scale`` and ``spread`` are its ``l`` and ``sigma``. The
    defaults give a smooth trajectory spanning a large part of the support, i.e. a visibly long
    blur. The same ``(size, seed)`` always gives the same kernel.
    """
    from deepinv.physics.generator import MotionBlurGenerator

    if not isinstance(size, int) or size < 3:
        raise KernelError(f"motion kernel size must be an integer >= 3, got {size!r}")
    size += 1 - size % 2
    rng = torch.Generator().manual_seed(int(seed))
    generator = MotionBlurGenerator((size, size), rng=rng, l=length_scale, sigma=spread)
    psf = generator.step(batch_size=1, seed=int(seed))["filter"][0, 0]
    return validate(psf.detach().cpu().numpy(), name=f"motion(size={size}, seed={seed})")


def gaussian(sigma: float, size: int | None = None) -> torch.Tensor:
    """Isotropic Gaussian kernel exp(-r^2 / (2 sigma^2)), truncated to ``size`` (default 2*ceil(3 sigma)+1)."""
    if not sigma > 0 or not math.isfinite(sigma):
        raise KernelError(f"gaussian sigma must be a positive number, got {sigma!r}")
    if size is None:
        size = 2 * math.ceil(3 * sigma) + 1
    if size < 1:
        raise KernelError(f"gaussian kernel size must be >= 1, got {size}")
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    g = g / g.sum()
    return validate(torch.outer(g, g).numpy(), name=f"gaussian(sigma={sigma}, size={size})")


def box(size: int) -> torch.Tensor:
    """Uniform ``size`` x ``size`` kernel (odd ``size``)."""
    if not isinstance(size, int) or size < 1:
        raise KernelError(f"box size must be a positive integer, got {size!r}")
    return validate(np.full((size, size), 1.0 / size**2), name=f"box({size})")


def load(path: str | Path) -> torch.Tensor:
    """Read a kernel from ``.npy``, ``.txt``/``.csv`` (whitespace or comma separated) or an image file.

    Image files (``.png``, ``.jpg``, ``.tif``, ...) are read as grayscale and scaled to sum 1
    without a warning (pixel values never sum to 1); every kernel is then validated like any
    other, so a .npy or .txt kernel that does not sum to 1 is normalised with a warning.
    """
    path = Path(path)
    if not path.is_file():
        raise KernelError(f"kernel file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            try:
                array = np.load(path, allow_pickle=False)
            except ValueError:  # numpy's advice (allow_pickle=True) would run code from the file: never
                raise KernelError(f"{path} is not a .npy file holding a numeric array; save the kernel with "
                                  "numpy.save(path, array)") from None
        elif suffix in {".txt", ".csv"}:
            text = path.read_text().replace(",", " ")
            array = np.loadtxt(text.splitlines(), ndmin=2)
        else:
            from PIL import Image

            with Image.open(path) as image:
                array = np.asarray(image.convert("F"), dtype=np.float64)
            if array.sum() > 0:  # pixel values cannot sum to 1: scaling an image kernel is expected
                array = array / array.sum()
    except KernelError:
        raise
    except (OSError, ValueError) as error:
        raise KernelError(f"cannot read kernel file {path}: {error}") from error
    return validate(array, name=f"kernel file {path.name}")


MAX_KERNEL_SIZE = 4097
"""The largest kernel side any source builds (a bigger blur would not fit a photograph anyway)."""


def _check_size(size: int, spec: str, max_size: int | None) -> None:
    limit = min(MAX_KERNEL_SIZE, max_size) if max_size else MAX_KERNEL_SIZE
    if size > limit:
        where = f"the image ({max_size} px)" if max_size and max_size <= MAX_KERNEL_SIZE else f"{MAX_KERNEL_SIZE} px"
        raise KernelError(f"kernel spec {spec!r} needs a {size}x{size} kernel, larger than {where}; use a smaller one")


def from_spec(spec: str, *, size: int = 31, seed: int = 0, max_size: int | None = None) -> torch.Tensor:
    """Build a kernel from a textual spec.

    Specs: ``motion`` (uses ``size`` and ``seed``), ``levin1`` ... ``levin8``,
    ``gaussian:SIGMA``, ``box:N``, or a path to a kernel file. A generated kernel larger than
    ``max_size`` (the image's longer side, say) or than :data:`MAX_KERNEL_SIZE` is refused before
    anything is allocated.
    """
    text = spec.strip()
    lowered = text.lower()
    if lowered == "motion":
        _check_size(size, f"motion --kernel-size {size}", max_size)
        return motion(size, seed)
    if lowered.startswith("levin") and lowered[5:].isdigit():
        return levin(int(lowered[5:]))
    name, sep, argument = lowered.partition(":")
    if sep and name in {"gaussian", "box"}:
        try:
            value = float(argument)
        except ValueError:
            raise KernelError(f"kernel spec {spec!r}: '{argument}' is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise KernelError(f"kernel spec {spec!r}: give a positive finite number")
        if name == "gaussian":
            _check_size(2 * math.ceil(3 * value) + 1, spec, max_size)
            return gaussian(value)
        if value != int(value):
            raise KernelError(f"kernel spec {spec!r}: box size must be an integer")
        _check_size(int(value), spec, max_size)
        return box(int(value))
    if Path(text).suffix:
        return load(text)
    raise KernelError(
        f"unknown kernel spec {spec!r}; use motion, levin1..levin8, gaussian:SIGMA, box:N "
        "or a path to a .npy/.png/.txt kernel file"
    )
