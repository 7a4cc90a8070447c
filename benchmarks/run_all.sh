#!/usr/bin/env bash
# Run every benchmark of this folder and keep their JSON in benchmarks/results/<date>/.
# Run on an otherwise idle machine: the numbers are wall-clock times.
#   benchmarks/run_all.sh            # quality budget 30 minutes
#   QUALITY_MINUTES=0.5 benchmarks/run_all.sh   # a quick smoke run
set -euo pipefail
cd "$(dirname "$0")/.."
out="benchmarks/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
python benchmarks/bench_train_speed.py > "$out/train_speed.json"
python benchmarks/bench_stylize.py --presets lite classic --sizes 512 1024 2048 4096 \
    > "$out/stylize.json"
python benchmarks/bench_quality.py --minutes "${QUALITY_MINUTES:-30}" > "$out/quality.json"
python benchmarks/bench_fuzz.py --cases 10000 > "$out/fuzz.json"
python benchmarks/bench_concurrency.py --repetitions 10 > "$out/concurrency.json"
echo "results in $out"
