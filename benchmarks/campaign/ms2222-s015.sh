#!/bin/bash
# CPU training campaign (issue #18, the sigma = 0.15 denoising floor): a multi-scale Euler net trained at
# sigma = 0.15 only, to set against the shipped single-scale euler-sigma0.15 (1500 steps of 8 48x48 patches).
# The multi-scale net buys receptive field at 1/2, 1/4, 1/8 resolution for the flat regions where the shipped
# net loses to colour BM3D; 32 channels as the shipped net, at most 6 sub-steps per block to bound the cost.
# Usage (from the repository root): bash benchmarks/campaign/ms2222-s015.sh [--resume]
# First call without --resume; later sessions continue it with --resume. MINUTES=N bounds one call.
# DATA: the BSDS500 root (default ../shared/datasets/BSDS500); the pnp of .venv when there is one.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -f .venv/bin/activate ]; then . .venv/bin/activate; fi
export OMP_NUM_THREADS=1
exec nice pnp train --model euler --scales 2,2,2,2 --channels 32 --max-substeps 6 \
  --sigma 0.15 --data "${DATA:-../shared/datasets/BSDS500}" --batch-size 8 --patch 64 \
  --lr 2e-3 --steps 20000 --val-every 500 --val-images 10 --checkpoint-every 100 --device cpu \
  --out runs/campaign/ms2222-s015 --max-minutes "${MINUTES:-110}" "$@"
