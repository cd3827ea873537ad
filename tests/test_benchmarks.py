"""`pnp benchmark all --quick`: every table and figure is written, with its provenance."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from pnp.evaluation import Provenance, Table
from pnp.cli import app
from pnp.denoisers import DnCNN, EulerDenoiser, save_checkpoint


def test_table_writes_markdown_csv_json_with_provenance(tmp_path):
    table = Table("demo", ["method", "psnr"])
    table.add(method="a", psnr=27.123)
    table.add(method="b", psnr=7.4e-8)
    provenance = Provenance(command="pnp benchmark demo", machine="test machine", date="2026-11-23", version="0")
    table.write(tmp_path, "demo", provenance)
    markdown = (tmp_path / "demo.md").read_text()
    assert "pnp benchmark demo" in markdown and "test machine" in markdown and "| a | 27.12 |" in markdown
    assert "| b | 7.40e-08 |" in markdown, "small values keep their magnitude"
    assert json.loads((tmp_path / "demo.json").read_text())["rows"][0] == {"method": "a", "psnr": 27.123}
    assert (tmp_path / "demo.csv").read_text().splitlines() == ["method,psnr", "a,27.123", "b,7.4e-08"]


def test_a_value_just_below_one_is_not_printed_as_one():
    """An averagedness constant of 0.99952 is not printed as 1 (which would void the certificate)."""
    table = Table("alphas", ["alpha"])
    for alpha in (0.9995243, 0.99941, 0.5):
        table.add(alpha=alpha)
    assert [line.split("|")[1].strip() for line in table.markdown().splitlines()[2:]] == ["0.9995", "0.999", "0.500"]


def test_benchmark_all_quick(tmp_path):
    """The whole pipeline on built-in images with small random models (the shipped ones are tested below)."""
    torch.manual_seed(0)
    save_checkpoint(EulerDenoiser(channels=6, blocks=2, sigma=0.15), tmp_path / "e.pt")
    save_checkpoint(DnCNN(depth=3, features=8, sigma=0.15), tmp_path / "d.pt")
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["benchmark", "all", "--quick", "--out", str(out), "--device", "cpu",
                                      "--euler", str(tmp_path / "e.pt"), "--dncnn", str(tmp_path / "d.pt")])
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    for table in ("denoising", "deblurring", "convergence", "stability", "certificates", "speed"):
        assert {f"{table}.md", f"{table}.csv", f"{table}.json"} <= names, table
        assert "Machine:" in (out / f"{table}.md").read_text()
    assert {"convergence.png", "stability.png"} <= names
    assert {"denoising_cbsd68.md", "denoising_per_image.csv", "speed_precision.md"} <= names
    speed = {row["variant"]: row for row in json.loads((out / "speed.json").read_text())["rows"]}
    for variant in ("stable-pnp pnp_pgd", "deepinv PGD + PnP"):
        assert speed[variant]["solver_ms_per_iteration"] > 0, "time outside the denoiser is measured"
    precision = json.loads((out / "speed_precision.json").read_text())["rows"]
    assert {row["precision"] for row in precision} == {"fp32", "bf16"} and all(r["iterations_per_second"] > 0 for r in precision)


def test_denoising_noise_levels_are_chosen_and_checked(tmp_path):
    torch.manual_seed(0)
    save_checkpoint(EulerDenoiser(channels=6, blocks=2, sigma=0.15), tmp_path / "e.pt")
    save_checkpoint(DnCNN(depth=3, features=8, sigma=0.15), tmp_path / "d.pt")
    common = ["benchmark", "denoising", "--quick", "--device", "cpu", "--euler", str(tmp_path / "e.pt"),
              "--dncnn", str(tmp_path / "d.pt")]
    result = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "a"), "--sigma", "0.05", "--sigma", "0.1"])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "a" / "denoising.json").read_text())["rows"]
    assert sorted({row["sigma"] for row in rows}) == [0.05, 0.1]
    result = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "b"), "--sigma", "1.5"])
    assert result.exit_code == 2 and "--sigma" in result.output


def test_full_benchmark_needs_data(tmp_path):
    result = CliRunner().invoke(app, ["benchmark", "denoising", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--data" in result.output


@pytest.mark.slow
def test_benchmark_all_quick_with_shipped_models(tmp_path):
    result = CliRunner().invoke(app, ["benchmark", "all", "--quick", "--out", str(tmp_path), "--device", "cpu"])
    assert result.exit_code == 0, result.output


def test_denoising_tables_keep_per_image_scores_and_the_cbsd68_subset(tmp_path):
    from pnp.evaluation.denoising import CBSD68_IDS, Method, denoising_tables
    from pnp.io import write_image

    assert len(CBSD68_IDS) == 68 and {"3096", "102061"} <= CBSD68_IDS and "8023" not in CBSD68_IDS
    generator = torch.Generator().manual_seed(0)
    files = []
    for stem in ("3096", "8023", "101085"):  # two CBSD68 images, one not
        write_image(tmp_path / f"{stem}.png", torch.rand(1, 3, 12, 10, generator=generator))
        files.append(tmp_path / f"{stem}.png")
    identity = Method("identity", "none", lambda noisy, sigma: noisy)
    halve = Method("halve", "none", lambda noisy, sigma: noisy * 0.5)
    tables = denoising_tables(files, {0.1: [identity], 0.2: [identity, halve]})
    assert len(tables.per_image.rows) == 3 * (2 + 3)  # noisy input + methods, per image and level
    summary = {(r["sigma"], r["method"]): r for r in tables.summary.rows}
    assert summary[(0.2, "halve")]["images"] == 3 and (0.1, "halve") not in summary
    # identity returns the noisy input: the same scores as the "noisy input" row
    assert summary[(0.1, "identity")]["psnr"] == pytest.approx(summary[(0.1, "noisy input")]["psnr"])
    subset = {(r["sigma"], r["method"]): r for r in tables.cbsd68.rows}
    assert subset[(0.2, "halve")]["images"] == 2
    expected = [r["psnr"] for r in tables.per_image.rows
                if r["sigma"] == 0.2 and r["method"] == "halve" and r["image"] in ("3096", "101085")]
    assert subset[(0.2, "halve")]["psnr"] == pytest.approx(sum(expected) / 2)


def test_a_method_re_scored_later_stays_with_its_noise_level_in_the_tables(tmp_path):
    """Kept rows come first and re-scored ones last in the per-image table; the means still go by level."""
    from pnp.evaluation.denoising import Method, denoising_tables
    from pnp.io import write_image

    write_image(tmp_path / "3096.png", torch.rand(1, 3, 12, 10, generator=torch.Generator().manual_seed(0)))
    files = [tmp_path / "3096.png"]
    old = Method("net", "net.pt", lambda noisy, sigma: noisy * 0.5, fingerprint="old")
    first = denoising_tables(files, {0.1: [old], 0.2: [old]})
    retrained = Method("net", "net.pt", lambda noisy, sigma: noisy * 0.9, fingerprint="new")
    tables = denoising_tables(files, {0.1: [retrained], 0.2: [retrained]}, previous=first.per_image.rows)
    assert [(r["sigma"], r["method"]) for r in tables.summary.rows] == [
        (0.1, "noisy input"), (0.1, "net"), (0.2, "noisy input"), (0.2, "net")]
    assert [r["weights_sha"] for r in tables.per_image.rows[-2:]] == ["new", "new"]  # re-scored rows: appended


def test_denoising_adds_the_weights_pnp_denoise_takes_and_loads_each_once(tmp_path):
    from pnp.evaluation import suite
    from pnp.denoisers import TV

    settings = suite.Settings(out=tmp_path, methods=(suite.Method.TV, suite.Method.DNCNN, suite.Method.EULER))
    tv, models = TV(), {}
    chosen = {sigma: suite._denoising_methods(settings, sigma, tv, models) for sigma in (0.05, 0.10, 0.15)}
    weights = {sigma: [m.weights for m in methods] for sigma, methods in chosen.items()}
    assert weights[0.05] == ["tv_weights.json", "dncnn-sigma0.15", "dncnn-sigma0.02", "euler-sigma0.15", "euler-sigma0.05"]
    assert weights[0.10] == weights[0.15] == ["tv_weights.json", "dncnn-sigma0.15", "euler-sigma0.15"]
    assert sorted(models) == ["dncnn-sigma0.02", "dncnn-sigma0.15", "euler-sigma0.05", "euler-sigma0.15"]
    assert chosen[0.05][3].run is chosen[0.15][2].run, "one loaded model serves every level"


def test_an_interrupted_denoising_run_keeps_where_its_kept_rows_came_from(tmp_path):
    """The per-image file is rewritten after every image; each rewrite names the earlier runs whose
    rows it keeps, so an interrupted run never loses that provenance."""
    import json

    from pnp.evaluation import suite

    suite.run_denoising(suite.Settings(out=tmp_path, quick=True, methods=(suite.Method.TV,), command="first run"))
    calls = []

    def interrupt(message: str) -> None:
        calls.append(message)
        if len(calls) == 2:  # the first image of the second run is done and saved
            raise KeyboardInterrupt

    second = suite.Settings(out=tmp_path, quick=True, methods=(suite.Method.TV, suite.Method.EULER),
                            command="second run", progress=interrupt)
    with pytest.raises(KeyboardInterrupt):
        suite.run_denoising(second)
    record = json.loads((tmp_path / "denoising_per_image.json").read_text())
    assert record["command"] == "second run"
    assert any(note.startswith(suite.KEPT) and "`first run`" in note for note in record["notes"]), record["notes"]
