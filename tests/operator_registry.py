"""Every operator the package ships, as factories for the generic operator tests.

Adding an operator? Add one entry here: a name and a function returning the operator and the
shape of an input batch. Odd, non-square sizes catch off-by-one errors in padding and FFTs.
"""

from __future__ import annotations

from typing import Callable

import torch
from deepinv.physics import LinearPhysics

from pnp.operators import Blur, Boundary, Matrix, ill_conditioned_matrix, kernels

OperatorCase = Callable[[], tuple[LinearPhysics, tuple[int, ...]]]


def _blur(kernel_fn, boundary: Boundary, channels: int) -> OperatorCase:
    return lambda: (Blur(kernel_fn(), boundary=boundary), (2, channels, 37, 31))


OPERATORS: dict[str, OperatorCase] = {
    **{
        f"blur-{kernel_name}-{boundary.value}-c{channels}": _blur(kernel_fn, boundary, channels)
        for kernel_name, kernel_fn in {
            "levin3": lambda: kernels.levin(3),
            "motion": lambda: kernels.motion(13, seed=3),
            "gaussian": lambda: kernels.gaussian(1.5),
            "box": lambda: kernels.box(5),
        }.items()
        for boundary in Boundary
        for channels in (1, 3)
    },
    "matrix-ill-conditioned": lambda: (ill_conditioned_matrix(0.25), (4, 2)),
    "matrix-random-3x5": lambda: (
        Matrix(torch.randn(3, 5, generator=torch.Generator().manual_seed(0))),
        (4, 5),
    ),
}
