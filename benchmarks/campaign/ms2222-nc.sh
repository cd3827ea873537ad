#!/bin/bash
# CPU training campaign (issue #18, point 2): one noise-conditioned multi-scale Euler net for sigma in [0.005, 0.2].
# Usage (from the repository root): bash benchmarks/campaign/ms2222-nc.sh [--resume]
# First call without --resume; later sessions continue it with --resume. MINUTES=N bounds one call.
# DATA: the BSDS500 root (default ../shared/datasets/BSDS500); the pnp of .venv when there is one.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -f .venv/bin/activate ]; then . .venv/bin/activate; fi
export OMP_NUM_THREADS=1
exec nice pnp train --model euler --scales 2,2,2,2 --channels 24 --max-substeps 4 --noise-channel \
  --sigma 0.005 --sigma-max 0.2 --sigma-log --data "${DATA:-../shared/datasets/BSDS500}" --batch-size 12 --patch 64 \
  --lr 2e-3 --steps 20000 --val-every 500 --val-images 5 --checkpoint-every 100 --device cpu \
  --out runs/campaign/ms2222-nc --max-minutes "${MINUTES:-110}" "$@"
