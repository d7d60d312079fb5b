#!/usr/bin/env bash
# Drift proof cases (crates/testgen/src/cases.rs) over scikit-learn's datasets, through
# `mlguard drift` and Evidently's default DataDriftPreset, in one run: false-alarm rate on
# the null cases, detection rate on the failing cases. Then the HTML report of one failing
# case is rendered by headless Chromium to a PNG (bench-out/drift/report.png).
#
# Usage: benches/drift_bench.sh [RESAMPLE_ROWS]      (default 200000)
# Needs: python3 with evidently and pandas<3 (pip install evidently 'pandas<3'),
#        chromium (apt-get install chromium) for the screenshot.
set -euo pipefail
cd "$(dirname "$0")/.."
RESAMPLE=${1:-200000}
OUT=bench-out/drift
mkdir -p "$OUT"
cargo build --release --quiet --bin mlguard --example drift_cases
MLG=target/release/mlguard
echo "drift benchmark: $(date -u +%FT%TZ), $(nproc) CPUs, evidently $(python3 -c 'import evidently;print(evidently.__version__)')"
printf '%-15s %-17s %-5s %-22s %-8s %-8s %-9s %s\n' dataset case must "mlguard" "ok?" "evid." "evid.ok?" "evid. expected column"
ml_fa=0; ml_null=0; ml_det=0; ml_fail=0; ev_fa=0; ev_det=0; ev_col=0
for spec in breast_cancer:diagnosis digits:digit wine:cultivar iris:species; do
  ds=${spec%%:*}; label=${spec##*:}
  dir=$OUT/$ds
  target/release/examples/drift_cases "testdata/datasets/$ds.csv" "$label" "$dir" 7 "$RESAMPLE" > "$dir.cases.tsv"
  # Unit separator, not tab: tab is IFS whitespace, so empty fields (null cases) would collapse.
  while IFS=$'\037' read -r name must id what base cur; do
    $MLG -q profile "$base" --label "$label" --text note -o "$dir/$name.base.json"
    set +e
    $MLG -q drift --baseline "$dir/$name.base.json" "$cur" --format json > "$dir/$name.drift.json"
    rc=$?
    set -e
    named=$(python3 -c "
import json,sys
d=json.load(open('$dir/$name.drift.json'))
hits=[f for f in d['findings'] if f['severity']=='high' and f['id'].startswith('$id') and any('$what' in str(f['evidence'].get(k,'')) or '$what' in f['subject'] for k in ('column','label','token','from_label'))]
print((hits[0]['id'] if hits else '-'))")
    ev=$(python3 benches/drift_evidently.py "$base" "$cur" "$label" "$what" 2>/dev/null || echo "err - -")
    read -r ev_ds ev_share ev_exp <<< "$ev"
    if [ "$must" = false ]; then
      ml_null=$((ml_null + 1)); ok=$([ $rc = 0 ] && echo yes || echo NO); [ $rc = 0 ] || ml_fa=$((ml_fa + 1))
      eok=$([ "$ev_ds" = 0 ] && echo yes || echo NO); [ "$ev_ds" = 0 ] || ev_fa=$((ev_fa + 1))
      verdict=$([ $rc = 0 ] && echo pass || echo fail)
    else
      ml_fail=$((ml_fail + 1)); ok=$([ $rc = 1 ] && [ "$named" != - ] && echo yes || echo NO); [ "$ok" = yes ] && ml_det=$((ml_det + 1))
      eok=$([ "$ev_ds" = 1 ] && echo yes || echo NO); [ "$ev_ds" = 1 ] && ev_det=$((ev_det + 1))
      [ "$ev_exp" = 1 ] && ev_col=$((ev_col + 1))
      verdict="fail $named"
    fi
    printf '%-15s %-17s %-5s %-22s %-8s %-8s %-9s %s\n' "$ds" "$name" "$must" "${verdict:0:22}" "$ok" "$ev_ds($ev_share)" "$eok" "$what:$ev_exp"
  done < <(tr '\t' '\037' < "$dir.cases.tsv")
done
echo
echo "mlguard:   false alarms $ml_fa/$ml_null null cases; detected (failing, naming the right column/label) $ml_det/$ml_fail"
echo "Evidently: false alarms $ev_fa/$ml_null null cases (dataset_drift); detected $ev_det/$ml_fail (dataset_drift); expected column flagged $ev_col/$ml_fail"
# Render one HTML report in a real browser.
$MLG -q profile "$OUT/breast_cancer/full.csv" --label diagnosis --text note -o "$OUT/bc.base.json"
$MLG -q drift --baseline "$OUT/bc.base.json" "$OUT/breast_cancer/trigger.csv" --html "$OUT/report.html" > /dev/null || true
if command -v chromium >/dev/null; then
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
    --disable-sync --no-first-run --user-data-dir="$(mktemp -d)" --window-size=1200,1800 \
    --screenshot="$PWD/$OUT/report.png" "file://$PWD/$OUT/report.html" 2>/dev/null
  echo "screenshot: $OUT/report.png ($(stat -c %s "$OUT/report.png") bytes)"
else
  echo "chromium not installed: no screenshot (apt-get install chromium)"
fi
