#!/usr/bin/env bash
# Benchmark `mlguard hash` against b3sum, find|xargs b3sum (serial and parallel), hashdeep
# and sha256sum on three data sets built in one run:
#   (a) one 2 GiB file, (b) 50,000 files of 4-64 KiB, (c) a mixed tree.
# Warm page cache (each command runs once untimed first), best of $REPS runs, peak RSS from
# /usr/bin/time -v. Prints wall seconds, MiB/s, peak RSS and mlguard's speed-up ratio.
#
# Usage: benches/hash_bench.sh [OUT_DIR]   (default: bench-out/integrity, gitignored)
#        TREES= benches/hash_bench.sh      only the 2 GiB file; REPS=N runs per command
# Needs: b3sum (cargo install b3sum), hashdeep (apt-get install hashdeep), GNU coreutils,
#        /usr/bin/time, perl (data generation only).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench-out/integrity}
REPS=${REPS:-3}
NPROC=$(nproc)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

for t in b3sum hashdeep sha256sum /usr/bin/time perl; do
  command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 2; }
done

# ---------------------------------------------------------------- data
gen_small() { # DIR COUNT SEED: COUNT files of 4..64 KiB in 100 subdirectories
  perl -e '
    my ($dir, $n, $seed) = @ARGV; srand($seed);
    open(my $r, "<", "/dev/urandom") or die; read($r, my $pool, 1 << 20); close $r;
    for my $i (0 .. $n - 1) {
      my $sub = sprintf("%s/d%02d", $dir, $i % 100); mkdir $sub unless -d $sub;
      my $len = 4096 + int(rand(61441)); my $off = int(rand((1 << 20) - $len));
      open(my $f, ">", sprintf("%s/f%06d.bin", $sub, $i)) or die;
      binmode $f; print $f pack("N", $i), substr($pool, $off, $len - 4); close $f;
    }' "$1" "$2" "$3"
}
if [ ! -f "$OUT/big/big.bin" ]; then
  mkdir -p "$OUT/big"
  head -c $((2 << 30)) /dev/urandom > "$OUT/big/big.bin"
fi
if [ ! -d "$OUT/small/d99" ]; then
  rm -rf "$OUT/small"; mkdir -p "$OUT/small"
  gen_small "$OUT/small" 50000 1
fi
if [ ! -d "$OUT/mixed/small/d99" ]; then
  rm -rf "$OUT/mixed"; mkdir -p "$OUT/mixed/large" "$OUT/mixed/medium" "$OUT/mixed/small"
  for i in 0 1 2 3; do head -c $((128 << 20)) /dev/urandom > "$OUT/mixed/large/shard$i.bin"; done
  for i in $(seq 0 499); do head -c $((1 << 20)) /dev/urandom > "$OUT/mixed/medium/m$i.bin"; done
  gen_small "$OUT/mixed/small" 10000 2
fi

[ "${GEN_ONLY:-}" = 1 ] && exit 0
cargo build --release --quiet
MLG=$PWD/target/release/mlguard

# ---------------------------------------------------------------- timing
# run NAME CMD...: best wall time of $REPS and the peak RSS of that run.
BEST_S=0; BEST_RSS=0
measure() {
  local best="" rss=0
  bash -c "$*" </dev/null >/dev/null 2>&1 || true # warm-up
  for _ in $(seq "$REPS"); do
    /usr/bin/time -v -o "$OUT/time.txt" bash -c "$*" </dev/null >/dev/null 2>&1 || { echo "FAILED: $*" >&2; }
    local s r
    s=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); t=0; for(i=1;i<=n;i++) t=t*60+a[i]; print t}' "$OUT/time.txt")
    r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/time.txt")
    if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$s; rss=$r; fi
  done
  BEST_S=$best; BEST_RSS=$rss
}

report() { # DATASET BYTES
  local name=$1 bytes=$2; shift 2
  echo
  echo "== $name ($(awk -v b="$bytes" 'BEGIN{printf "%.2f GiB", b/2^30}'), $(find "$DATA" -type f | wc -l) files)"
  printf '%-44s %9s %10s %10s %9s\n' "command" "seconds" "MiB/s" "peak RSS" "mlguard×"
  local base=""
  while IFS='~' read -r label cmd; do
    measure "$cmd"
    [ -z "$base" ] && base=$BEST_S
    printf '%-44s %9.2f %10.0f %8d Mi %9.2f\n' "$label" "$BEST_S" \
      "$(awk -v b="$bytes" -v s="$BEST_S" 'BEGIN{print (s>0)? b/2^20/s : 0}')" \
      "$((BEST_RSS / 1024))" "$(awk -v a="$BEST_S" -v m="$base" 'BEGIN{print (m>0)? a/m : 0}')"
  done
}

echo "mlguard benchmark: $(date -u +%FT%TZ), $NPROC CPUs, $(free -g | awk '/Mem:/ {print $2}') GiB RAM"
echo "b3sum $(b3sum --version | awk '{print $2}'), hashdeep $(hashdeep -V), $(sha256sum --version | head -1)"
echo "mlguard× = that command's time / mlguard's time (above 1: mlguard is faster)"

DATA=$OUT/big
report "(a) one 2 GiB file" "$(stat -c %s "$DATA/big.bin")" <<EOF
mlguard hash~$MLG -q hash $DATA -o $OUT/m-plain.json
mlguard verify~$MLG -q verify $DATA -m $OUT/m-plain.json
mlguard hash --sha256~$MLG -q hash $DATA --sha256 -o $OUT/m-sha.json
b3sum~b3sum $DATA/big.bin
b3sum --num-threads 1~b3sum --num-threads 1 $DATA/big.bin
hashdeep -r~hashdeep -r $DATA
sha256sum~sha256sum $DATA/big.bin
EOF

for set in ${TREES-small mixed}; do
  DATA=$OUT/$set
  BYTES=$(find "$DATA" -type f -printf '%s\n' | awk '{s+=$1} END{print s}')
  if [ $set = small ]; then title="(b) 50,000 files of 4-64 KiB"; else title="(c) mixed tree"; fi
  report "$title" "$BYTES" <<EOF
mlguard hash~$MLG -q hash $DATA -o $OUT/m-plain.json
mlguard verify~$MLG -q verify $DATA -m $OUT/m-plain.json
mlguard hash --sha256~$MLG -q hash $DATA --sha256 -o $OUT/m-sha.json
find | xargs -0 b3sum~find $DATA -type f -print0 | xargs -0 b3sum
find | xargs -0 -P$NPROC -n 500 b3sum~find $DATA -type f -print0 | xargs -0 -P$NPROC -n 500 b3sum
hashdeep -r~hashdeep -r $DATA
find | xargs -0 sha256sum~find $DATA -type f -print0 | xargs -0 sha256sum
EOF
done
