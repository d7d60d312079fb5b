#!/usr/bin/env bash
# Benchmark `mlguard scan` (every built-in detection, plus the SigmaHQ cloud rules, plus
# Suzaku's rule set) against
# `jq` doing a single field filter over the same CloudTrail files, in one run.
# Data: the documented insider scenario (crates/testgen/src/scenario.rs) scaled up, gzipped
# {"Records": [...]} files in the AWSLogs layout, generated under bench-out/scan.
#
# Usage: benches/scan_bench.sh [SCALE] [DAYS]     (default 300 x 30 days ~ 1.1M events)
# Needs: jq (apt-get install jq), /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-300}
DAYS=${2:-30}
OUT=bench-out/scan/s${SCALE}d${DAYS}
command -v jq >/dev/null || { echo "missing jq (apt-get install jq)" >&2; exit 2; }
cargo build --release --quiet --bin mlguard --example scan_scenario
MLG=target/release/mlguard
if [ ! -d "$OUT/AWSLogs" ]; then
  mkdir -p "$OUT"
  target/release/examples/scan_scenario "$OUT" 7 "$DAYS" "$SCALE"
fi
EVENTS=$(find "$OUT/AWSLogs" -name '*.json.gz' -print0 | xargs -0 zcat | jq '.Records | length' | paste -sd+ | bc)
BYTES=$(find "$OUT/AWSLogs" -name '*.json.gz' -print0 | xargs -0 zcat | wc -c)
echo "mlguard scan benchmark: $(date -u +%FT%TZ), $(nproc) CPUs, $(jq --version)"
echo "data: $EVENTS events, $((BYTES / 1048576)) MiB of JSON (gzipped files, $DAYS days, scale $SCALE)"
printf '%-58s %9s %12s %10s %8s\n' command seconds events/s "peak RSS" "jq/x"
declare -A T
row() { # NAME CMD
  local name=$1; shift
  bash -c "$*" >/dev/null 2>&1 || true   # warm the page cache
  local best=999999 rss=0
  for _ in 1 2 3; do
    /usr/bin/time -f '%e %M' -o /tmp/scan_bench.t bash -c "$*" >/dev/null 2>&1 || true
    read -r s m < <(tail -n 1 /tmp/scan_bench.t)
    if awk "BEGIN{exit !($s < $best)}"; then best=$s; rss=$m; fi
  done
  T[$name]=$best
  printf '%-58s %9.2f %12.0f %8d Mi %8s\n' "$name" "$best" "$(awk "BEGIN{print $EVENTS/($best>0?$best:0.001)}")" $((rss / 1024)) "${T[jq]:+$(awk "BEGIN{printf \"%.2f\", ${T[jq]}/$best}")}"
}
row jq "find $OUT/AWSLogs -name '*.json.gz' -print0 | xargs -0 zcat | jq -c '.Records[] | select(.eventName == \"StopLogging\")'"
row "mlguard scan (built-in detections)" "$MLG -q scan $OUT/AWSLogs --baseline-days 7 --format json"
row "mlguard scan (built-in + 206 Sigma rules)" "$MLG -q scan $OUT/AWSLogs --baseline-days 7 --rules testdata/sigma/rules/cloud --format json"
row "mlguard scan (built-in + Suzaku's rule set)" "$MLG -q scan $OUT/AWSLogs --baseline-days 7 --rules testdata/sigma/suzaku-rules --format json"
row "mlguard -j1 scan (built-in, one thread)" "$MLG -q -j1 scan $OUT/AWSLogs --baseline-days 7 --format json"
echo "jq/x = jq's time / that command's time (above 1: faster than jq's single filter)"
