"""The benchmark suite behind ``pnp benchmark``: which data, which methods, which settings.

Full runs use BSDS500 (``val`` to score, ``train`` to tune); ``quick`` runs use a few small crops
(of BSDS500 when given, else of scikit-image's built-in photographs) and few iterations, to check
the pipeline end to end in CI. Every output states how it was made (:class:`Provenance`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from ..denoisers import TV, certify, load, resolve
from ..denoisers.cards import card_of
from ..io import write_image
from ..solvers import Anderson, SolverOptions, Stopping, fista_prox, pnp_pgd
from ..tasks.deblur import Start, prior_noise_level, starting_point
from . import anchors, convergence, deblurring, deblurring_suite, denoising, speed
from .images import load_crop
from .protocol import ImageSet
from .standard import Method
from .tables import Provenance, Scope, Table, check_replaceable

__all__ = ["Settings", "outputs", "preflight", "run_certificates", "run_convergence", "run_deblurring", "run_denoising", "run_speed",
           "run_stability"]

EULER, DNCNN = "euler-sigma0.15", "dncnn-sigma0.15"
CBM3D = "CBM3D"


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
    image_set: ImageSet | None = None
    methods: tuple[Method, ...] | None = None
    replace: bool = False
    render_only: bool = False

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
            write_image(path, builtin_image(name))
        paths.append(path)
    return paths


def _model(name: str, settings: Settings):
    return load(name).to(settings.device).eval()


def _prior(family: str, settings: Settings, sigma: float):
    """The deblurring prior of ``family`` for noise level ``sigma``: ``settings.prior_euler`` /
    ``prior_dncnn`` when given, else the shipped weights ``pnp deblur`` would take."""
    name = {"euler": settings.prior_euler, "dncnn": settings.prior_dncnn}[family]
    if name is not None:
        return _model(name, settings)
    return load(family, sigma=prior_noise_level(sigma), nearest=True).to(settings.device).eval()


# -- 1. denoising ------------------------------------------------------------------------
def _denoising_methods(settings: Settings, sigma: float, tv: TV, models: dict) -> list[denoising.Method]:
    """TV, colour BM3D (when installed), and for DnCNN and Euler both the sigma-0.15 weights (one
    pair of nets at every level) and, where it differs, the shipped weights ``pnp denoise --sigma``
    takes (trained nearest ``sigma``); only the families of ``settings.methods`` when given.
    ``models`` caches the loaded nets by name, so each checkpoint is read and verified once."""
    chosen = set(settings.methods or (Method.TV, Method.DNCNN, Method.EULER, Method.BM3D))
    methods = [denoising.Method("TV (tuned weight)", "tv_weights.json", tv)] if Method.TV in chosen else []
    if Method.BM3D in chosen and anchors.available():
        methods.append(denoising.Method(CBM3D, "bm3d.bm3d_rgb", anchors.cbm3d_denoise))
    for label, family, fixed in (("DnCNN", Method.DNCNN, settings.dncnn), ("Euler", Method.EULER, settings.euler)):
        if family not in chosen:
            continue
        names = [fixed]
        if fixed in (EULER, DNCNN) and not settings.quick:  # the shipped defaults: add the nearest weights
            nearest = resolve(family.value, sigma, nearest=True).stem
            names += [nearest] if nearest != fixed else []
        for name in names:
            if name not in models:
                models[name] = _model(name, settings)
            methods.append(denoising.Method(label, _name(models[name]), models[name], _fingerprint(models[name])))
    return methods


def _denoising_files(settings: Settings) -> list[Path]:
    return settings.val_files(2 if settings.quick else 100)


def _denoising_sigmas(settings: Settings) -> list[float]:
    sigmas = list(settings.sigmas or ([0.15] if settings.quick else [0.05, 0.10, 0.15]))
    if not all(0 < s < 1 for s in sigmas):
        raise ValueError(f"--sigma must lie in (0, 1), got {sigmas}")
    return sigmas


def _denoising_scope(settings: Settings, previous: list[dict]) -> Scope:
    """Protocol: which val images (the noise is seeded by their index) and crop; size: the
    (image, level) pairs the tables will cover, earlier rows of the same protocol included."""
    files = _denoising_files(settings)
    where = "quick, 64x64 crops" if settings.quick else "full size"
    pairs = {(r["image"], r["sigma"]) for r in previous} | {(p.stem, s) for p in files for s in _denoising_sigmas(settings)}
    return Scope(f"denoising, BSDS500 val ({len(files)} images, {where})", len(pairs))


def _previous_denoising_record(settings: Settings) -> dict | None:
    """The per-image record of an earlier run of the same protocol in ``settings.out``, if any."""
    path = Path(settings.out) / "denoising_per_image.json"
    if settings.replace or not path.exists():
        return None
    record = json.loads(path.read_text())
    if record.get("scope", {}).get("protocol") != _denoising_scope(settings, []).protocol:
        return None
    return record


def _previous_denoising_rows(settings: Settings) -> list[dict]:
    """Per-image rows of an earlier run of the same protocol (kept, not recomputed)."""
    record = _previous_denoising_record(settings)
    return list(record["rows"]) if record else []


KEPT = "Rows kept from earlier runs of this protocol:"


def _kept_from(record: dict | None) -> list[str]:
    """Where kept rows come from: the earlier record's own command and the runs it kept in turn."""
    if record is None:
        return []
    earlier = [n[len(KEPT):].strip() for n in record.get("notes", []) if n.startswith(KEPT)]
    own = f"`{record.get('command')}` ({record.get('machine')}, {record.get('date')})"
    return list(dict.fromkeys([*(earlier[0].split("; ") if earlier else []), own]))


def run_denoising(settings: Settings) -> Table:
    files, sigmas = _denoising_files(settings), _denoising_sigmas(settings)
    record = _previous_denoising_record(settings)
    previous = list(record["rows"]) if record else []
    scope = _denoising_scope(settings, previous)
    tv = TV(max_iter=200 if settings.quick else 1000).to(settings.device)
    models: dict[str, torch.nn.Module] = {}
    methods = {sigma: _denoising_methods(settings, sigma, tv, models) for sigma in sigmas}
    if Method.BM3D in (settings.methods or (Method.BM3D,)) and not anchors.available() and settings.progress:
        settings.progress(anchors.INSTALL_HINT)

    kept = [f"{KEPT} {'; '.join(_kept_from(record))}"] if record is not None else []

    def save(per_image: Table) -> None:  # also after every image: an interrupted run keeps where its rows came from
        per_image.notes += [line for line in kept if line not in per_image.notes]
        per_image.write(settings.out, "denoising_per_image", settings.provenance, markdown=False, scope=scope,
                        replace=settings.replace)

    tables = denoising.denoising_tables(files, methods, crop=64 if settings.quick else None, device=settings.device,
                                        progress=settings.progress, previous=previous, on_image=save)
    note = ("Every method sees the same noisy image (seeded per image and level). DnCNN and Euler run the shipped "
            "sigma = 0.15 weights at every level, and also the shipped weights trained nearest the level (what "
            "`pnp denoise --sigma` takes) where those differ; TV uses its weight tuned per sigma on BSDS500 train "
            "crops (`benchmarks/tune_tv.py`); CBM3D is bm3d.bm3d_rgb (PyPI bm3d 4.0.3, non-commercial licence, "
            "optional) at the true sigma. Seconds: one denoiser call on the full image, "
            f"{torch.get_num_threads()} torch thread(s) in this command. Rows of an earlier run of the same protocol "
            "are kept (a method added later, e.g. with --methods bm3d, is computed on the same noisy draws).")
    for table in (tables.summary, tables.cbsd68):
        table.notes.append(note)
    tables.cbsd68.notes.append("CBSD68: the 68 BSDS500 val images of the colour Berkeley test set "
                               "(pnp.evaluation.protocol.CBSD68_IDS).")
    for table in (tables.summary, tables.cbsd68):
        table.notes += kept
    tables.summary.write(settings.out, "denoising", settings.provenance, scope=scope, replace=settings.replace)
    tables.cbsd68.write(settings.out, "denoising_cbsd68", settings.provenance, scope=scope, replace=settings.replace)
    save(tables.per_image)
    return tables.summary


# -- 2. deblurring (the standard protocol) -------------------------------------------------
def run_deblurring(settings: Settings) -> Table:
    return deblurring_suite.run(settings)


def _fingerprint(model) -> str:
    """First 12 hex digits of the SHA-256 of the checkpoint a model was loaded from ('' if none)."""
    path = card_of(model).path
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path is not None else ""


def _name(model) -> str:
    return card_of(model).name


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
        return lambda n, tol, keep: pnp_pgd(physics, y, denoiser, sigma=0.01, x0=y, options=SolverOptions(Stopping(n, tol), keep_iterates=keep),
                                            reference=sharp)

    def fast(denoiser):
        return lambda n, tol, keep: pnp_pgd(physics, y, denoiser, sigma=0.01, x0=y, options=SolverOptions(Stopping(n, tol)),
                                            acceleration=Anderson())

    tv = deblurring.tv_prox(0.005)
    runs = {f"PnP-Euler ({_name(euler)})": (plain(euler), fast(euler)),
            f"PnP-DnCNN ({_name(dncnn)})": (plain(dncnn), fast(dncnn)),
            "TV (FISTA)": (lambda n, tol, keep: fista_prox(physics, y, prox=tv, x0=y, options=SolverOptions(Stopping(n, tol), keep_iterates=keep),
                                                           reference=sharp),
                           lambda n, tol, keep: fista_prox(physics, y, prox=tv, x0=y, options=SolverOptions(Stopping(n, tol))))}
    long_iterations = 40 if settings.quick else 5000
    table = convergence.convergence_figure(runs, iterations, settings.out / "convergence.png", settings.provenance,
                                           long_iterations=long_iterations)
    table.notes.append(f"One BSDS500 val image (crop), Levin kernel 3, sigma 0.01, {iterations} iterations or "
                       f"relative residual 1e-9; x̂ from a run of up to {long_iterations} iterations to 1e-10 "
                       "(Anderson-accelerated for PnP).")
    _write(table, settings, "convergence")
    _write_calls_to_tolerance(settings, physics, y, sharp, euler, iterations)
    return table


def _write_calls_to_tolerance(settings: Settings, physics, y, sharp, euler, iterations: int) -> Table:
    """Denoiser calls to tolerance: plain vs Anderson, started at y vs at the Tikhonov estimate."""
    tikhonov = starting_point(physics, y, 0.01, Start.TIKHONOV)

    def variant(start, accelerate):
        return lambda tol: pnp_pgd(physics, y, euler, sigma=0.01, x0=start, options=SolverOptions(Stopping(iterations, tol)),
                                   acceleration=Anderson() if accelerate else None)

    fixed_point = variant(tikhonov, True)(1e-10).x
    table = convergence.calls_to_tolerance(
        {"plain, from y": variant(y, False), "plain, from Tikhonov": variant(tikhonov, False),
         "Anderson, from y": variant(y, True), "Anderson, from Tikhonov (pnp deblur default)": variant(tikhonov, True)},
        [1e-4, 1e-6], fixed_point, sharp)
    table.notes.append(f"PnP-Euler ({_name(euler)}), same problem as the convergence figure; calls = evaluations of "
                       f"the PnP map (one denoiser call each), at most {iterations}; x̂ from Anderson to 1e-10. The "
                       "Tikhonov start costs 50 conjugate-gradient steps (one A and one A^T each), no denoiser call.")
    _write(table, settings, "convergence_calls")
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
    _write(table, settings, "stability")
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
    _write(table, settings, "certificates")
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
    _write(table, settings, "speed")
    if settings.device.type == "cuda" or settings.quick:  # the precision table: GPU runs (and CI, on the CPU)
        precision = speed.precision_rows(physics, y, problem.sharp.to(settings.device), euler, 0.01,
                                         iterations=3 if settings.quick else 100, batch=2 if settings.quick else 16)
        precision.notes.append(f"{_name(euler)}, Levin kernel 3, circular blur, sigma 0.01.")
        _write(precision, settings, "speed_precision")
    return table


# -- scopes: what each benchmark writes, checked before any work -----------------------------
def _fixed_scope(settings: Settings, what: str) -> Scope:
    protocol = f"{what}, {'quick' if settings.quick else 'full'}"
    if what == "speed":  # timings of one device never replace another's
        protocol += " (GPU)" if settings.device.type == "cuda" else " (CPU)"
    return Scope(protocol, 1)


_FIXED = {"convergence": "convergence", "convergence_calls": "convergence", "stability": "stability",
          "certificates": "certificates", "speed": "speed", "speed_precision": "speed"}


def _write(table: Table, settings: Settings, name: str) -> None:
    table.write(settings.out, name, settings.provenance, scope=_fixed_scope(settings, _FIXED[name]),
                replace=settings.replace)


def outputs(settings: Settings, benchmark: str) -> list[tuple[str, Scope]]:
    """The tables ``benchmark`` writes into ``settings.out`` and the scope of each."""
    if benchmark == "denoising":
        scope = _denoising_scope(settings, _previous_denoising_rows(settings))
        return [(name, scope) for name in ("denoising", "denoising_cbsd68", "denoising_per_image")]
    if benchmark == "deblurring":
        scope = deblurring_suite.plan(settings).scope
        return [(name, scope) for name in deblurring_suite.OUTPUTS]
    return [(name, _fixed_scope(settings, what)) for name, what in _FIXED.items() if what == benchmark]


def preflight(settings: Settings, benchmarks: list[str]) -> None:
    """Refuse, before any work, a run that would overwrite a table of another protocol or a larger
    run (``settings.replace`` allows it), or that cannot write into ``settings.out``."""
    out = Path(settings.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder")
    for benchmark in benchmarks:
        for name, scope in outputs(settings, benchmark):
            check_replaceable(out, name, scope, replace=settings.replace)
