"""The ill-conditioned 2-D inverse problem, end to end (``pnp toy`` on the command line).

Recover ``x in R^2`` from ``y = A x + z`` with ``A = [[1+eps, 1], [1, 1+eps]]`` (eps = 1/4,
condition number 9): naive inversion, Tikhonov with a grid-searched tau, the L-Lipschitz network
InvNet_L built from non-expansive Euler blocks, ISTA and projected gradient descent.

- :mod:`pnp.toy.data` -- seeded ground truths on an arc and noisy measurements;
- :mod:`pnp.toy.tikhonov` -- naive inverse, Tikhonov, ``L(tau)``, grid search;
- :mod:`pnp.toy.invnet` -- Euler blocks, InvNet_L, its certificate and empirical Lipschitz ratio;
- :mod:`pnp.toy.training` -- Adam on the MSE;
- :mod:`pnp.toy.classical` -- ISTA and projected gradient on the toy problem;
- :mod:`pnp.toy.experiment` -- :class:`ToyConfig` and :func:`run_toy`, returning :class:`ToyResults`;
- :mod:`pnp.toy.figures` -- the figures (matplotlib, imported on demand).
"""

from .classical import LambdaSearch, SolverRun, feasible_sets, filled_history, ista_grid_search, run_solvers
from .data import Arc, ToyData, make_data, sample_arc, seeded_generator
from .experiment import QUICK_OPTIONS, TRAIN_SIZES, ToyConfig, run_toy
from .invnet import ToyCertificate, DenseEulerBlock, InvNet, certificate, empirical_lipschitz
from .results import LipschitzCheck, Row, ToyResults, factor_label
from .tikhonov import (
    GridSearch,
    mse,
    naive_inverse,
    singular_values,
    tau_for_lipschitz,
    tikhonov,
    tikhonov_grid_search,
    tikhonov_lipschitz,
)
from .training import TrainingCurve, train_invnet

__all__ = [
    "QUICK_OPTIONS",
    "TRAIN_SIZES",
    "Arc",
    "ToyCertificate",
    "DenseEulerBlock",
    "GridSearch",
    "InvNet",
    "LambdaSearch",
    "LipschitzCheck",
    "Row",
    "SolverRun",
    "ToyConfig",
    "ToyData",
    "ToyResults",
    "TrainingCurve",
    "certificate",
    "empirical_lipschitz",
    "factor_label",
    "feasible_sets",
    "filled_history",
    "ista_grid_search",
    "make_data",
    "mse",
    "naive_inverse",
    "run_solvers",
    "run_toy",
    "sample_arc",
    "seeded_generator",
    "singular_values",
    "tau_for_lipschitz",
    "tikhonov",
    "tikhonov_grid_search",
    "tikhonov_lipschitz",
    "train_invnet",
]
