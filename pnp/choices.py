"""The vocabularies users choose from, as string enums with no heavy imports.

Each enum is defined once here and re-exported where it belongs (``pnp.operators.Boundary``,
``pnp.device.Precision``, ``pnp.tasks.Start``, ``pnp.denoisers.Symmetry``, ``pnp.evaluation.protocol.ImageSet``,
``pnp.evaluation.standard.Method``), so the command line can list the choices in ``--help``
without loading torch.
"""

from __future__ import annotations

import enum

__all__ = ["Boundary", "ImageSet", "Method", "Precision", "PriorBorder", "PriorChoice", "Start", "Symmetry"]


class Boundary(str, enum.Enum):
    """How the image is extended beyond its border before convolving."""

    CIRCULAR = "circular"
    REFLECT = "reflect"


class PriorBorder(str, enum.Enum):
    """What the prior sees beyond the image border (:mod:`pnp.denoisers.borders`; each keeps the
    certificate): its networks' zero padding; the image continued periodically through circular
    convolutions (``periodic``, :class:`~pnp.denoisers.borders.PeriodicBorder`, same cost); or the
    image's mirror image (``mirror``, :class:`~pnp.denoisers.borders.MirrorEmbedded`, 4x the pixels, or
    one call for a flip-equivariant net). ``auto`` (the default): the mirror when it is free (a
    flip-equivariant prior), the zero padding otherwise."""

    AUTO = "auto"
    ZEROS = "zeros"
    PERIODIC = "periodic"
    MIRROR = "mirror"


class PriorChoice(str, enum.Enum):
    """Which of a family's shipped per-level priors deblurs an image (:mod:`pnp.tasks.prior_choice`):
    the one trained nearest the noise level (``nearest``, one solve), or the strongest whose fixed
    point fits the data within the noise, ``‖A x − y‖ ≤ σ √N`` (``discrepancy``, Morozov's
    principle, two or more solves)."""

    NEAREST = "nearest"
    DISCREPANCY = "discrepancy"


class Symmetry(str, enum.Enum):
    """Which symmetry the block's ``W`` is built to respect (:mod:`pnp.denoisers.flow`).

    ``NONE``: any 3x3 kernels. ``FLIPS``: the hidden channels come in orbits of four, one base kernel
    and its left-right, up-down and both-ways flips, and every state channel is flip-invariant, so
    the block commutes with flipping the image. ``FLIP_ORBITS``: the state channels past the image's
    come in orbits of four too (a flip of the image permutes them), so the state can carry oriented
    features between blocks. A net of either sees the mirror image past the border at the cost of
    one call (:class:`~pnp.denoisers.borders.MirrorEmbedded`).
    """

    NONE = "none"
    FLIPS = "flips"
    FLIP_ORBITS = "flip-orbits"


class Precision(str, enum.Enum):
    """Arithmetic of the denoiser's convolutions.

    ``fp32``: full float32 (TF32 off). ``tf32``: float32 tensors, TF32 tensor-core matmuls and
    convolutions (CUDA only; on the CPU it is fp32). ``bf16``: bfloat16 autocast of the
    convolutions; FFTs, the gradient step and the iterates stay float32. The fixed point moves by
    the rounding of the denoiser, which ``pnp benchmark speed`` measures (``speed_precision.md``).
    """

    FP32 = "fp32"
    TF32 = "tf32"
    BF16 = "bf16"


class Start(str, enum.Enum):
    """Where PnP starts: a Tikhonov deconvolution of ``y`` (default) or ``y`` itself."""

    TIKHONOV = "tikhonov"
    OBSERVED = "observed"


class ImageSet(str, enum.Enum):
    """Which test images of the deblurring protocol: CBSD10 (the CPU default) or all of CBSD68."""

    CBSD10 = "cbsd10"
    CBSD68 = "cbsd68"


class Method(str, enum.Enum):
    """The methods of the deblurring table."""

    EULER = "euler"
    EULER_DISCREPANCY = "euler-discrepancy"
    DNCNN = "dncnn"
    TV = "tv"
    BM3D = "bm3d"

    @property
    def label(self) -> str:
        return {Method.EULER: "PnP-Euler (pnp deblur default)",
                Method.EULER_DISCREPANCY: "PnP-Euler, prior by discrepancy (--prior-choice discrepancy)",
                Method.DNCNN: "PnP-DnCNN (same pipeline, capped)",
                Method.TV: "TV (ADMM, weight tuned on train)", Method.BM3D: "BM3D deblurring (BM3D-DEB)"}[self]
