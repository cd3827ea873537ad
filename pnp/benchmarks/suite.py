"""The benchmark suite behind ``pnp benchmark``: which data, which methods, which settings.

Full runs use BSDS500 (``val`` to score, ``train`` to tune); ``quick`` runs use a few small crops
(of BSDS500 when given, else of scikit-image's built-in photographs) and few iterations, to check
the pipeline end to end in CI. Every output states how it was made (:class:`Provenance`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from ..denoisers import TV, certify, load, resolve
from ..denoisers.adapters import Relaxed
from ..io import save_image
from ..solvers import Anderson, Stopping, fista_prox, pnp_pgd
from ..tasks.deblur import Start, prior_noise_level, starting_point
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
    prior_euler: str | None = None
    prior_dncnn: str | None = None
    progress: Callable[[str], None] | None = None
    sigmas: tuple[float, ...] | None = None

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


def _prior(family: str, settings: Settings, sigma: float):
    """The deblurring prior of ``family`` for noise level ``sigma``: ``settings.prior_euler`` /
    ``prior_dncnn`` when given, else the shipped weights ``pnp deblur`` would take."""
    name = getattr(settings, f"prior_{family}")
    if name is not None:
        return _model(name, settings)
    return load(family, sigma=prior_noise_level(sigma), nearest=True).to(settings.device).eval()


# -- 1. denoising ------------------------------------------------------------------------
def _denoising_methods(settings: Settings, sigma: float, tv: TV, models: dict) -> list[denoising.Method]:
    """TV, and for DnCNN and Euler both the sigma-0.15 weights (one pair of nets at every level) and,
    where it differs, the shipped weights ``pnp denoise --sigma`` takes (trained nearest ``sigma``).
    ``models`` caches the loaded nets by name, so each checkpoint is read and verified once."""
    methods = [denoising.Method("TV (tuned weight)", "tv_weights.json", tv)]
    for label, family, fixed in (("DnCNN", "dncnn", settings.dncnn), ("Euler", "euler", settings.euler)):
        names = [fixed]
        if fixed in (EULER, DNCNN) and not settings.quick:  # the shipped defaults: add the nearest weights
            nearest = resolve(family, sigma, nearest=True).stem
            names += [nearest] if nearest != fixed else []
        for name in names:
            if name not in models:
                models[name] = _model(name, settings)
            methods.append(denoising.Method(label, _name(models[name]), models[name]))
    return methods


def run_denoising(settings: Settings) -> Table:
    sigmas = list(settings.sigmas or ([0.15] if settings.quick else [0.05, 0.10, 0.15]))
    if not all(0 < s < 1 for s in sigmas):
        raise ValueError(f"--sigma must lie in (0, 1), got {sigmas}")
    files = settings.val_files(2 if settings.quick else 100)
    tv, models = TV(max_iter=200 if settings.quick else 1000).to(settings.device), {}
    methods = {sigma: _denoising_methods(settings, sigma, tv, models) for sigma in sigmas}
    tables = denoising.denoising_tables(files, methods, crop=64 if settings.quick else None, device=settings.device,
                                        progress=settings.progress)
    note = ("Every method sees the same noisy image (seeded per image and level). DnCNN and Euler run the shipped "
            "sigma = 0.15 weights at every level, and also the shipped weights trained nearest the level (what "
            "`pnp denoise --sigma` takes) where those differ; TV uses its weight tuned per sigma on BSDS500 train "
            "crops (`benchmarks/tune_tv.py`). Seconds: one denoiser call on the full image, "
            f"{torch.get_num_threads()} torch thread(s).")
    for table in (tables.summary, tables.cbsd68):
        table.notes.append(note)
    tables.cbsd68.notes.append("CBSD68: the val images whose file names appear in a public copy of CBSD68 "
                               "(pnp.benchmarks.denoising.CBSD68_IDS); 67 of its 68 images could be identified.")
    tables.summary.write(settings.out, "denoising", settings.provenance)
    tables.cbsd68.write(settings.out, "denoising_cbsd68", settings.provenance)
    tables.per_image.write(settings.out, "denoising_per_image", settings.provenance, markdown=False)
    return tables.summary


# -- 2. deblurring -----------------------------------------------------------------------
TV_WEIGHTS = [0.0005, 0.001, 0.002, 0.005]
STRENGTHS = [0.25, 0.5, 0.75, 1.0]


def run_deblurring(settings: Settings) -> Table:
    quick = settings.quick
    iterations, tol = (5, 1e-4) if quick else (300, 1e-4)
    kernels_used = [1, 5] if quick else list(range(1, 9))
    crop = 48 if quick else 96
    sigmas = [0.01] if quick else [0.01, 0.03]
    files = settings.val_files(1 if quick else 3)
    train_files = settings.train_files(1 if quick else 2)
    methods: dict[str, dict[float, deblurring.DeblurMethod]] = {
        "TV, FISTA (weight tuned per sigma)": {}, "PnP-DnCNN (default prior)": {},
        "PnP-Euler (default prior)": {}, "PnP-Euler, strength tuned per sigma": {}}
    notes = []
    for sigma in sigmas:  # the priors pnp deblur takes at this sigma; every tuning on train images
        euler, dncnn = _prior("euler", settings, sigma), _prior("dncnn", settings, sigma)
        train = deblurring.observations(train_files, [2, 7], [sigma], crop=crop)
        weight, weights = deblurring.tune(train, lambda w: deblurring.tv_fista_method(w, iterations, tol),
                                          TV_WEIGHTS[1:3] if quick else TV_WEIGHTS, settings.device,
                                          extend=None if quick else 2.0)
        theta, thetas = deblurring.tune(train, lambda t: deblurring.pnp_method(Relaxed(euler, t), iterations, tol),
                                        [0.5, 1.0] if quick else STRENGTHS, settings.device)
        for name, method in zip(methods, (deblurring.tv_fista_method(weight, iterations, tol),
                                          deblurring.pnp_method(dncnn, iterations, tol),
                                          deblurring.pnp_method(euler, iterations, tol),
                                          deblurring.pnp_method(Relaxed(euler, theta), iterations, tol))):
            methods[name][sigma] = method
        notes.append(f"sigma {sigma}: priors {_name(euler)} and {_name(dncnn)}; TV weight {weight:g}, Euler strength "
                     f"{theta:g}, chosen on {len(train)} BSDS500 train problems (kernels 2 and 7); PSNR by TV weight "
                     f"{_rounded(weights)}, by strength {_rounded(thetas)} dB.")
    problems = deblurring.observations(files, kernels_used, sigmas, crop=crop)
    table = deblurring.deblurring_table(
        problems, {name: deblurring.per_noise_level(chosen) for name, chosen in methods.items()},
        device=settings.device,
        title=f"Deblurring, {len(files)} BSDS500 val images (central {crop}x{crop} crops) x Levin kernels "
              f"{kernels_used}, circular blur",
    )
    table.notes += [
        "Default prior: the shipped weights trained nearest the data's noise level, as pnp deblur "
        "(pnp.tasks.deblur.prior_noise_level).",
        f"Solvers: PnP-PGD with safeguarded Anderson acceleration, step 1/||A||^2, started at the Tikhonov estimate "
        f"(as pnp deblur), at most {iterations} iterations, relative-residual tolerance {tol:g}; TV: FISTA from y "
        "with a TV prox (100 Chambolle-Pock iterations).",
        *notes,
    ]
    table.write(settings.out, "deblurring", settings.provenance)
    return table


def _rounded(grid: dict[float, float]) -> dict[float, float]:
    return {k: round(v, 2) for k, v in grid.items()}


def _name(model) -> str:
    path = getattr(model, "metadata", {}).get("path")
    return Path(path).stem if path else type(model).__name__


# -- 3./4. convergence and stability -------------------------------------------------------
def _problem(settings: Settings, crop: int):
    files = settings.val_files(1)
    problem = deblurring.observations(files[:1], [3], [0.01], crop=crop)[0]
    return problem.physics.to(settings.device), problem.y.to(settings.device), problem.sharp.to(settings.device)


def run_convergence(settings: Settings) -> Table:
    iterations = 10 if settings.quick else 1000
    physics, y, sharp = _problem(settings, 48 if settings.quick else 64)
    euler, dncnn = _prior("euler", settings, 0.01), _prior("dncnn", settings, 0.01)

    def plain(denoiser):
        return lambda n, tol, keep: pnp_pgd(physics, y, denoiser, sigma=0.01, x0=y, stopping=Stopping(n, tol),
                                            reference=sharp, keep_iterates=keep)

    def fast(denoiser):
        return lambda n, tol, keep: pnp_pgd(physics, y, denoiser, sigma=0.01, x0=y, stopping=Stopping(n, tol),
                                            acceleration=Anderson())

    tv = deblurring.tv_prox(0.005)
    runs = {f"PnP-Euler ({_name(euler)})": (plain(euler), fast(euler)),
            f"PnP-DnCNN ({_name(dncnn)})": (plain(dncnn), fast(dncnn)),
            "TV (FISTA)": (lambda n, tol, keep: fista_prox(physics, y, prox=tv, x0=y, stopping=Stopping(n, tol),
                                                           reference=sharp, keep_iterates=keep),
                           lambda n, tol, keep: fista_prox(physics, y, prox=tv, x0=y, stopping=Stopping(n, tol)))}
    long_iterations = 40 if settings.quick else 5000
    table = convergence.convergence_figure(runs, iterations, settings.out / "convergence.png", settings.provenance,
                                           long_iterations=long_iterations)
    table.notes.append(f"One BSDS500 val image (crop), Levin kernel 3, sigma 0.01, {iterations} iterations or "
                       f"relative residual 1e-9; x̂ from a run of up to {long_iterations} iterations to 1e-10 "
                       "(Anderson-accelerated for PnP).")
    table.write(settings.out, "convergence", settings.provenance)
    _write_calls_to_tolerance(settings, physics, y, sharp, euler, iterations)
    return table


def _write_calls_to_tolerance(settings: Settings, physics, y, sharp, euler, iterations: int) -> Table:
    """Issue #8's comparison: plain vs Anderson, started at y vs at the Tikhonov estimate."""
    tikhonov = starting_point(physics, y, 0.01, Start.TIKHONOV)

    def variant(start, accelerate):
        return lambda tol: pnp_pgd(physics, y, euler, sigma=0.01, x0=start, stopping=Stopping(iterations, tol),
                                   acceleration=Anderson() if accelerate else None)

    fixed_point = variant(tikhonov, True)(1e-10).x
    table = convergence.calls_to_tolerance(
        {"plain, from y": variant(y, False), "plain, from Tikhonov": variant(tikhonov, False),
         "Anderson, from y": variant(y, True), "Anderson, from Tikhonov (pnp deblur default)": variant(tikhonov, True)},
        [1e-4, 1e-6], fixed_point, sharp)
    table.notes.append(f"PnP-Euler ({_name(euler)}), same problem as the convergence figure; calls = evaluations of "
                       f"the PnP map (one denoiser call each), at most {iterations}; x̂ from Anderson to 1e-10. The "
                       "Tikhonov start costs 50 conjugate-gradient steps (one A and one A^T each), no denoiser call.")
    table.write(settings.out, "convergence_calls", settings.provenance)
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
    euler = _prior("euler", settings, 0.01)
    physics, y = problem.physics.to(settings.device), problem.y.to(settings.device)
    table = speed.speed_table(physics, y, euler, 0.01, iterations=3 if settings.quick else 5, tol=1e-4,
                              repeats=2 if settings.quick else 5)
    table.notes.append(f"{_name(euler)} (the default deblurring prior), Levin kernel 3, circular blur, sigma 0.01, "
                       f"image {tuple(problem.y.shape)}, torch threads {torch.get_num_threads()}.")
    table.write(settings.out, "speed", settings.provenance)
    if settings.device.type == "cuda" or settings.quick:  # the precision table: GPU runs (and CI, on the CPU)
        precision = speed.precision_rows(physics, y, problem.sharp.to(settings.device), euler, 0.01,
                                         iterations=3 if settings.quick else 100, batch=2 if settings.quick else 16)
        precision.notes.append(f"{_name(euler)}, Levin kernel 3, circular blur, sigma 0.01.")
        precision.write(settings.out, "speed_precision", settings.provenance)
    return table
