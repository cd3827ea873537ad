"""The tables of the standard deblurring benchmark, rendered from the per-method run logs.

- summary: mean PSNR/SSIM, iterations, converged share and seconds per (σ, method), with the
  blurred input as a baseline row and the number of runs done out of the protocol's; while a run
  is partial, ``psnr_common`` compares the methods on the (image, kernel) pairs all of them have done;
- per kernel: mean PSNR per (σ, method) and kernel, in the protocol's kernel order;
- per image: mean PSNR over the kernels per (σ, image) and method, with each method's gap to
  BM3D deblurring where that ran;
- every run, in one CSV/JSON.
"""

from __future__ import annotations

from statistics import mean

from .tables import Table

__all__ = ["StandardTables", "standard_tables"]

INPUT = "blurred input"


class StandardTables:
    """The four tables of one benchmark run (``summary``, ``kernels``, ``images``, ``runs``)."""

    def __init__(self, summary: Table, kernels: Table, images: Table, runs: Table) -> None:
        self.summary, self.kernels, self.images, self.runs = summary, kernels, images, runs


def _group(rows: list[dict], *keys: str) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    return groups


def standard_tables(logs: dict[str, list[dict]], *, where: str, kernels: list[str], sigmas: list[float],
                    expected_runs: int) -> StandardTables:
    """``logs`` maps a method label to its finished runs (rows of :func:`pnp.evaluation.standard.score`);
    ``expected_runs`` counts every (image, kernel, level), so each level's rows count against its share."""
    sigmas = [round(s, 6) for s in sigmas]
    per_level = expected_runs // max(len(sigmas), 1)
    summary = Table(f"Deblurring, standard protocol: {where}",
                    ["sigma", "method", "psnr", "ssim", "iterations", "converged", "seconds", "runs", "psnr_common",
                     "common_runs"])
    by_kernel = Table(f"Deblurring, standard protocol, PSNR (dB) per kernel: {where}",
                      ["sigma", "method", *kernels, "mean", "runs"])
    runs = Table(f"Deblurring, standard protocol, every run: {where}",
                 ["method", "image", "kernel", "sigma", "psnr", "ssim", "iterations", "converged", "seconds",
                  "weights", "input_psnr", "input_ssim"])
    inputs: dict[tuple, dict] = {}
    for label, rows in logs.items():
        for row in rows:
            runs.add(method=label, **row)
            inputs[(row["image"], row["kernel"], row["sigma"])] = row
    for sigma in sigmas:
        baseline = [r for key, r in inputs.items() if key[2] == sigma]
        keys = [{(r["image"], r["kernel"]) for r in rows if r["sigma"] == sigma} for rows in logs.values()]
        common = set.intersection(*keys) if keys else set()
        if baseline:
            summary.add(sigma=sigma, method=INPUT, psnr=mean(r["input_psnr"] for r in baseline),
                        ssim=mean(r["input_ssim"] for r in baseline), runs=f"{len(baseline)}/{per_level}",
                        psnr_common=_mean_or_none([inputs[(*k, sigma)]["input_psnr"] for k in common]),
                        common_runs=len(common))
        for label, rows in logs.items():
            chosen = [r for r in rows if r["sigma"] == sigma]
            if not chosen:
                continue
            summary.add(sigma=sigma, method=label, psnr=mean(r["psnr"] for r in chosen),
                        ssim=mean(r["ssim"] for r in chosen), iterations=mean(r["iterations"] for r in chosen),
                        converged=mean(float(r["converged"]) for r in chosen),
                        seconds=mean(r["seconds"] for r in chosen), runs=f"{len(chosen)}/{per_level}",
                        psnr_common=_mean_or_none([r["psnr"] for r in chosen if (r["image"], r["kernel"]) in common]),
                        common_runs=len(common))
            per_kernel = {k: mean(r["psnr"] for r in group) for (k,), group in _group(chosen, "kernel").items()}
            by_kernel.add(sigma=sigma, method=label, **per_kernel, mean=mean(r["psnr"] for r in chosen),
                          runs=f"{len(chosen)}/{per_level}")
    return StandardTables(summary, by_kernel, _image_table(logs, where, sigmas), runs)


def _mean_or_none(values: list[float]) -> float | None:
    return mean(values) if values else None


def _image_table(logs: dict[str, list[dict]], where: str, sigmas: list[float]) -> Table:
    """Mean PSNR over the kernels per image and method; ``vs BM3D``: each method minus BM3D deblurring."""
    labels = list(logs)
    reference = next((label for label in labels if label.startswith("BM3D")), None)
    columns = ["sigma", "image", *labels] + ([f"{label} - BM3D" for label in labels if label != reference]
                                             if reference else [])
    table = Table(f"Deblurring, standard protocol, PSNR (dB) per image, mean over the kernels done: {where}", columns)
    for sigma in sigmas:
        images = list(dict.fromkeys(r["image"] for rows in logs.values() for r in rows if r["sigma"] == sigma))
        for image in images:
            scores = {label: {r["kernel"]: r["psnr"] for r in rows if r["sigma"] == sigma and r["image"] == image}
                      for label, rows in logs.items()}
            means = {label: mean(by_kernel.values()) for label, by_kernel in scores.items() if by_kernel}
            gaps = {}
            for label, by_kernel in scores.items():
                if reference is None or label == reference:
                    continue
                common = set(by_kernel) & set(scores.get(reference, {}))
                if common:  # over the kernels both methods have done
                    gaps[f"{label} - BM3D"] = mean(by_kernel[k] - scores[reference][k] for k in common)
            table.add(sigma=sigma, image=image, **means, **gaps)
    return table
