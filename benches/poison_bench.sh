#!/usr/bin/env bash
# Poisoning on new batches (issue 14): the new-batch cases of `cases::generate_batches`
# (baseline = one half of a dataset, current = the other half, tampered or not) on every
# bundled dataset and seeds 7, 8, 9 (resampled to 20k rows for seed 7), through
# `mlguard drift` and Evidently's default DataDriftPreset (benches/drift_evidently.py).
# Prints one line per case and the rates per dataset.
#
# Usage: benches/poison_bench.sh          (makes bench-out/poison/venv with evidently)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench-out/poison
mkdir -p "$OUT"
VENV=${VENV:-$OUT/venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q evidently 'pandas<3'
fi
PY=$VENV/bin/python
cargo build --quiet --bin mlguard --example drift_cases
MLG=target/debug/mlguard
echo "poison benchmark: $(date -u +%FT%TZ), $(nproc) CPUs, evidently $($PY -c 'import evidently;print(evidently.__version__)')"
printf '%-14s %-4s %-19s %-5s %-8s %-9s %s\n' dataset seed case must mlguard evidently "evid. expected column"
summary=""
for spec in breast_cancer:diagnosis digits:digit wine:cultivar iris:species diabetes:progression; do
  ds=${spec%%:*}; label=${spec##*:}
  n_null=0; ml_fa=0; ev_fa=0; declare -A det=(); declare -A tot=(); declare -A evd=()
  for seed in 7 8 9; do
    dir=$OUT/$ds-$seed
    resample=$([ $seed = 7 ] && echo 20000 || echo 0)
    target/debug/examples/drift_cases "testdata/datasets/$ds.csv" "$label" "$dir" $seed $resample batches > "$dir.cases.tsv"
    while IFS=$'\037' read -r name must id what base cur; do
      $MLG -q profile "$base" --label "$label" --text note -o "$dir/$name.base.json"
      set +e
      $MLG -q drift --baseline "$dir/$name.base.json" "$cur" --format json > "$dir/$name.drift.json"
      rc=$?
      set -e
      named=$($PY -c "
import json
d=json.load(open('$dir/$name.drift.json'))
ids='$id'.split('|')
hits=[f for f in d['findings'] if f['severity']=='high' and any(f['id'].startswith(i) for i in ids if i) and any('$what' in str(f['evidence'].get(k,'')) or '$what' in f['subject'] for k in ('column','label','token'))]
print('yes' if hits else 'no')")
      # Evidently reads CSV; a Parquet current is compared as its CSV twin.
      ecur=$cur; [ "${cur%.parquet}" != "$cur" ] && ecur=${cur%.parquet}.csv
      ev=$($PY benches/drift_evidently.py "$base" "$ecur" "$label" "$what" 2>/dev/null || echo "err - -")
      read -r ev_ds ev_share ev_exp <<< "$ev"
      if [ "$must" = false ]; then
        n_null=$((n_null + 1)); [ $rc = 0 ] || ml_fa=$((ml_fa + 1)); [ "$ev_ds" = 0 ] || ev_fa=$((ev_fa + 1))
        ml=$([ $rc = 0 ] && echo pass || echo FAIL)
      else
        tot[$name]=$(( ${tot[$name]:-0} + 1 ))
        ok=$([ $rc = 1 ] && [ "$named" = yes ] && echo 1 || echo 0)
        det[$name]=$(( ${det[$name]:-0} + ok ))
        evd[$name]=$(( ${evd[$name]:-0} + $([ "$ev_ds" = 1 ] && echo 1 || echo 0) ))
        ml=$([ $ok = 1 ] && echo found || echo missed)
      fi
      printf '%-14s %-4s %-19s %-5s %-8s %-9s %s\n' "$ds" $seed "$name" "$must" "$ml" "$ev_ds($ev_share)" "$what:$ev_exp"
    done < <(tr '\t' '\037' < "$dir.cases.tsv")
  done
  line="$ds: null false alarms mlguard $ml_fa/$n_null, Evidently $ev_fa/$n_null"
  for c in batch_trigger batch_text_trigger batch_flip; do
    [ -n "${tot[$c]:-}" ] && line="$line; $c mlguard ${det[$c]}/${tot[$c]}, Evidently ${evd[$c]}/${tot[$c]}"
  done
  summary="$summary$line"$'\n'
  unset det tot evd
done
echo
printf '%s' "$summary"
