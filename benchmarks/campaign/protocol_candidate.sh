#!/bin/bash
# Re-run the standard protocol's PnP-Euler runs with a candidate prior in place of a shipped one (issue #18),
# without touching the checkout: a new euler-sigma0.01 or euler-sigma0.02 ships only with the protocol's runs at
# the level it is the default prior for re-run with it (2.55/255 or 7.65/255; about 4 and 2.5 CPU hours).
# Usage (from the repository root): bash benchmarks/campaign/protocol_candidate.sh CANDIDATE.pt NAME
#   e.g. bash benchmarks/campaign/protocol_candidate.sh benchmarks/campaign/checkpoints/orbits-s0.01-restart3.pt \
#        euler-sigma0.01
#   Start it once per core: the processes share the runs. Run it again (same arguments) to continue.
# What it does: a git worktree of HEAD at runs/wt-candidate with CANDIDATE copied over its shipped NAME.pt, and the
# committed PnP-Euler log (benchmarks/results/deblurring/runs_euler.*) copied into runs/protocol-candidate/deblurring/;
# `pnp benchmark deblurring --methods euler` run from the worktree into runs/protocol-candidate then re-runs the
# level whose prior changed and keeps the other level's runs. Both folders hold one candidate at a time: it
# refuses a worktree that holds another one (remove it with `git worktree remove --force runs/wt-candidate` and
# `rm -rf runs/protocol-candidate`).
# When the log has all its runs: ship the candidate (benchmarks/ship_weights.py), copy
# runs/protocol-candidate/deblurring/runs_euler.* to benchmarks/results/deblurring/, and write the tables with
# `pnp benchmark deblurring --data BSDS500 --tables-only --replace`. DATA: the BSDS500 root (default
# ../shared/datasets/BSDS500, relative to the repository root).
set -euo pipefail
cd "$(dirname "$0")/../.."
candidate="${1:?usage: protocol_candidate.sh CANDIDATE.pt NAME (e.g. euler-sigma0.01)}"
name="${2:?usage: protocol_candidate.sh CANDIDATE.pt NAME (e.g. euler-sigma0.01)}"
shipped="pnp/denoisers/weights/$name.pt"
[ -f "$candidate" ] || { echo "no candidate file $candidate" >&2; exit 2; }
[ -f "$shipped" ] || { echo "no shipped prior named $name ($shipped)" >&2; exit 2; }
data="$(realpath "${DATA:-../shared/datasets/BSDS500}")"
python="$PWD/.venv/bin/python"  # the venv's own path (resolving its link would leave the venv)
[ -x "$python" ] || python="$(command -v python)"
tree=runs/wt-candidate
out="$(realpath -m runs/protocol-candidate)"

if [ ! -d "$tree" ]; then
  git worktree add --detach "$tree" HEAD
  cp "$candidate" "$tree/$shipped"
elif ! cmp -s "$candidate" "$tree/$shipped"; then
  echo "$tree holds another candidate for $name; remove it first: git worktree remove --force $tree;" \
       "rm -rf runs/protocol-candidate" >&2
  exit 2
fi
if [ ! -f "$out/deblurring/runs_euler.json" ]; then
  mkdir -p "$out/deblurring"
  cp benchmarks/results/deblurring/runs_euler.* "$out/deblurring/"
fi
cd "$tree"
PYTHONPATH="$PWD" OMP_NUM_THREADS=1 nice "$python" -m pnp.cli benchmark deblurring --data "$data" --device cpu \
  --methods euler --out "$out"
