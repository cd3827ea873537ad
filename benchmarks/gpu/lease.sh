#!/usr/bin/env bash
# One GPU lease in one call (see CONTRIBUTING.md, "A GPU lease"). On the device machine, from the
# repository root, with .whl/ and .data/BSDS500 carried (benchmarks/gpu/prepare.sh makes them here):
#   bash benchmarks/gpu/lease.sh --mode smoke     # about a minute: install, 20 steps each, speed on one size
#   bash benchmarks/gpu/lease.sh                  # about 9 minutes: train all priors 6 min, score, certify, speed
#   bash benchmarks/gpu/lease.sh --mode cpu       # the same path on a CPU, tiny budget (the test suite runs it)
# Results land in $OUT (the device tool's folder) or out/lease: at most 5 files.
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-out/lease}"
mkdir -p "$out"
wheels="${LEASE_WHEELS:-.whl}"
if compgen -G "$wheels/*.whl" > /dev/null; then  # what the GPU image lacks (deepinv, natsort, pypng)
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$wheels"/*.whl \
        || { echo "error: could not install the carried wheels in $wheels/" >&2; exit 3; }
    export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
python3 benchmarks/gpu/lease.py --out "$out" "$@" 2>&1 | tee "$out/lease.log"
exit "${PIPESTATUS[0]}"
