"""The one-call GPU lease script, known to work before any lease: its plan, its CPU mode, the adoption."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

from benchmark_scripts import load_script

REPO = Path(__file__).resolve().parents[1]


def _script(name: str) -> ModuleType:
    """``benchmarks/gpu/<name>.py`` as a module."""
    return load_script(f"gpu/{name}.py", f"gpu_{name}")


adopt, lease = _script("adopt"), _script("lease")


def test_the_plan_is_every_shipped_learned_prior():
    from pnp.denoisers import available, load

    plan = {prior.name: prior for prior in lease.training_plan()}
    assert set(plan) == {n for n in available() if n != "tv"}
    for name, prior in plan.items():
        options = dict(zip(prior.options[::2], prior.options[1::2]))
        model = load(name)
        assert options["--model"] == prior.architecture == model.metadata["architecture"]
        assert float(options["--sigma"]) == prior.sigma == model.metadata["noise_level"]
        size = model.metadata["config"].get("channels", model.metadata["config"].get("features"))
        assert int(options["--channels"]) == size
    assert "--max-substeps" in plan["euler-sigma0.01"].options and "--max-substeps" not in plan["euler-sigma0.15"].options
    for name, prior in plan.items():  # a flip-equivariant card retrains (and warm-starts) as one
        symmetry = load(name).metadata["config"].get("flow", {}).get("symmetry", "none")
        assert (dict(zip(prior.options[::2], prior.options[1::2])).get("--symmetry", "none") == symmetry), name


def _fake_bsds500(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for split, count in (("train", 3), ("test", 1), ("val", 2)):
        folder = root / "data" / "images" / split
        folder.mkdir(parents=True)
        for i in range(count):
            coarse = (rng.random((6, 5, 3)) * 255).astype(np.uint8)
            Image.fromarray(coarse).resize((72, 64), Image.BICUBIC).save(folder / f"{100 + i}.jpg")
    return root


def _digest(folder: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.glob("*.pt")))).hexdigest()


def test_cpu_mode_end_to_end_and_adoption(tmp_path):
    data, out, runs = _fake_bsds500(tmp_path / "BSDS500"), tmp_path / "out", tmp_path / "runs" / "lease"
    env = {**os.environ, "OUT": str(out), "LEASE_WHEELS": str(tmp_path / "no-wheels"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    command = ["bash", str(REPO / "benchmarks" / "gpu" / "lease.sh"), "--mode", "cpu", "--data", str(data),
               "--runs", str(runs), "--priors", "euler-sigma0.01", "dncnn-sigma0.01"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    files = sorted(p.name for p in out.iterdir())
    assert files == ["lease.log", "runs.tar.gz", "summary.json", "tables.tar.gz", "train_logs.tar.gz"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "cpu" and set(summary["evaluation"]) == {"euler-sigma0.01", "dncnn-sigma0.01"}
    assert summary["evaluation"]["euler-sigma0.01"]["certificate"]["certified"]
    assert all(r["exit"] == 0 and "--max-minutes" in r["command"] and "--init" in r["command"]
               for r in summary["training"].values())
    with tarfile.open(out / "runs.tar.gz") as archive:
        names = set(archive.getnames())
    assert {"euler-sigma0.01/model.pt", "dncnn-sigma0.01/last.pt"} <= names
    with tarfile.open(out / "tables.tar.gz") as archive:
        assert "tables/speed.md" in archive.getnames()
    weights = REPO / "pnp" / "denoisers" / "weights"
    before = _digest(weights)
    adopted = tmp_path / "adopted"
    assert adopt.main([str(out), "--runs", str(adopted), "--ship"]) == 0
    assert _digest(weights) == before, "a CPU-mode lease (1 val image) never replaces shipped weights"
    assert (adopted / "euler-sigma0.01" / "model.pt").is_file()


def test_adoption_rules():
    def entry(new, shipped, images=100, certified=True):
        return {"mean_new": new, "mean_shipped": shipped, "val_images": images, "steps": 10,
                "certificate": {"certified": certified, "alpha": 0.99, "passed": certified}}

    summary = {"evaluation": {"a": entry(28.0, 27.2), "b": entry(27.0, 27.2), "c": entry(28.0, 27.2, images=5),
                              "d": entry(28.0, 27.2, certified=False), "e": {"error": "no model.pt"}}}
    verdicts = {row["name"]: row["ship"] for row in adopt.decisions(summary)}
    assert verdicts == {"a": True, "b": False, "c": False, "d": False, "e": False}
