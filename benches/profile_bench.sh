#!/usr/bin/env bash
# Profile benchmark: mlguard profile vs whylogs (why.log(df)) vs polars describe(), in one
# run, on (a) scikit-learn's datasets (testdata/datasets) and (b) a generated table of
# ROWS x 20 columns (10 float, 3 int, 5 categorical, 2 text) as Parquet and CSV.
# Prints seconds, cells/s, peak RSS and the ratio to mlguard; then mlguard's peak RSS
# at ROWS and at 10 x ROWS rows (the same file streamed ten times) to show memory is flat.
#
# Usage: benches/profile_bench.sh [ROWS]     (default 10000000; data under bench-out/profile)
# Needs: python3 with polars, whylogs, pandas, pyarrow, numpy (pip install ...), /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-10000000}
BASE=
OUT=bench-out/profile/r$ROWS
cargo build --release --quiet --bin mlguard
MLG=target/release/mlguard
[ -f "$OUT/table.csv" ] || python3 benches/profile_gen.py "$ROWS" "$OUT"
echo "profile benchmark: $(date -u +%FT%TZ), $(nproc) CPUs, polars $(python3 -c 'import polars;print(polars.__version__)'), whylogs $(python3 -c 'import whylogs;print(whylogs.__version__)' 2>/dev/null)"
printf '%-44s %10s %14s %10s %10s\n' command seconds cells/s "peak RSS" "x mlguard"
measure() { # NAME CELLS CMD...
  local name=$1 cells=$2; shift 2
  /usr/bin/time -f '%e %M' -o /tmp/pb.t "$@" > /dev/null 2>/tmp/pb.err || { echo "$name: failed: $(tail -2 /tmp/pb.err)"; return 0; }
  read -r s m < <(tail -n 1 /tmp/pb.t)
  [ -z "$BASE" ] && BASE=$s
  printf '%-44s %10.2f %14.0f %8d Mi %10s\n' "$name" "$s" "$(awk "BEGIN{print $cells/($s>0?$s:0.001)}")" $((m / 1024)) "$(awk "BEGIN{printf \"%.2f\", $s/$BASE}")"
}
for ds in breast_cancer digits; do
  f=testdata/datasets/$ds.csv
  r=$(($(wc -l < "$f") - 1)); c=$(head -1 "$f" | tr ',' '\n' | wc -l); cells=$((r * c))
  BASE=; echo "== (a) $ds.csv: $r rows x $c columns"
  measure "mlguard profile" $cells $MLG -q profile "$f" -o /tmp/pb.json
  measure "polars describe()" $cells python3 benches/profile_peers.py polars "$f"
  measure "whylogs why.log(df)" $cells python3 benches/profile_peers.py whylogs "$f"
done
cells=$((ROWS * 20))
for f in "$OUT/table.parquet" "$OUT/table.csv"; do
  BASE=; echo "== (b) $(basename "$f"): $ROWS rows x 20 columns ($(du -h "$f" | cut -f1))"
  measure "mlguard profile" $cells $MLG -q profile "$f" -o /tmp/pb.json
  measure "mlguard profile --label cat0 --text text0" $cells $MLG -q profile "$f" --label cat0 --text text0 -o /tmp/pb.json
  measure "polars describe()" $cells python3 benches/profile_peers.py polars "$f"
  measure "whylogs why.log(df)" $cells python3 benches/profile_peers.py whylogs "$f"
done
BASE=; echo "== memory vs rows (Parquet, mlguard profile)"
measure "mlguard profile, $ROWS rows" $cells $MLG -q profile "$OUT/table.parquet" -o /tmp/pb.json
measure "mlguard profile, $((ROWS * 10)) rows (file x10)" $((cells * 10)) $MLG -q profile $(for i in 1 2 3 4 5 6 7 8 9 10; do echo "$OUT/table.parquet"; done) -o /tmp/pb.json
echo "x mlguard = seconds / the first mlguard row of the block (above 1: slower than mlguard)"
