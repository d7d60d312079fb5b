#!/bin/sh
# Inference-log monitoring benchmark: detection quality over seeded generated logs
# and throughput (queries/s) on a large CSV log under /tmp, then the release binary on that
# log with /usr/bin/time -v (wall time, peak RSS). No peer tool implements PRADA /
# inference-log scanning as a CLI, so this benchmark reports mlguard's own figures only.
#   benches/inference.sh [SEEDS] [QUERIES]
# Needs /usr/bin/time. The log (about 430 bytes per query) stays in /tmp/mlguard-inference;
# the scan spills about 290 bytes per query to $TMPDIR while it runs.
set -eu
cd "$(dirname "$0")/.."
SEEDS=${1:-10}
QUERIES=${2:-10000000}
DIR=/tmp/mlguard-inference
cargo bench --bench inference -- --seeds "$SEEDS" --queries "$QUERIES" --dir "$DIR"
cargo build --release --locked --bin mlguard
LOG="$DIR/throughput-$QUERIES.csv"
# Exit 1 (findings fail the gate) is expected.
/usr/bin/time -v target/release/mlguard -q scan --source inference "$LOG" --format json \
  > "$DIR/out.json" 2> "$DIR/time.txt" || true
secs=$(awk '/Elapsed/ {print $NF}' "$DIR/time.txt")
kb=$(awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}' "$DIR/time.txt")
q=$(grep -o '"queries": *[0-9]*' "$DIR/out.json" | head -1 | grep -o '[0-9]*$')
echo "binary: mlguard -q scan --source inference $LOG --format json"
echo "  queries $q, elapsed $secs, peak RSS $((kb / 1024)) MiB"
