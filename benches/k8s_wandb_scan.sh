#!/usr/bin/env bash
# Scan throughput on Kubernetes audit + W&B audit logs (events/s): the ML-platform
# scenario's normal month (examples/ml_platform_scenario.rs, seed 12), its k8s-audit and
# wandb directories copied COPIES times (distinct file names; k8s and W&B records are not
# deduplicated), scanned with --baseline-days 7. Timed: wall clock of `mlguard scan`.
#   benches/k8s_wandb_scan.sh [COPIES]   (MLGUARD=path/to/binary, default target/release)
set -euo pipefail
copies=${1:-20}
bin=${MLGUARD:-target/release/mlguard}
gen=${GEN:-target/release/examples/ml_platform_scenario}
[ -x "$bin" ] || cargo build --release --locked
[ -x "$gen" ] || cargo build --release --locked --example ml_platform_scenario
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$gen" "$tmp/s" 12 --normal >/dev/null
mkdir -p "$tmp/in"
for i in $(seq 1 "$copies"); do
  for src in k8s-audit wandb; do
    (cd "$tmp/s/logs" && find "$src" -type f) | while read -r f; do
      mkdir -p "$tmp/in/c$i/$(dirname "$f")"
      cp "$tmp/s/logs/$f" "$tmp/in/c$i/$f"
    done
  done
done
start=$(date +%s.%N)
"$bin" scan "$tmp/in" --baseline-days 7 --format json -o "$tmp/out.json" || true
end=$(date +%s.%N)
python3 - "$tmp/out.json" "$start" "$end" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
ev = v["summary"]["events"]
n = sum(ev.values()) if isinstance(ev, dict) else ev
s = float(sys.argv[3]) - float(sys.argv[2])
print(f"events {n} ({ev}) in {s:.2f} s: {n / s:,.0f} events/s; findings {len(v['findings'])}")
PY
