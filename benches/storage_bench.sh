#!/usr/bin/env bash
# Object-storage benchmark, in one run against a loopback S3 server (moto_server):
#   hash:    mlguard hash of a local tree  vs  mlguard hash s3://…/  vs  boto3 downloading the
#            same objects to /dev/null (download_fileobj, its default multipart transfer)
#   profile: mlguard profile of a local Parquet file  vs  of the same file in S3
# Prints seconds, MiB/s, peak RSS (/usr/bin/time -v "Maximum resident set size") and the
# ratios the targets are stated in: hash from S3 / boto3 download (target >= 1.0), profile
# of S3 Parquet / local profile throughput (target >= 0.7). Best of $REPS runs each, after
# one untimed warm-up (page cache and the server's memory warm).
#
# Usage: benches/storage_bench.sh [OUT_DIR]      (default bench-out/storage, gitignored)
#        FILES=8 MIB=64 ROWS=4000000 RG=500000 REPS=3 PORT=5060 benches/storage_bench.sh
# Needs: moto_server (pip install 'moto[server]'), python3 with boto3, and pyarrow + numpy for
#        the Parquet data (pip install pyarrow numpy); /usr/bin/time. Uses a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench-out/storage}
FILES=${FILES:-8}
MIB=${MIB:-64}
ROWS=${ROWS:-4000000}
RG=${RG:-500000}
REPS=${REPS:-3}
PORT=${PORT:-5060}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
for t in moto_server /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 2; }
done
cargo build --release --locked --quiet --bin mlguard
MLG=$PWD/target/release/mlguard

# ---------------------------------------------------------------- data
[ -f "$OUT/tree/shard-$(printf %03d $((FILES - 1))).bin" ] ||
  $PY benches/storage_peer.py gen-bin "$OUT/tree" "$FILES" "$MIB"
[ -f "$OUT/pq/table.parquet" ] || { mkdir -p "$OUT/pq"; $PY benches/storage_peer.py gen-parquet "$OUT/pq/table.parquet" "$ROWS" "$RG"; }
TREE_BYTES=$(cat "$OUT"/tree/*.bin | wc -c)
PQ_BYTES=$(stat -c %s "$OUT/pq/table.parquet")

# ---------------------------------------------------------------- server
EP=http://127.0.0.1:$PORT
moto_server -H 127.0.0.1 -p "$PORT" >"$OUT/moto.log" 2>&1 &
MOTO=$!
trap 'kill "$MOTO" 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 1; done
$PY benches/storage_peer.py upload "$EP" bench "$OUT/tree" tree
$PY benches/storage_peer.py upload "$EP" bench "$OUT/pq" pq
export AWS_ENDPOINT_URL=$EP AWS_ALLOW_HTTP=true AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1

echo "storage benchmark: $(date -u +%FT%TZ), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), moto $($PY -c 'import moto;print(moto.__version__)'), boto3 $($PY -c 'import boto3;print(boto3.__version__)')"
echo "data: $FILES x $MIB MiB random files ($TREE_BYTES bytes); Parquet $ROWS rows x 20 columns, $RG rows per row group, zstd ($PQ_BYTES bytes)"

# measure NAME BYTES CMD... -> sets SECS (best of REPS) and RSS (MiB, of that run)
measure() {
  local name=$1 bytes=$2 best= rss=0; shift 2
  "$@" >/dev/null 2>"$OUT/err" || { echo "$name: failed: $(tail -3 "$OUT/err")" >&2; exit 1; }
  for _ in $(seq 1 "$REPS"); do
    /usr/bin/time -v -o "$OUT/time" "$@" >"$OUT/stdout" 2>"$OUT/err"
    local s m
    s=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); t=0; for(i=1;i<=n;i++) t=t*60+a[i]; print t}' "$OUT/time")
    m=$(awk -F': ' '/Maximum resident set size/{print int($2/1024)}' "$OUT/time")
    # boto3's own timing (without Python start-up and imports) when it prints one.
    if [[ $name == boto3* ]]; then s=$(awk '{print $2}' "$OUT/stdout"); fi
    if [ -z "$best" ] || awk "BEGIN{exit !($s < $best)}"; then best=$s; rss=$m; fi
  done
  SECS=$best; RSS=$rss
  printf '%-44s %8.2f s %9.1f MiB/s %7d MiB RSS\n' "$name" "$SECS" "$(awk "BEGIN{print $bytes/1048576/$SECS}")" "$RSS"
}

echo "== hash"
measure "mlguard hash (local disk)" "$TREE_BYTES" "$MLG" -q hash "$OUT/tree" -o "$OUT/local.json"
H_LOCAL=$SECS
measure "mlguard hash s3://bench/tree/" "$TREE_BYTES" "$MLG" -q hash s3://bench/tree/ -o "$OUT/s3.json"
H_S3=$SECS
measure "boto3 download_fileobj -> /dev/null" "$TREE_BYTES" $PY benches/storage_peer.py download "$EP" bench tree/
H_BOTO=$SECS
cmp <(grep '"root"' "$OUT/local.json") <(grep '"root"' "$OUT/s3.json") >/dev/null ||
  { echo "roots differ between local and S3" >&2; exit 1; }

echo "== profile (Parquet)"
measure "mlguard profile (local disk)" "$PQ_BYTES" "$MLG" -q profile "$OUT/pq/table.parquet" -o "$OUT/p-local.json"
P_LOCAL=$SECS
measure "mlguard profile s3://bench/pq/table.parquet" "$PQ_BYTES" "$MLG" -q profile s3://bench/pq/table.parquet -o "$OUT/p-s3.json"
P_S3=$SECS

# moto answers a ranged GET in time proportional to the whole object (it copies the object
# per request: ~0.15 s for a 300 MB object whatever the range), so fewer, larger parts are
# cheaper against it; on real S3 a request costs the same whatever the object's size.
printf '[storage]\npart_size = "64M"\n' > "$OUT/parts64.toml"
measure "  same, [storage] part_size = 64M" "$PQ_BYTES" "$MLG" -q --config "$OUT/parts64.toml" profile s3://bench/pq/table.parquet -o "$OUT/p-s3.json"
P_S3_64=$SECS
measure "mlguard hash s3://, part_size = 64M" "$TREE_BYTES" "$MLG" -q --config "$OUT/parts64.toml" hash s3://bench/tree/ -o "$OUT/s3.json"

echo "== ratios (throughput; above 1 = mlguard from S3 is faster)"
printf '%-44s %8.2f   (target >= 1.0)\n' "hash from S3 / boto3 download" "$(awk "BEGIN{print $H_BOTO/$H_S3}")"
printf '%-44s %8.2f\n' "hash from S3 / hash of local disk" "$(awk "BEGIN{print $H_LOCAL/$H_S3}")"
printf '%-44s %8.2f   (target >= 0.7)\n' "profile of S3 Parquet / local profile" "$(awk "BEGIN{print $P_LOCAL/$P_S3}")"
printf '%-44s %8.2f   (target >= 0.7)\n' "  with part_size = 64M" "$(awk "BEGIN{print $P_LOCAL/$P_S3_64}")"
