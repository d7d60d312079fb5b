#!/usr/bin/env bash
# Peak memory of `mlguard verify` on a large manifest (a 92 MB manifest once took
# 3.3 GB), against `b3sum --check` on the same tree as the streaming peer.
# Builds a tree of $FILES tiny files (500 directories), hashes it once, then measures
# (peak RSS from /usr/bin/time -v, one run each):
#   verify PASS (every file ok), verify against an empty directory (every file missing)
#   as a table and as JSON, and `b3sum --check` of the same tree's check file.
# Prints the manifest size, peak RSS and RSS / manifest size.
#
# Usage: benches/verify_memory.sh [OUT_DIR]   (default: bench-out/verify-memory, gitignored)
#        FILES=N benches/verify_memory.sh     (default 500000); MLGUARD=path to the binary
# Needs: b3sum (cargo install b3sum), /usr/bin/time, python3 (data generation only).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench-out/verify-memory}
FILES=${FILES:-500000}
MLGUARD=${MLGUARD:-target/release/mlguard}
for t in b3sum /usr/bin/time python3 "$MLGUARD"; do
  command -v "$t" >/dev/null || { echo "missing $t (build with cargo build --release)" >&2; exit 2; }
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
MLGUARD=$(cd "$(dirname "$MLGUARD")" && pwd)/$(basename "$MLGUARD")

if [ ! -f "$OUT/tree/.done-$FILES" ]; then
  rm -rf "$OUT/tree"
  python3 - "$OUT/tree" "$FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
per = max(1, n // 500)
for i in range(n):
    d = f"{root}/shard-{i // per:04d}"
    if i % per == 0:
        os.makedirs(d, exist_ok=True)
    with open(f"{d}/sample-{i:07d}.jpg", "wb") as f:
        f.write(b"%d" % i)
PY
  touch "$OUT/tree/.done-$FILES"
fi
mkdir -p "$OUT/empty"
"$MLGUARD" -q hash "$OUT/tree" --exclude '.done-*' -o "$OUT/m.json"
(cd "$OUT/tree" && "$MLGUARD" -q hash . --exclude '.done-*' --format b3sum > "$OUT/m.b3")
msize=$(stat -c %s "$OUT/m.json")

rss() { # LABEL CMD...: run once, print peak RSS
  local label=$1; shift
  /usr/bin/time -v "$@" > "$OUT/out.txt" 2> "$OUT/time.txt" || true
  local kb; kb=$(awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}' "$OUT/time.txt")
  local secs; secs=$(awk '/Elapsed/ {print $NF}' "$OUT/time.txt")
  printf '%-44s %10.1f MiB  %6.2f x manifest  %s\n' "$label" "$(echo "$kb/1024" | bc -l)" \
    "$(echo "$kb*1024/$msize" | bc -l)" "$secs"
}
printf 'manifest: %d entries, %.1f MiB\n' "$FILES" "$(echo "$msize/1048576" | bc -l)"
# verify takes the excludes from the manifest.
rss "mlguard verify (all ok, table)" "$MLGUARD" -q verify "$OUT/tree" -m "$OUT/m.json"
rss "mlguard verify (all missing, table)" "$MLGUARD" -q verify "$OUT/empty" -m "$OUT/m.json"
rss "mlguard verify (all missing, --format json)" "$MLGUARD" -q verify "$OUT/empty" -m "$OUT/m.json" --format json
(cd "$OUT/tree" && rss "b3sum --check (all ok)" b3sum --check --quiet "$OUT/m.b3")
