#!/usr/bin/env bash
# Before a GPU lease, here on the CPU machine: what lease.sh needs that the device machine lacks.
#   bash benchmarks/gpu/prepare.sh [BSDS500_ROOT]     (default ../shared/datasets/BSDS500)
# Writes .whl/ (wheels of deepinv, natsort, pypng for Python 3.12) and .data/BSDS500 (its images,
# 38 MB); both are git-ignored and travel with the device tool's carry: [".whl", ".data"].
set -euo pipefail
cd "$(dirname "$0")/../.."
source="${1:-../shared/datasets/BSDS500}"
[ -d "$source/data/images/val" ] || { echo "error: no BSDS500 at $source (give its root folder)" >&2; exit 2; }
mkdir -p .whl .data/BSDS500/data
for wheel in deepinv==0.5.0 natsort==8.4.0 pypng==0.20220715.0; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux2014_x86_64 --platform any -d .whl "$wheel"
done
rm -rf .data/BSDS500/data/images && cp -r "$source/data/images" .data/BSDS500/data/images
du -sh .whl .data | sed 's/^/carry: /'
