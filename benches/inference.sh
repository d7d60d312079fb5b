#!/bin/sh
# Inference-log monitoring benchmark: detection quality over seeded generated logs
# and throughput (queries/s) on a large CSV log under /tmp. No peer tool implements PRADA /
# inference-log scanning as a CLI, so this benchmark reports mlguard's own figures only.
#   benches/inference.sh [SEEDS] [QUERIES]
set -eu
SEEDS=${1:-10}
QUERIES=${2:-10000000}
cargo bench --bench inference -- --seeds "$SEEDS" --queries "$QUERIES" --dir /tmp/mlguard-inference
