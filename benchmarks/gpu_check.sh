#!/usr/bin/env bash
# GPU check: the CUDA paths (autocast bf16/fp16 + GradScaler, channels_last, inference
# precision, 2048/4096 px stylize, training speed, DDP over every GPU) in under 8 minutes.
# Prints one JSON object on stdout (progress on stderr) and keeps a copy in
# benchmarks/results/gpu_check-<UTC time>.json. Extra arguments go to gpu_check.py
# (e.g. --budget 300, --only train_amp,ddp).
#
# It installs nothing: run it with a Python that already has the project's dependencies
# and a CUDA build of torch (the project itself is used from this checkout). On a machine
# without CUDA it runs the CPU-safe parts small and says what it skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c "import torch, numpy, PIL, safetensors" 2>/dev/null; then
    echo "gpu_check: $PYTHON lacks torch, numpy, Pillow or safetensors; install the project's" \
         "dependencies first (the check installs nothing)" >&2
    exit 2
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-4}"
mkdir -p benchmarks/results
out="benchmarks/results/gpu_check-$(date -u +%Y%m%dT%H%M%SZ).json"
"$PYTHON" benchmarks/gpu_check.py --json-out "$out" "$@"
status=$?
echo "gpu_check: JSON kept in $out (exit status $status)" >&2
exit $status
