"""Forward operators: every one is a :class:`deepinv.physics.LinearPhysics`.

- :class:`Blur` -- convolution with a kernel, circular or reflect boundary, on (B, C, H, W);
- :class:`Matrix` and :func:`ill_conditioned_matrix` -- dense operators on (B, n) vectors;
- :mod:`pnp.operators.kernels` -- kernel sources (``levin``, ``motion``, ``gaussian``, ``box``, ``load``);
- :func:`check_adjoint` -- the adjointness checker used by the test-suite, for any operator.
"""

from . import kernels
from .blur import Blur, Boundary
from .checks import AdjointCheck, check_adjoint
from .kernels import KernelError
from .matrix import Matrix, ill_conditioned_matrix

__all__ = [
    "AdjointCheck",
    "Blur",
    "Boundary",
    "KernelError",
    "Matrix",
    "check_adjoint",
    "ill_conditioned_matrix",
    "kernels",
]
