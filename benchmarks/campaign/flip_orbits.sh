#!/bin/bash
# A flip-equivariant Euler prior for another noise level (issues #15, #18): the two cycles that made the shipped
# euler-sigma0.01 (runs/ablation/orbits then orbits-restart, benchmarks/campaign/ablation_sigma0.01.sh), at SIGMA.
# Cycle 1: 1500 steps at lr 2e-3 from scratch with --symmetry flip-orbits; cycle 2: 1500 steps at lr 1e-3 warm-
# started from cycle 1 (fresh Adam and cosine schedule). Same data, seed, patches and validation images as the
# shipped per-level nets (their cards' command). A flip-equivariant prior lets `pnp deblur` use the mirror prior
# border at no extra cost, which removes the band at the left border of reflect-boundary photos.
# Usage (from the repository root): bash benchmarks/campaign/flip_orbits.sh SIGMA
#   writes runs/campaign/orbits-sSIGMA (cycle 1) and runs/campaign/orbits-sSIGMA-restart (cycle 2). Run again to
#   continue: a finished cycle is skipped, an interrupted one resumed. MINUTES=N bounds each call of pnp train.
#   CYCLES=N (default 2) adds cycles 3..N, each as the second (lr 1e-3, fresh Adam and cosine schedule), warm-started
#   from the one before, into orbits-sSIGMA-restart2, -restart3, ...
#   A cycle's model committed as benchmarks/campaign/checkpoints/<its folder name>.pt replaces that cycle and the
#   ones before it when runs/ no longer holds them: the next cycle warm-starts from the committed file.
#   DATA: the BSDS500 root (default ../shared/datasets/BSDS500).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -f .venv/bin/activate ]; then . .venv/bin/activate; fi
export OMP_NUM_THREADS=1
sigma="${1:?usage: flip_orbits.sh SIGMA (e.g. 0.02)}"
steps=1500
common=(--model euler --sigma "$sigma" --data "${DATA:-../shared/datasets/BSDS500}" --batch-size 12 --patch 48
  --channels 24 --blocks 6 --max-substeps 4 --symmetry flip-orbits --val-every 250 --val-images 5
  --checkpoint-every 50 --device cpu --steps "$steps" --max-minutes "${MINUTES:-110}")

finished() {  # the run folder's log reached the last step
  [ -f "$1/log.jsonl" ] && tail -n 1 "$1/log.jsonl" | grep -q "\"step\": $steps,"
}

cycle() {  # cycle OUT ARGS...: train into OUT unless finished, resuming an interrupted run
  local out="$1"; shift
  if finished "$out"; then echo "$out: finished"; return 0; fi
  local resume=()
  if [ -f "$out/last.pt" ]; then resume=(--resume); fi
  nice pnp train "${common[@]}" "$@" --out "$out" "${resume[@]}" || return $?
  finished "$out" || { echo "$out: stopped before step $steps; run this script again to continue" >&2; exit 3; }
}

# Cycle k trains into runs/campaign/NAME_k: orbits-sSIGMA, orbits-sSIGMA-restart, orbits-sSIGMA-restart2, ...
names=("orbits-s$sigma" "orbits-s$sigma-restart")
for n in $(seq 3 "${CYCLES:-2}"); do names+=("orbits-s$sigma-restart$((n - 1))"); done
# runs/ is scratch and may be gone in a later session: a cycle's model.pt committed as
# benchmarks/campaign/checkpoints/NAME_k.pt (see the README there) stands for that cycle and every one before it.
saved=benchmarks/campaign/checkpoints
start=0; init=()
for k in "${!names[@]}"; do
  if [ ! -f "runs/campaign/${names[$k]}/model.pt" ] && [ -f "$saved/${names[$k]}.pt" ]; then
    start=$((k + 1)); init=(--init "$saved/${names[$k]}.pt")
    echo "${names[$k]}: taken from $saved/${names[$k]}.pt"
  fi
done
for k in "${!names[@]}"; do
  [ "$k" -ge "$start" ] || continue
  out="runs/campaign/${names[$k]}"
  if [ "$k" -eq 0 ]; then cycle "$out" --lr 2e-3; else cycle "$out" --lr 1e-3 "${init[@]}"; fi
  init=(--init "$out/model.pt")
done
