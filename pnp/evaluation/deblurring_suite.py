"""``pnp benchmark deblurring``: the standard protocol, every method on the same inputs, resumable.

Full runs: the images of ``settings.image_set`` (CBSD10 by default, CBSD68 on request) at full size,
the 10 kernels and 2 noise levels of :mod:`pnp.evaluation.protocol`. Quick runs (CI): two small crops
of built-in photographs (or of BSDS500 val), 2 kernels, σ = 0.01, capped iterations. Runs are kept
per method in ``<out>/deblurring/runs_<method>.json``; the same command continues an interrupted
run, and the same command started in several shells shares the runs between the processes (one
core each; :class:`~pnp.evaluation.runs.RunLog`), as ``--methods`` splits them by method.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..denoisers import family, resolve
from ..io import atomic_write_bytes
from ..tasks.deblur import prior_noise_level
from . import anchors
from .protocol import KERNEL_NAMES, NOISE_LEVELS, ImageSet, image_files, problems
from .runs import RunLog, Salvage
from .standard import Method, build_solver, score, tune_tv
from .standard_tables import standard_tables
from .tables import Scope, Table

__all__ = ["DEFAULT_METHODS", "Plan", "plan", "run"]

DEFAULT_METHODS = (Method.EULER, Method.BM3D, Method.TV, Method.DNCNN)
TABLE_ORDER = (Method.EULER, Method.EULER_DISCREPANCY, Method.BM3D, Method.TV, Method.DNCNN)
COLUMNS = ["image", "kernel", "sigma", "psnr", "ssim", "iterations", "converged", "seconds", "weights",
           "input_psnr", "input_ssim"]
KEY = ("image", "kernel", "sigma")
TV_GRID = [0.001, 0.002, 0.004, 0.008]
TUNING_KERNELS = ["levin2", "levin7", "box9", "gaussian25"]
TUNING_IMAGES, TUNING_CROP = 4, 256
DNCNN_ITERATIONS = 100
OUTPUTS = ("deblurring", "deblurring_kernels", "deblurring_images", "deblurring_per_image")


@dataclass(frozen=True)
class Plan:
    """What one run covers: images, kernels, levels, crop, methods; its :class:`Scope`."""

    files: list[Path]
    kernels: list[str]
    sigmas: list[float]
    crop: int | None
    methods: list[Method]
    label: str

    @property
    def expected_runs(self) -> int:
        return len(self.files) * len(self.kernels) * len(self.sigmas)

    @property
    def scope(self) -> Scope:
        return Scope(f"standard deblurring protocol, {self.label}", self.expected_runs)

    def base_protocol(self) -> dict:
        return {"protocol": "standard deblurring v1", "images": [p.stem for p in self.files], "kernels": self.kernels,
                "sigmas": [round(s, 6) for s in self.sigmas], "crop": self.crop,
                "noise_seed": "crc32('<image>/<kernel>/<sigma:.6f>')", "boundary": "circular"}


def plan(settings) -> Plan:
    """The images, kernels, levels and methods of this run (checked before any work)."""
    methods = [m for m in settings.methods or DEFAULT_METHODS if m is not Method.BM3D or anchors.available()]
    if settings.quick:
        files = settings.val_files(2)
        return Plan(files, ["levin1", "gaussian25"], [NOISE_LEVELS[0]], 48, methods, "quick (2 crops of 48x48)")
    if settings.data is None:
        raise ValueError("the deblurring benchmark needs BSDS500: pass --data PATH (or use --quick)")
    from ..training import find_bsds500

    image_set = settings.image_set or ImageSet.CBSD10
    files = image_files(find_bsds500(settings.data).val, image_set)
    return Plan(files, list(KERNEL_NAMES), list(NOISE_LEVELS), None, methods,
                f"{image_set.value.upper()} ({len(files)} images, full size) x 10 kernels x 2 noise levels")


def _level(sigma: float) -> str:
    """The key of a noise level in a protocol's per-level ``weights`` (and the TV tuning record)."""
    return f"{float(sigma):.6f}"


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def _method_protocol(method: Method, plan_: Plan, tv_weights: dict[float, float] | None) -> dict:
    if method in (Method.EULER, Method.DNCNN):
        files = {s: resolve(method.value, prior_noise_level(s), nearest=True) for s in plan_.sigmas}
        weights = {_level(s): f"{path.stem} sha256:{_sha(path)}" for s, path in files.items()}
        spec = {"method": method.value, "pipeline": "pnp deblur defaults, circular", "weights": weights}
        return {**spec, "max_iter": DNCNN_ITERATIONS} if method is Method.DNCNN else spec
    if method is Method.EULER_DISCREPANCY:
        weights = {name: f"sha256:{_sha(resolve(name))}" for name in family("euler")}
        return {"method": method.value, "pipeline": "pnp deblur --prior-choice discrepancy, circular", "weights": weights}
    if method is Method.TV:
        return {"method": "tv", "solver": "ADMM, tol 1e-5, max 500", "weights": {_level(s): w for s, w in (tv_weights or {}).items()}}
    return {"method": "bm3d", "steps": "RI 4e-4 + HT, RWI 5e-3 + Wiener, profile np, per channel"}


def _unchanged_levels(new: dict, method: Method) -> Salvage:
    """The ``salvage`` rule of a method whose protocol names one prior (or TV weight) per noise level:
    a log made under the same protocol except for some levels' priors keeps the runs of the levels
    whose prior is unchanged, so shipping a new prior for one level re-runs that level only. Other
    differences keep nothing (the log is refused)."""
    def rule(old: dict) -> Callable[[dict], bool] | None:
        if method not in (Method.EULER, Method.DNCNN, Method.TV):
            return None
        rest_old = {k: v for k, v in old.items() if k != "weights"}
        rest_new = {k: v for k, v in new.items() if k != "weights"}
        old_weights, new_weights = old.get("weights"), new["weights"]
        if rest_old != rest_new or not isinstance(old_weights, dict) or set(old_weights) != set(new_weights):
            return None
        same = {level for level, weights in new_weights.items() if old_weights[level] == weights}
        return lambda row: _level(row["sigma"]) in same
    return rule


def _cached_tuning(folder: Path) -> dict | None:
    path = folder / "tv_tuning.json"
    return json.loads(path.read_text()) if path.exists() else None


def _tuned_tv_weights(settings, plan_: Plan, folder: Path) -> tuple[dict[float, float], dict]:
    """TV weight per σ, tuned on BSDS500 train crops (cached in ``<folder>/tv_tuning.json``)."""
    train = settings.train_files(1 if settings.quick else TUNING_IMAGES)
    kernels = plan_.kernels[:1] if settings.quick else TUNING_KERNELS
    crop = 48 if settings.quick else TUNING_CROP
    grid = TV_GRID[1:3] if settings.quick else TV_GRID
    setup = {"images": [p.stem for p in train], "kernels": kernels, "crop": crop, "grid": grid,
             "sigmas": [round(s, 6) for s in plan_.sigmas]}
    cache = folder / "tv_tuning.json"
    if cache.exists():
        record = json.loads(cache.read_text())
        if record.get("setup") == setup:
            return {float(s): w for s, w in record["weights"].items()}, record
    weights, scores = {}, {}
    for sigma in plan_.sigmas:
        train_problems = list(problems(train, kernels, [sigma], crop=crop))
        weights[round(sigma, 6)], scores[_level(sigma)] = tune_tv(train_problems, grid, settings.device,
                                                                    max_extensions=0 if settings.quick else 4)
        if settings.progress is not None:
            settings.progress(f"TV weight for sigma {sigma:.4f}: {weights[round(sigma, 6)]:g} (train crops)")
    record = {"setup": setup, "weights": {_level(s): w for s, w in weights.items()},
              "psnr_by_weight": {s: {f"{w:g}": round(v, 3) for w, v in grid_scores.items()}
                                 for s, grid_scores in scores.items()}}
    atomic_write_bytes(cache, (json.dumps(record, indent=1) + "\n").encode())
    return weights, record


def run(settings) -> Table:
    """Run (or continue) the benchmark; write the tables from every run log present."""
    plan_ = plan(settings)
    if Method.BM3D in (settings.methods or DEFAULT_METHODS) and not anchors.available() and settings.progress:
        settings.progress(anchors.INSTALL_HINT)
    folder = Path(settings.out) / "deblurring"
    if settings.render_only:  # the tables from the logs present, nothing computed
        return _render(settings, plan_, folder, _cached_tuning(folder))
    tv_weights, tuning = (_tuned_tv_weights(settings, plan_, folder) if Method.TV in plan_.methods else (None, None))
    base = plan_.base_protocol()
    logs, solvers = {}, {}
    for method in plan_.methods:
        protocol = {**base, **_method_protocol(method, plan_, tv_weights)}
        logs[method] = RunLog.open(folder / f"runs_{method.value}.json", protocol, COLUMNS, KEY, settings.provenance,
                                   salvage=_unchanged_levels(protocol, method))
        if logs[method].dropped and settings.progress is not None:
            settings.progress(f"{method.value}: the prior of some noise levels changed since its runs were made: "
                              f"{logs[method].dropped} runs dropped to be run again, {len(logs[method].rows)} kept")
        solvers[method] = build_solver(method, plan_.sigmas, settings.device, tv_weights=tv_weights,
                                       max_iter=5 if settings.quick else None)
    done = {method: log.done() for method, log in logs.items()}
    current = None
    for problem in problems(plan_.files, plan_.kernels, plan_.sigmas, crop=plan_.crop):
        if current is not None and problem.image != current:
            _render(settings, plan_, folder, tuning)
        current = problem.image
        for method, log in logs.items():
            if problem.key in done[method]:
                continue
            with log.claim(problem.key) as mine:  # another process of the same command may hold it
                if not mine:
                    continue
                row = score(problem, solvers[method])
                log.add(row)
                if settings.progress is not None:
                    settings.progress(f"{method.value}: {problem.image} {problem.kernel} sigma {problem.sigma:.4f}: "
                                      f"{row['psnr']:.2f} dB, {row['iterations']} it., {row['seconds']:.1f} s")
    return _render(settings, plan_, folder, tuning)


def _logs_present(folder: Path, base: dict) -> tuple[dict[str, list[dict]], list[str]]:
    """Rows of every method log in ``folder`` made under the same base protocol, in table order, and
    a line per log saying which command made it, where and when."""
    found, made_by = {}, []
    for method in TABLE_ORDER:
        path = folder / f"runs_{method.value}.json"
        if path.exists():
            record = json.loads(path.read_text())
            if all(record.get("protocol", {}).get(k) == v for k, v in base.items()):
                found[method.label] = record["rows"]
                made = record.get("provenance", {})
                made_by.append(f"{method.label}: `{made.get('command')}` ({made.get('machine')}, {made.get('date')})")
    return found, made_by


def _render(settings, plan_: Plan, folder: Path, tuning: dict | None) -> Table:
    logs, made_by = _logs_present(folder, plan_.base_protocol())
    tables = standard_tables(logs, where=plan_.label, kernels=plan_.kernels, sigmas=plan_.sigmas,
                             expected_runs=plan_.expected_runs)
    notes = _notes(plan_, tuning) + ["Runs made by: " + "; ".join(made_by) + "."]
    if Method.EULER_DISCREPANCY.label in logs:
        notes.append("PnP-Euler, prior by discrepancy: `pnp deblur --boundary circular --noise-level SIGMA "
                     "--prior-choice discrepancy` (the strongest shipped Euler prior whose fixed point has "
                     "‖Ax − y‖ ≤ σ√N, the search starting at the nearest level); iterations: all its solves together.")
    for name, table in zip(OUTPUTS, (tables.summary, tables.kernels, tables.images, tables.runs)):
        table.notes += notes
        table.write(settings.out, name, settings.provenance, markdown=name != "deblurring_per_image",
                    scope=plan_.scope, replace=settings.replace)
    return tables.summary


def _notes(plan_: Plan, tuning: dict | None) -> list[str]:
    notes = [
        "Protocol (as DPIR, GS-PnP, Prox-PnP): kernels levin1-8 (Levin et al. 2009), 9x9 uniform, 25x25 Gaussian of "
        "std 1.6; circular blur; Gaussian noise sigma 2.55/255 and 7.65/255 seeded per (image, kernel, sigma); PSNR "
        "with peak 1 over the whole image (no border crop) and SSIM, of the estimate clipped to [0, 1].",
        "PnP-Euler: `pnp deblur --boundary circular --noise-level SIGMA` defaults (shipped Euler prior trained nearest "
        "sigma, Tikhonov start, Anderson acceleration, tolerance 1e-5, at most 500 iterations). PnP-DnCNN: same "
        f"pipeline with the shipped DnCNN nearest sigma, at most {DNCNN_ITERATIONS} iterations. BM3D-DEB: Dabov et "
        "al.'s two steps around bm3d.bm3d (PyPI bm3d 4.0.3, non-commercial licence), one colour channel at a time "
        "(pnp.evaluation.anchors). Seconds: one run, torch/numpy threads as the command ran.",
        "Runs: the number done out of the protocol's; a table with fewer is a partial run (continue it with the same "
        "command). Every run: deblurring_per_image.csv; per-method logs: deblurring/runs_<method>.json.",
        "Published rows (DPIR, GS-PnP, Prox-PnP on CBSD68 x 10 kernels) are not shown: their tables could not be "
        "read from this machine, and a number that cannot be traced to its table stays out. Their code evaluates "
        "256x256 central crops by default, so even then they would be labelled as another input size.",
    ]
    if tuning:
        notes.append(f"TV weight per sigma tuned on BSDS500 train crops ({tuning['setup']['crop']}x{tuning['setup']['crop']}, "
                     f"images {', '.join(tuning['setup']['images'])}, kernels {', '.join(tuning['setup']['kernels'])}): "
                     f"chosen {tuning['weights']}; mean PSNR by weight {tuning['psnr_by_weight']}.")
    return notes
