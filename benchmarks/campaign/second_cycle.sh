#!/bin/bash
# Second training cycle of a shipped Euler net (issue #18): its card's training command (same architecture, data,
# patches, seed and validation images), warm-started from the shipped weights (--init, fresh Adam and cosine
# schedule) for 1500 more steps at lr 1e-3. On euler-sigma0.01 this gave +1.57 dB on the 100 val images
# (benchmarks/results/architecture_ablation.md, row single-restart).
# Usage (from the repository root): bash benchmarks/campaign/second_cycle.sh NAME [--resume]
#   NAME: euler-sigma0.02, euler-sigma0.05 or euler-sigma0.15; writes runs/campaign/NAME-restart (OUT=DIR: there
#   instead). The warm start is the shipped file: once a second cycle has shipped, the same call trains a third
#   (give it another OUT, e.g. OUT=runs/campaign/euler-sigma0.15-restart2).
# MINUTES=N bounds one call (continue with --resume). DATA: the BSDS500 root (default ../shared/datasets/BSDS500).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -f .venv/bin/activate ]; then . .venv/bin/activate; fi
export OMP_NUM_THREADS=1
name="${1:?usage: second_cycle.sh NAME [--resume]}"; shift
case "$name" in
  euler-sigma0.02|euler-sigma0.05)
    arch="--sigma ${name#euler-sigma} --batch-size 12 --patch 48 --channels 24 --blocks 6 --max-substeps 4 --val-images 5" ;;
  euler-sigma0.15)
    arch="--sigma 0.15 --batch-size 8 --patch 48 --channels 32 --blocks 8 --val-images 10" ;;
  *) echo "error: no second cycle defined for $name (euler-sigma0.02, euler-sigma0.05, euler-sigma0.15)" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086
exec nice pnp train --model euler $arch --data "${DATA:-../shared/datasets/BSDS500}" --steps 1500 --lr 1e-3 \
  --val-every 250 --checkpoint-every 50 --device cpu --init "$name" --out "${OUT:-runs/campaign/$name-restart}" \
  --max-minutes "${MINUTES:-110}" "$@"
