"""The benchmark suite behind ``pnp benchmark``: which data, which methods, which settings.

Full runs use BSDS500 (``val`` to score, ``train`` to tune); ``quick`` runs use a few small crops
(of BSDS500 when given, else of scikit-image's built-in photographs) and few iterations, to check
the pipeline end to end in CI. Every output states how it was made (:class:`Provenance`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..denoisers import TV, certify, load
from ..denoisers.adapters import Relaxed
from ..io import save_image
from ..operators import Blur
from ..solvers import Anderson, Stopping, fista_prox, pnp_pgd
from . import convergence, deblurring, denoising, speed
from .images import load_crop
from .tables import Provenance, Table

__all__ = ["Settings", "run_certificates", "run_convergence", "run_deblurring", "run_denoising", "run_speed",
           "run_stability"]

EULER, DNCNN = "euler-sigma0.15", "dncnn-sigma0.15"


@dataclass(frozen=True)
class Settings:
    """What to run on: data, size of the run, device, where to write."""

    out: Path
    data: Path | None = None
    quick: bool = False
    images: int | None = None
    device: torch.device = torch.device("cpu")
    command: str = "pnp benchmark"
    euler: str = EULER
    dncnn: str = DNCNN

    @property
    def provenance(self) -> Provenance:
        return Provenance.here(self.device, self.command)

    def val_files(self, default: int) -> list[Path]:
        return _files(self, "val", self.images or default)

    def train_files(self, count: int) -> list[Path]:
        return _files(self, "train", count)


def _files(settings: Settings, split: str, count: int) -> list[Path]:
    if settings.data is None:
        if not settings.quick:
            raise ValueError("full benchmarks need BSDS500: pass --data PATH (or use --quick)")
        return _builtin_files(settings.out / ".images", split, count)
    from ..training import find_bsds500

    splits = find_bsds500(settings.data)
    if split == "train":
        return list(splits.train[:count])
    # a subset of val is taken from the end: training selects checkpoints on the first val images
    return list(splits.val[-count:]) if count < len(splits.val) else list(splits.val)


def _builtin_files(folder: Path, split: str, count: int) -> list[Path]:
    """scikit-image's photographs as files (quick runs without BSDS500): val = first ones, train = last."""
    from ..demo import BUILTIN_IMAGES, builtin_image

    names = [n for n in BUILTIN_IMAGES if n != "camera"]
    chosen = names[:count] if split == "val" else names[::-1][:count]
    paths = []
    for name in chosen:
        path = folder / f"{name}.png"
        if not path.is_file():
            save_image(builtin_image(name), path)
        paths.append(path)
    return paths


def _model(name: str, settings: Settings):
    return load(name).to(settings.device).eval()


# -- 1. denoising ------------------------------------------------------------------------
def run_denoising(settings: Settings) -> Table:
    sigmas = [0.15] if settings.quick else [0.05, 0.10, 0.15]
    files = settings.val_files(2 if settings.quick else 100)
    methods = {"TV (tuned weight)": TV(max_iter=200 if settings.quick else 1000).to(settings.device),
               "DnCNN (sigma 0.15 weights)": _model(settings.dncnn, settings), "Euler (sigma 0.15 weights)": _model(settings.euler, settings)}
    table = denoising.denoising_table(files, sigmas, methods,
                                      crop=64 if settings.quick else None, device=settings.device)
    table.notes.append("DnCNN and Euler are the shipped sigma = 0.15 weights at every noise level (no per-level "
                       "training on this machine); TV uses its weight tuned per sigma on BSDS500 train crops.")
    table.write(settings.out, "denoising", settings.provenance)
    return table


# -- 2. deblurring -----------------------------------------------------------------------
def _pnp(denoiser, iterations: int, tol: float) -> deblurring.DeblurMethod:
    def method(physics: Blur, y, sigma, reference):
        return pnp_pgd(physics, y, denoiser, sigma=sigma, x0=y, stopping=Stopping(iterations, tol),
                       acceleration=Anderson())
    return method


def _tv_prox(weight: float):
    """``prox_{tau weight TV}`` by 100 Chambolle-Pock iterations (deepinv's TV denoiser)."""
    tv = TV(weight=1.0, max_iter=100)

    def prox(v, tau):
        tv.weight = tau * weight
        return tv(v, None)
    return prox


def _tv_fista(weight: float, iterations: int, tol: float) -> deblurring.DeblurMethod:
    def method(physics: Blur, y, sigma, reference):
        return fista_prox(physics, y, prox=_tv_prox(weight), x0=y, stopping=Stopping(iterations, tol))
    return method


def run_deblurring(settings: Settings) -> Table:
    quick = settings.quick
    iterations, tol = (5, 1e-4) if quick else (300, 1e-4)
    kernels_used = [1, 5] if quick else list(range(1, 9))
    crop = 48 if quick else 96
    sigmas = [0.01] if quick else [0.01, 0.03]
    files = settings.val_files(1 if quick else 3)
    euler, dncnn = _model(settings.euler, settings), _model(settings.dncnn, settings)
    train = deblurring.observations(settings.train_files(1 if quick else 2), [2, 7], sigmas[:1], crop=crop)
    tv_weight, tv_grid = deblurring.tune(train, lambda w: _tv_fista(w, iterations, tol),
                                         [0.003, 0.01] if quick else [0.001, 0.002, 0.005, 0.01, 0.02], settings.device)
    theta, theta_grid = deblurring.tune(train, lambda t: _pnp(Relaxed(euler, t), iterations, tol),
                                        [0.5, 1.0] if quick else [0.25, 0.5, 0.75, 1.0], settings.device)
    methods = {
        f"TV, FISTA (weight {tv_weight:g}, tuned)": _tv_fista(tv_weight, iterations, tol),
        "PnP-DnCNN (sigma 0.15 weights)": _pnp(dncnn, iterations, tol),
        "PnP-Euler (sigma 0.15 weights)": _pnp(euler, iterations, tol),
        f"PnP-Euler, strength {theta:g} (tuned)": _pnp(Relaxed(euler, theta), iterations, tol),
    }
    problems = deblurring.observations(files, kernels_used, sigmas, crop=crop)
    table = deblurring.deblurring_table(
        problems, methods, device=settings.device,
        title=f"Deblurring, {len(files)} BSDS500 val images (central {crop}x{crop} crops) x Levin kernels "
              f"{kernels_used}, circular blur",
    )
    table.notes += [
        f"Solvers: PnP-PGD with safeguarded Anderson acceleration, step 1/||A||^2, at most {iterations} iterations, "
        f"relative-residual tolerance {tol:g}; TV: FISTA with a TV prox (100 Chambolle-Pock iterations).",
        f"Tuned on {len(train)} BSDS500 train problems (kernels 2 and 7, sigma {sigmas[0]}): TV weight grid "
        f"{ {k: round(v, 2) for k, v in tv_grid.items()} } dB; Euler strength grid { {k: round(v, 2) for k, v in theta_grid.items()} } dB.",
    ]
    table.write(settings.out, "deblurring", settings.provenance)
    return table


# -- 3./4. convergence and stability -------------------------------------------------------
def _problem(settings: Settings, crop: int):
    files = settings.val_files(1)
    problem = deblurring.observations(files[:1], [3], [0.01], crop=crop)[0]
    return problem.physics.to(settings.device), problem.y.to(settings.device), problem.sharp.to(settings.device)


def run_convergence(settings: Settings) -> Table:
    iterations = 10 if settings.quick else 1000
    physics, y, sharp = _problem(settings, 48 if settings.quick else 64)

    def plain(denoiser):
        return lambda n, tol, keep: pnp_pgd(physics, y, denoiser, sigma=0.01, x0=y, stopping=Stopping(n, tol),
                                            reference=sharp, keep_iterates=keep)

    def fast(denoiser):
        return lambda n, tol, keep: pnp_pgd(physics, y, denoiser, sigma=0.01, x0=y, stopping=Stopping(n, tol),
                                            acceleration=Anderson())

    euler, dncnn = _model(settings.euler, settings), _model(settings.dncnn, settings)
    runs = {"PnP-Euler": (plain(euler), fast(euler)),
            "PnP-DnCNN": (plain(dncnn), fast(dncnn)),
            "TV (FISTA)": (lambda n, tol, keep: fista_prox(physics, y, prox=_tv_prox(0.005), x0=y, stopping=Stopping(n, tol),
                                                           reference=sharp, keep_iterates=keep),
                           lambda n, tol, keep: fista_prox(physics, y, prox=_tv_prox(0.005), x0=y,
                                                           stopping=Stopping(n, tol)))}
    table = convergence.convergence_figure(runs, iterations, settings.out / "convergence.png", settings.provenance,
                                           long_iterations=40 if settings.quick else 5000)
    table.notes.append(f"One BSDS500 val image (crop), Levin kernel 3, sigma 0.01, {iterations} iterations or "
                       "relative residual 1e-9; x̂ from a run of up to 5000 iterations to 1e-10 (Anderson-accelerated for PnP).")
    table.write(settings.out, "convergence", settings.provenance)
    return table


def run_stability(settings: Settings) -> Table:
    counts = [1, 2, 5] if settings.quick else [1, 10, 50, 200]
    files = settings.val_files(1)
    sharp = load_crop(files[0], 64 if settings.quick else 96)
    noisy = denoising.noisy_copy(sharp, 0.15, 0).to(settings.device)
    orbits = {name: convergence.repeated_application(_model(model, settings), noisy, sharp, counts)
              for name, model in (("DnCNN", settings.dncnn), ("Euler", settings.euler))}
    table = convergence.stability_figure(orbits, settings.out / "stability.png", settings.provenance)
    table.notes.append("PSNR (dB) of D^k(y) against the clean image; y = clean + N(0, 0.15^2), one val crop.")
    table.write(settings.out, "stability", settings.provenance)
    return table


# -- 5. certificates -----------------------------------------------------------------------
def run_certificates(settings: Settings) -> Table:
    from ..denoisers import available

    table = Table("Certificates of the shipped Euler models",
                  ["model", "certified", "composite_alpha", "worst_block_norm_bound", "max_substeps",
                   "lipschitz_ratio_max", "jacobian_norm", "passed"])
    names = [n for n in available() if n.startswith("euler")] if settings.euler == EULER else [settings.euler]
    for name in names:
        certificate = certify(load(name), jacobian_iterations=5 if settings.quick else 20,
                              repeats=(2,) if settings.quick else (10, 50, 200))
        e = certificate.empirical
        table.add(model=name, certified=certificate.certified, composite_alpha=certificate.alpha,
                  worst_block_norm_bound=max(b.norm_upper for b in certificate.blocks),
                  max_substeps=max(b.substeps for b in certificate.blocks),
                  lipschitz_ratio_max=e.lipschitz_max if e else None,
                  jacobian_norm=getattr(e, "jacobian_norm", None) if e else None, passed=certificate.passed)
    table.write(settings.out, "certificates", settings.provenance)
    return table


# -- 6. speed ---------------------------------------------------------------------------
def run_speed(settings: Settings) -> Table:
    files = settings.val_files(1)
    problem = deblurring.observations(files[:1], [3], [0.01], crop=48 if settings.quick else None)[0]
    table = speed.speed_table(problem.physics.to(settings.device), problem.y.to(settings.device),
                              _model(settings.euler, settings), 0.01, iterations=3 if settings.quick else 5, tol=1e-4)
    table.notes.append(f"Euler sigma 0.15 weights, Levin kernel 3, sigma 0.01, image {tuple(problem.y.shape)}.")
    table.write(settings.out, "speed", settings.provenance)
    return table
