#!/bin/bash
# Architecture ablation at about equal CPU training time (issue #18, point 1), sigma = 0.01, with the data,
# seed, patches, learning rate and validation images of the shipped euler-sigma0.01 (its card's command).
# Step budgets: 1500 for the single-scale net (as shipped) and, for the multi-scale nets, 1500 times the
# ratio of CPU seconds per training step measured at initialisation (0.49 s single, 0.39 s [4,3,3],
# 0.31 s [2,2,2,2]). Each run is timed by /usr/bin/time (user + system CPU seconds in runs/ablation/NAME.log).
# flips and orbits: the single-scale net with flip-equivariant blocks (--symmetry flips / flip-orbits), same cost
# per step, so the same 1500 steps. single-restart and orbits-restart: a second cycle of 1500 steps at lr 1e-3 warm-
# started (--init) from single and orbits, run after them (a fresh Adam and cosine schedule). orbits-dilated: orbits
# with the blocks' W dilated 1, 2, 4, 1, 2, 4 (--dilations: the same cost per step and the same certified step; the
# receptive radius 2 sum(d_i n_i) is 112 pixels at 4 sub-steps per block instead of 48), so the same 1500 steps.
# Usage (from the repository root): bash benchmarks/campaign/ablation_sigma0.01.sh [NAME ...] (default: single ms433
# ms2222); then score them with
#   python benchmarks/architecture_ablation.py euler-sigma0.01 runs/ablation/ms433/model.pt \
#       runs/ablation/ms2222/model.pt --data ../shared/datasets/BSDS500 --out benchmarks/results
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -f .venv/bin/activate ]; then . .venv/bin/activate; fi
export OMP_NUM_THREADS=1
mkdir -p runs/ablation
common="--model euler --sigma 0.01 --data ${DATA:-../shared/datasets/BSDS500} --batch-size 12 --patch 48
  --channels 24 --max-substeps 4 --val-every 250 --val-images 5 --checkpoint-every 50 --device cpu"
wanted=" ${*:-single ms433 ms2222} "
for spec in "single:1500:--lr 2e-3 --blocks 6" "ms433:1900:--lr 2e-3 --scales 4,3,3" \
    "ms2222:2400:--lr 2e-3 --scales 2,2,2,2" "flips:1500:--lr 2e-3 --blocks 6 --symmetry flips" \
    "orbits:1500:--lr 2e-3 --blocks 6 --symmetry flip-orbits" \
    "orbits-dilated:1500:--lr 2e-3 --blocks 6 --symmetry flip-orbits --dilations 1,2,4" \
    "single-restart:1500:--lr 1e-3 --blocks 6 --init runs/ablation/single/model.pt" \
    "orbits-restart:1500:--lr 1e-3 --blocks 6 --symmetry flip-orbits --init runs/ablation/orbits/model.pt"; do
  IFS=: read -r name steps arch <<< "$spec"
  [[ "$wanted" == *" $name "* ]] || continue
  # shellcheck disable=SC2086
  /usr/bin/time -v nice pnp train $common --steps "$steps" $arch --out "runs/ablation/$name" \
    > "runs/ablation/$name.log" 2>&1 &
done
wait
