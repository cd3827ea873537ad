"""The standard deblurring protocol: its data, its methods, resumable runs, results that stay put."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy
import pytest
import torch
from typer.testing import CliRunner

from pnp.evaluation import anchors, protocol
from pnp.evaluation.runs import RunLog
from pnp.evaluation.tables import Provenance, Scope, Table, check_replaceable
from pnp.evaluation.tv_admm import _grad, tv_deconvolution
from pnp.cli import app
from pnp.io import write_image
from pnp.operators import Blur, kernels

PROVENANCE = Provenance(command="test", machine="test machine", date="2026-11-27", version="0")


def test_protocol_kernels_images_and_levels():
    assert protocol.KERNEL_NAMES == tuple(f"levin{i}" for i in range(1, 9)) + ("box9", "gaussian25")
    assert protocol.NOISE_LEVELS == pytest.approx((0.01, 0.03))
    box = protocol.protocol_kernel("box9")
    assert box.shape == (9, 9) and torch.allclose(box, torch.full((9, 9), 1 / 81))
    gauss = protocol.protocol_kernel("gaussian25")
    r = torch.arange(25, dtype=torch.float64) - 12
    assert gauss.shape == (25, 25) and float((gauss.double().sum(0) * r**2).sum()) == pytest.approx(1.6**2, rel=1e-3)
    assert len(protocol.CBSD68_IDS) == 68 and set(protocol.CBSD10_IDS) <= protocol.CBSD68_IDS
    assert protocol.image_stems(protocol.ImageSet.CBSD10)[:2] == ["3096", "12084"] and len(protocol.image_stems("cbsd68")) == 68
    with pytest.raises(ValueError, match="levin9"):
        protocol.protocol_kernel("levin9")


def test_image_files_name_what_is_missing(tmp_path):
    files = [tmp_path / f"{stem}.jpg" for stem in protocol.CBSD10_IDS[:9]]
    with pytest.raises(ValueError, match="lacks 1 CBSD10 image"):
        protocol.image_files(files, protocol.ImageSet.CBSD10)
    files.append(tmp_path / "101087.jpg")
    assert [p.stem for p in protocol.image_files(files[::-1], protocol.ImageSet.CBSD10)] == list(protocol.CBSD10_IDS)


def test_observations_depend_on_image_kernel_and_level_only(tmp_path, smooth_image):
    a, b = tmp_path / "3096.png", tmp_path / "12084.png"
    write_image(a, smooth_image)
    write_image(b, smooth_image.flip(-1))
    both = {p.key: p.observed for p in protocol.problems([a, b], ["levin1", "box9"], [0.01, 0.03])}
    alone = {p.key: p.observed for p in protocol.problems([b], ["box9"], [0.03])}
    assert len(both) == 8 and torch.equal(both[("12084", "box9", 0.03)], alone[("12084", "box9", 0.03)])
    assert not torch.equal(both[("3096", "box9", 0.03)] - both[("3096", "box9", 0.01)], torch.zeros_like(alone[("12084", "box9", 0.03)]))


def test_run_log_resumes_and_refuses_another_protocol(tmp_path):
    path = tmp_path / "runs_x.json"
    log = RunLog.open(path, {"images": ["a"]}, ["image", "psnr"], ("image",), PROVENANCE)
    log.add({"image": "a", "psnr": 30.0})
    again = RunLog.open(path, {"images": ["a"]}, ["image", "psnr"], ("image",), PROVENANCE)
    assert again.done() == {("a",)} and again.rows == [{"image": "a", "psnr": 30.0}]
    assert path.with_suffix(".csv").read_text().splitlines() == ["image,psnr", "a,30.0"]
    with pytest.raises(ValueError, match="another protocol.*images"):
        RunLog.open(path, {"images": ["a", "b"]}, ["image", "psnr"], ("image",), PROVENANCE)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read the run log"):
        RunLog.open(path, {"images": ["a"]}, ["image", "psnr"], ("image",), PROVENANCE)


def test_run_log_keeps_the_rows_a_changed_protocol_still_describes(tmp_path):
    path = tmp_path / "runs_x.json"
    old = {"images": ["a"], "weights": {"0.01": "p sha256:1", "0.03": "q sha256:2"}}
    log = RunLog.open(path, old, ["image", "sigma", "psnr"], ("image", "sigma"), PROVENANCE)
    log.add({"image": "a", "sigma": 0.01, "psnr": 30.0})
    log.add({"image": "a", "sigma": 0.03, "psnr": 27.0})
    new = {"images": ["a"], "weights": {"0.01": "p sha256:1", "0.03": "q sha256:3"}}
    with pytest.raises(ValueError, match="another protocol.*weights"):
        RunLog.open(path, new, ["image", "sigma", "psnr"], ("image", "sigma"), PROVENANCE)
    with pytest.raises(ValueError, match="another protocol"):  # the rule may keep nothing: refused as before
        RunLog.open(path, new, ["image", "sigma", "psnr"], ("image", "sigma"), PROVENANCE, salvage=lambda _: None)
    assert json.loads(path.read_text())["protocol"] == old, "a refused log is left as it was"

    def level_unchanged(previous: dict):
        same = {s for s, w in new["weights"].items() if previous["weights"][s] == w}
        return lambda row: f"{row['sigma']:g}" in same

    kept = RunLog.open(path, new, ["image", "sigma", "psnr"], ("image", "sigma"), PROVENANCE, salvage=level_unchanged)
    assert kept.rows == [{"image": "a", "sigma": 0.01, "psnr": 30.0}] and kept.dropped == 1
    record = json.loads(path.read_text())
    assert record["protocol"] == new and record["rows"] == kept.rows, "rewritten under the new protocol at once"
    again = RunLog.open(path, new, ["image", "sigma", "psnr"], ("image", "sigma"), PROVENANCE)
    assert again.done() == {("a", 0.01)} and again.dropped == 0


def test_a_study_extends_only_a_table_made_on_the_same_problems(tmp_path):
    """``earlier_rows``: the rows and maker of a committed table whose problems note matches, else none."""
    from pnp.evaluation.tables import earlier_rows

    table = Table("study", ["config", "psnr"])
    table.notes.append("Problems: images a, b.")
    table.add(config="x", psnr=30.0)
    table.write(tmp_path, "study", PROVENANCE)
    rows, made_by = earlier_rows(tmp_path / "study.json", "Problems: images a, b.")
    assert rows == [{"config": "x", "psnr": 30.0}] and made_by == "`test` (test machine, 2026-11-27)"
    assert earlier_rows(tmp_path / "study.json", "Problems: images a, c.") == ([], "")
    assert earlier_rows(tmp_path / "missing.json", "Problems: images a, b.") == ([], "")
    table.notes.append("Rows kept from earlier runs: `older` (other machine, 2026-11-26)")
    table.write(tmp_path, "study", PROVENANCE)
    _, made_by = earlier_rows(tmp_path / "study.json", "Problems: images a, b.")
    assert made_by == "`test` (test machine, 2026-11-27); `older` (other machine, 2026-11-26)", "the chain goes on"

def test_run_logs_of_parallel_processes_share_the_runs(tmp_path):
    """Two logs on one file (two processes of one command): neither drops the other's rows, a run
    held by one is skipped by the other, and a run finished by one is not computed again."""
    path = tmp_path / "runs_x.json"
    first, second = (RunLog.open(path, {"images": ["a", "b", "c"]}, ["image", "psnr"], ("image",), PROVENANCE)
                     for _ in range(2))
    with first.claim(("a",)) as mine, second.claim(("a",)) as theirs:
        assert mine and not theirs
        first.add({"image": "a", "psnr": 30.0})
    second.add({"image": "b", "psnr": 31.0})
    first.add({"image": "c", "psnr": 32.0})
    stored = json.loads(path.read_text())["rows"]
    assert sorted(row["image"] for row in stored) == ["a", "b", "c"]
    with second.claim(("c",)) as mine:  # finished by the other process meanwhile
        assert not mine
    with second.claim(("d",)) as mine:  # a released claim of a new run is free
        assert mine

def test_tv_admm_reaches_the_tv_minimiser(smooth_image, generator):
    """ADMM's point is optimal: no small perturbation lowers the objective, and FISTA's is no better."""
    from pnp.evaluation.deblurring import tv_prox
    from pnp.solvers import SolverOptions, Stopping, fista_prox

    physics = Blur(kernels.levin(2), boundary="circular")
    y = physics.A(smooth_image) + 0.02 * torch.randn(smooth_image.shape, generator=generator)
    weight = 0.01

    def objective(x):
        return float(0.5 * ((physics.A(x) - y) ** 2).sum() + weight * _grad(x).norm(dim=2).sum())

    result = tv_deconvolution(physics, y, weight, tol=1e-6, max_iter=3000)
    assert result.converged
    fista = fista_prox(physics, y, prox=tv_prox(weight, 50), x0=y, options=SolverOptions(Stopping(150, 1e-9))).x
    assert objective(result.x) <= objective(fista) + 1e-4
    for _ in range(3):
        direction = torch.randn(smooth_image.shape, generator=generator)
        assert objective(result.x) <= objective(result.x + 1e-3 * direction / direction.norm()) + 1e-6
    with pytest.raises(ValueError, match="circular"):
        tv_deconvolution(Blur(kernels.levin(2), boundary="reflect"), y, weight)


def test_transfer_function_matches_the_blur(smooth_image):
    """BM3D-DEB and the TV ADMM invert the blur in Fourier: V must be the DFT of exactly our operator."""
    physics = Blur(kernels.levin(4), boundary="circular")
    v = physics.transfer_function(*smooth_image.shape[-2:])
    blurred = torch.fft.ifft2(torch.fft.fft2(smooth_image) * v).real
    assert torch.allclose(blurred, physics.A(smooth_image), atol=1e-5)
    with pytest.raises(ValueError, match="circular"):
        Blur(kernels.levin(4), boundary="reflect").transfer_function(8, 8)


def test_bm3d_deblurring_inverts_the_blur_itself_not_its_symmetrisation(smooth_image):
    """The spectrum BM3D-DEB divides by is complex: with its real part only, an asymmetric motion blur
    is inverted as its symmetrised kernel (BM3D-DEB fell to 11-16 dB on levin7/levin8 that way)."""
    physics = Blur(kernels.levin(8), boundary="circular")
    v = anchors.blur_spectrum(physics, *smooth_image.shape[-2:])
    assert v.dtype == numpy.complex128 and numpy.abs(v.imag).max() > 1e-2
    image = smooth_image[0, 0].double().numpy()
    blurred = numpy.fft.ifft2(numpy.fft.fft2(image) * v).real
    assert numpy.allclose(blurred, physics.A(smooth_image)[0, 0].double().numpy(), atol=1e-5)


def test_bm3d_methods_improve_on_their_input(smooth_image, generator):
    pytest.importorskip("bm3d")
    from pnp.metrics import psnr

    noisy = smooth_image + 0.1 * torch.randn(smooth_image.shape, generator=generator)
    assert psnr(anchors.cbm3d_denoise(noisy, 0.1).clamp(0, 1), smooth_image) > psnr(noisy.clamp(0, 1), smooth_image) + 3
    physics = Blur(kernels.levin(8), boundary="circular")
    observed = physics.A(smooth_image) + 0.01 * torch.randn(smooth_image.shape, generator=generator)
    had_trapz = hasattr(numpy, "trapz")
    restored = anchors.bm3d_deblur(physics, observed, 0.01)
    assert restored.shape == smooth_image.shape and hasattr(numpy, "trapz") == had_trapz, "numpy left as it was"
    assert psnr(restored.clamp(0, 1), smooth_image) > psnr(observed.clamp(0, 1), smooth_image) + 1


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*")) if p.is_file()}


def test_quick_deblurring_resumes_and_keeps_methods_apart(tmp_path, monkeypatch):
    monkeypatch.setattr(anchors, "available", lambda: False)
    out = tmp_path / "r"
    common = ["benchmark", "deblurring", "--quick", "--out", str(out), "--device", "cpu"]
    result = CliRunner().invoke(app, [*common, "--methods", "tv"])
    assert result.exit_code == 0, result.output
    rows = json.loads((out / "deblurring.json").read_text())["rows"]
    assert [r["method"] for r in rows] == ["blurred input", "TV (ADMM, weight tuned on train)"]
    assert rows[1]["runs"] == "4/4" and (out / "deblurring" / "tv_tuning.json").exists()
    log = (out / "deblurring" / "runs_tv.json").read_bytes()
    result = CliRunner().invoke(app, [*common])  # all methods: TV is already done, bm3d is not installed
    assert result.exit_code == 0, result.output
    assert "bm3d is not installed" in result.output
    assert (out / "deblurring" / "runs_tv.json").read_bytes() == log, "finished runs are not recomputed"
    methods = [r["method"] for r in json.loads((out / "deblurring.json").read_text())["rows"]]
    assert methods == ["blurred input", "PnP-Euler (pnp deblur default)", "TV (ADMM, weight tuned on train)",
                       "PnP-DnCNN (same pipeline, capped)"]
    (out / "deblurring.md").unlink()
    result = CliRunner().invoke(app, [*common, "--tables-only"])
    assert result.exit_code == 0 and (out / "deblurring.md").exists(), result.output
    assert (out / "deblurring" / "runs_tv.json").read_bytes() == log, "--tables-only computes nothing"
    per_kernel = json.loads((out / "deblurring_kernels.json").read_text())["rows"][0]
    assert {"levin1", "gaussian25", "mean"} <= set(per_kernel)
    assert len(json.loads((out / "deblurring_per_image.json").read_text())["rows"]) == 3 * 4


def test_a_changed_prior_reruns_only_its_noise_level(tmp_path, monkeypatch):
    """Shipping a new prior for a level (here: the log says another file was used at the quick run's one
    level) re-runs that level's runs; another kind of change is still refused. Which rows a two-level
    protocol keeps is the rule's (``_unchanged_levels``), checked on its own."""
    from pnp.evaluation.deblurring_suite import Method, _unchanged_levels

    monkeypatch.setattr(anchors, "available", lambda: False)
    out = tmp_path / "r"
    common = ["benchmark", "deblurring", "--quick", "--out", str(out), "--device", "cpu", "--methods", "euler"]
    assert CliRunner().invoke(app, common).exit_code == 0
    path = out / "deblurring" / "runs_euler.json"
    record = json.loads(path.read_text())
    before = {(r["image"], r["kernel"], r["sigma"]): r["psnr"] for r in record["rows"]}
    record["protocol"]["weights"]["0.010000"] = "euler-sigma0.01 sha256:000000000000"
    for row in record["rows"]:
        row["seconds"] = -1.0  # marks the rows made under the old protocol
    path.write_text(json.dumps(record))
    result = CliRunner().invoke(app, common)
    assert result.exit_code == 0, result.output
    assert "4 runs dropped to be run again, 0 kept" in result.output
    after = json.loads(path.read_text())
    assert after["protocol"]["weights"]["0.010000"].startswith("euler-sigma0.01 sha256:")
    assert after["protocol"]["weights"]["0.010000"] != "euler-sigma0.01 sha256:000000000000"
    assert all(r["seconds"] >= 0 for r in after["rows"]) and len(after["rows"]) == 4
    assert {(r["image"], r["kernel"], r["sigma"]): r["psnr"] for r in after["rows"]} == before, "same prior, same runs"
    after["protocol"]["images"] = ["another"]
    path.write_text(json.dumps(after))
    result = CliRunner().invoke(app, common)
    assert result.exit_code != 0 and "another protocol" in result.output

    new = {"images": ["a"], "method": "euler", "weights": {"0.010000": "p sha256:1", "0.030000": "q sha256:3"}}
    old = {**new, "weights": {"0.010000": "p sha256:1", "0.030000": "q sha256:2"}}
    keep = _unchanged_levels(new, Method.EULER)(old)
    assert keep is not None and keep({"sigma": 0.01}) and not keep({"sigma": 0.03})
    assert _unchanged_levels(new, Method.EULER)({**old, "images": ["b"]}) is None
    assert _unchanged_levels(new, Method.EULER)({**old, "weights": {"0.010000": "p sha256:1"}}) is None
    assert _unchanged_levels(new, Method.EULER_DISCREPANCY)(old) is None, "its priors serve every level"


def test_the_discrepancy_choice_runs_as_a_method_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setattr(anchors, "available", lambda: False)
    out = tmp_path / "r"
    result = CliRunner().invoke(app, ["benchmark", "deblurring", "--quick", "--out", str(out), "--device", "cpu",
                                      "--methods", "euler-discrepancy"])
    assert result.exit_code == 0, result.output
    log = json.loads((out / "deblurring" / "runs_euler-discrepancy.json").read_text())
    assert set(log["protocol"]["weights"]) == {"euler-sigma0.01", "euler-sigma0.02", "euler-sigma0.05", "euler-sigma0.15"}
    assert len(log["rows"]) == 4 and all(r["weights"].startswith("euler-sigma") and r["converged"] for r in log["rows"])
    summary = json.loads((out / "deblurring.json").read_text())
    assert [r["method"] for r in summary["rows"]] == ["blurred input",
                                                      "PnP-Euler, prior by discrepancy (--prior-choice discrepancy)"]
    assert any("prior by discrepancy" in note for note in summary["notes"])


def test_results_stay_put(tmp_path, monkeypatch):
    """A quick run writes outside the committed results by default, and never silently replaces a
    table of another protocol or a larger run."""
    monkeypatch.setattr(anchors, "available", lambda: False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["benchmark", "deblurring", "--quick", "--device", "cpu", "--methods", "tv"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "benchmarks-quick" / "deblurring.md").exists()
    assert not (tmp_path / "benchmarks").exists()
    committed = tmp_path / "committed"
    table = Table("full", ["method", "psnr"], [{"method": "x", "psnr": 30.0}])
    table.write(committed, "deblurring", PROVENANCE, scope=Scope("standard deblurring protocol, CBSD10", 200))
    table.write(committed, "stability", PROVENANCE)  # an old table, no scope recorded
    before = _digest(committed)
    for name in ("deblurring", "stability"):
        result = CliRunner().invoke(app, ["benchmark", name, "--quick", "--device", "cpu", "--out", str(committed)])
        assert result.exit_code == 2 and "--replace" in result.output, result.output
        assert _digest(committed) == before, "nothing written, nothing computed"
    result = CliRunner().invoke(app, ["benchmark", "deblurring", "--quick", "--device", "cpu", "--out", str(committed),
                                      "--methods", "tv", "--replace"])
    assert result.exit_code == 0, result.output
    with pytest.raises(ValueError, match="larger run"):
        check_replaceable(committed, "deblurring", Scope("standard deblurring protocol, quick (2 crops of 48x48)", 3))


def test_images_option_is_checked():
    result = CliRunner().invoke(app, ["benchmark", "deblurring", "--quick", "--images", "7"])
    assert result.exit_code == 2 and "cbsd10 or cbsd68" in result.output
    result = CliRunner().invoke(app, ["benchmark", "denoising", "--quick", "--images", "cbsd68"])
    assert result.exit_code == 2 and "number of images" in result.output


def test_denoising_adds_a_method_to_a_finished_table(tmp_path):
    torch.manual_seed(0)
    common = ["benchmark", "denoising", "--quick", "--device", "cpu", "--out", str(tmp_path)]
    assert CliRunner().invoke(app, [*common, "--methods", "tv"]).exit_code == 0
    first = {(r["image"], r["method"]): r for r in json.loads((tmp_path / "denoising_per_image.json").read_text())["rows"]}
    result = CliRunner().invoke(app, [*common, "--methods", "euler"])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "denoising_per_image.json").read_text())["rows"]
    second = {(r["image"], r["method"]): r for r in rows}
    assert {m for _, m in second} == {"noisy input", "TV (tuned weight)", "Euler"}
    assert all(second[key] == row for key, row in first.items()), "earlier rows kept as they were"
    summary = {r["method"] for r in json.loads((tmp_path / "denoising.json").read_text())["rows"]}
    assert summary == {"noisy input", "TV (tuned weight)", "Euler"}


def test_each_level_counts_its_runs_against_its_own_share():
    from pnp.evaluation.standard_tables import standard_tables

    def row(kernel, sigma):
        return {"image": "3096", "kernel": kernel, "sigma": sigma, "psnr": 30.0, "ssim": 0.8, "iterations": 10,
                "converged": True, "seconds": 1.0, "weights": "w", "input_psnr": 20.0, "input_ssim": 0.5}

    logs = {"Euler": [row("levin1", 0.01), row("levin2", 0.01), row("levin1", 0.03)]}
    tables = standard_tables(logs, where="test", kernels=["levin1", "levin2"], sigmas=[0.01, 0.03], expected_runs=4)
    runs = {(r["sigma"], r["method"]): r["runs"] for r in tables.summary.rows}
    assert runs[(0.01, "Euler")] == "2/2" and runs[(0.03, "Euler")] == "1/2"
