#!/usr/bin/env bash
# The GPU run the CPU-only sessions could not do (issues #4, #6, #8), as one command:
#   benchmarks/gpu/long_retrain.sh BSDS500_ROOT [RUNS_FOLDER] [STEPS]
# 1. trains euler and dncnn at sigma 0.15 with the GPU defaults of `pnp train` (64 channels,
#    10 blocks / DnCNN depth 20, batches of 16 patches 64x64, STEPS steps, default 20000),
#    checkpointing every 500 steps: re-running the script after a kill resumes both runs;
# 2. ships them as euler-sigma0.15 / dncnn-sigma0.15 (certificate re-verified) with model cards;
# 3. writes the denoising table on all 100 val images (issue #4's floor: Euler >= 27.5 dB at 0.15),
#    the certificate and speed tables, and deblurring on the standard protocol over all of CBSD68
#    (PnP-Euler, PnP-DnCNN, TV; BM3D is CPU-only and slow: add --methods bm3d where time allows),
#    with their provenance, to benchmarks/results.
#    The speed step (issue #8's GPU floors) can run alone, in a few minutes, without training:
#      pnp benchmark speed --data BSDS500 --device cuda --out benchmarks/results/gpu
#    speed.md: seconds per iteration, ours vs deepinv; speed_precision.md: PnP iterations per second
#    for one 481x321 image and a batch of 16 in fp32, TF32 and bf16, with the PSNR change of each.
# On a machine whose commands are time-limited (e.g. 10 minutes), wrap step 1 in
# `timeout 540 ...` and call it again: each call continues from the last checkpoint.
set -euo pipefail
DATA=${1:?usage: benchmarks/gpu/long_retrain.sh BSDS500_ROOT [RUNS_FOLDER] [STEPS]}
RUNS=${2:-runs/gpu}
STEPS=${3:-20000}
HERE=$(cd "$(dirname "$0")/../.." && pwd)  # the repository root
HARDWARE=$(python -c "import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'CPU')")

train() {  # train MODEL EXTRA... ; resumes when the run folder already holds a checkpoint
  local model=$1; shift
  local out="$RUNS/$model-sigma0.15" resume=()
  [[ -f "$out/last.pt" ]] && resume=(--resume)
  pnp train --model "$model" --sigma 0.15 --data "$DATA" --out "$out" --steps "$STEPS" --device cuda \
    --val-every 1000 --val-images 10 "${resume[@]}" "$@"
}
[[ -f "$RUNS/euler-sigma0.15/model.pt" ]] || train euler
[[ -f "$RUNS/dncnn-sigma0.15/model.pt" ]] || train dncnn --lr 1e-3 --blocks 20

for model in euler dncnn; do
  python "$HERE/benchmarks/ship_weights.py" "$RUNS/$model-sigma0.15" "$model-sigma0.15" \
    --hardware "$HARDWARE" --training-data "BSDS500 train+test (400 images)" \
    --command "pnp train --model $model --sigma 0.15 --data BSDS500 --steps $STEPS --device cuda (benchmarks/gpu/long_retrain.sh)"
done
pnp benchmark denoising --data "$DATA" --device cuda --out "$HERE/benchmarks/results"
pnp benchmark certificates --data "$DATA" --device cuda --out "$HERE/benchmarks/results"
pnp benchmark deblurring --data "$DATA" --images cbsd68 --methods euler --methods dncnn --methods tv --device cuda --out "$HERE/benchmarks/results/cbsd68"
pnp benchmark speed --data "$DATA" --device cuda --out "$HERE/benchmarks/results/gpu"
