"""The CPU training campaign's scripts chain their cycles right, also across sessions whose runs/ is gone.

Each script runs in a scratch copy of the repository layout with a stand-in ``pnp`` on PATH that records its
arguments and writes a finished run (``model.pt`` and a log whose last step is the last one), so only the
script's own logic is exercised: which cycles it trains, and which weights each one starts from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

FAKE_PNP = """#!/bin/bash
out=""; prev=""
for arg in "$@"; do [ "$prev" = "--out" ] && out="$arg"; prev="$arg"; done
echo "$*" >> "$CALLS"
mkdir -p "$out" && echo weights > "$out/model.pt" && echo '{"step": 1500, "loss": 0.0}' > "$out/log.jsonl"
"""


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """A scratch root holding the campaign scripts and a stand-in pnp, no .venv."""
    shutil.copytree(REPO / "benchmarks" / "campaign", tmp_path / "benchmarks" / "campaign",
                    ignore=shutil.ignore_patterns("checkpoints"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pnp").write_text(FAKE_PNP)
    (bin_dir / "pnp").chmod(0o755)
    return tmp_path


def _flip_orbits(root: Path, cycles: int) -> list[list[str]]:
    """Run flip_orbits.sh 0.02 with CYCLES=cycles; the argument lists pnp train was called with."""
    calls = root / "calls.txt"
    env = {**os.environ, "PATH": f"{root / 'bin'}:{os.environ['PATH']}", "CALLS": str(calls), "CYCLES": str(cycles)}
    subprocess.run(["bash", str(root / "benchmarks" / "campaign" / "flip_orbits.sh"), "0.02"], cwd=root, env=env,
                   check=True, capture_output=True, text=True)
    return [line.split() for line in calls.read_text().splitlines()] if calls.exists() else []


def _option(call: list[str], name: str) -> str | None:
    return call[call.index(name) + 1] if name in call else None


def test_flip_orbits_chains_each_cycle_from_the_one_before(layout: Path):
    calls = _flip_orbits(layout, cycles=3)
    assert [_option(c, "--out") for c in calls] == [
        "runs/campaign/orbits-s0.02", "runs/campaign/orbits-s0.02-restart", "runs/campaign/orbits-s0.02-restart2"]
    assert [_option(c, "--init") for c in calls] == [
        None, "runs/campaign/orbits-s0.02/model.pt", "runs/campaign/orbits-s0.02-restart/model.pt"]
    assert [_option(c, "--lr") for c in calls] == ["2e-3", "1e-3", "1e-3"]
    assert _flip_orbits(layout, cycles=3) == calls  # finished cycles are not trained again


def test_flip_orbits_continues_from_a_committed_checkpoint_when_runs_is_gone(layout: Path):
    saved = layout / "benchmarks" / "campaign" / "checkpoints"
    saved.mkdir()
    (saved / "orbits-s0.02-restart.pt").write_text("weights")
    calls = _flip_orbits(layout, cycles=4)
    assert [_option(c, "--out") for c in calls] == [
        "runs/campaign/orbits-s0.02-restart2", "runs/campaign/orbits-s0.02-restart3"]
    assert [_option(c, "--init") for c in calls] == [
        "benchmarks/campaign/checkpoints/orbits-s0.02-restart.pt", "runs/campaign/orbits-s0.02-restart2/model.pt"]


def _second_cycle(root: Path, name: str, **env_vars: str) -> list[list[str]]:
    """Run second_cycle.sh NAME with extra environment variables; the argument lists pnp train was called with."""
    calls = root / "calls.txt"
    env = {**os.environ, "PATH": f"{root / 'bin'}:{os.environ['PATH']}", "CALLS": str(calls), **env_vars}
    subprocess.run(["bash", str(root / "benchmarks" / "campaign" / "second_cycle.sh"), name], cwd=root, env=env,
                   check=True, capture_output=True, text=True)
    return [line.split() for line in calls.read_text().splitlines()]


def test_second_cycle_warm_starts_from_the_shipped_net_into_its_own_or_a_given_folder(layout: Path):
    (call,) = _second_cycle(layout, "euler-sigma0.15")
    assert _option(call, "--init") == "euler-sigma0.15" and _option(call, "--out") == "runs/campaign/euler-sigma0.15-restart"
    assert _option(call, "--channels") == "32" and _option(call, "--lr") == "1e-3"
    # once the second cycle has shipped, a third goes to another folder (the second's run is kept)
    third = _second_cycle(layout, "euler-sigma0.15", OUT="runs/campaign/euler-sigma0.15-restart2")[-1]
    assert _option(third, "--init") == "euler-sigma0.15"
    assert _option(third, "--out") == "runs/campaign/euler-sigma0.15-restart2"


@pytest.mark.parametrize("given", ["folder", "file"])
def test_ship_weights_takes_a_run_folder_or_a_committed_model_file(tmp_path: Path, monkeypatch, given: str):
    import json
    import sys

    from benchmark_scripts import load_script
    from pnp.denoisers import load, save_checkpoint

    ship = load_script("ship_weights.py")
    run = tmp_path / "run"
    run.mkdir()
    save_checkpoint(load("euler-sigma0.05"), run / "model.pt", {"noise_level": 0.05, "steps": 7})
    weights = tmp_path / "weights"
    weights.mkdir()
    monkeypatch.setattr(ship, "WEIGHTS_DIR", weights)
    source = run if given == "folder" else run / "model.pt"
    monkeypatch.setattr(sys, "argv", ["ship_weights.py", str(source), "euler-sigma0.05", "--command", "pnp train x",
                                      "--hardware", "test machine", "--date", "2026-11-28"])
    ship.main()
    card = json.loads((weights / "euler-sigma0.05.json").read_text())
    assert card["name"] == "euler-sigma0.05" and card["steps"] == 7 and card["training_command"] == "pnp train x"
    assert load(weights / "euler-sigma0.05.pt").metadata["hardware"] == "test machine"
