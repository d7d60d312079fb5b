"""Helpers for benches/storage_bench.sh.

  storage_peer.py gen-bin DIR FILES MIB          FILES random files of MIB MiB each
  storage_peer.py gen-parquet PATH ROWS RG        ROWS x 20 columns (10 float, 3 int,
                                                  5 categorical, 2 text), zstd, RG rows
                                                  per row group (needs pyarrow, numpy)
  storage_peer.py upload ENDPOINT BUCKET DIR PREFIX
  storage_peer.py download ENDPOINT BUCKET PREFIX  every object under PREFIX to /dev/null
                                                  with boto3's managed transfer
                                                  (download_fileobj: multipart, 10 threads
                                                  per object by default), objects in turn;
                                                  prints bytes and seconds
"""
import os
import sys
import time


def client(endpoint):
    import boto3
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


class Null:
    """A write-only sink: what `> /dev/null` is for a download."""

    def __init__(self):
        self.n = 0

    def write(self, b):
        self.n += len(b)
        return len(b)


def main():
    cmd = sys.argv[1]
    if cmd == "gen-bin":
        d, files, mib = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        os.makedirs(d, exist_ok=True)
        for i in range(files):
            with open(os.path.join(d, f"shard-{i:03d}.bin"), "wb") as f:
                for _ in range(mib):
                    f.write(os.urandom(1 << 20))
    elif cmd == "gen-parquet":
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq

        path, rows, rg = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        rng = np.random.default_rng(42)
        words = np.array("the a model data train loss label token value great bad fast".split())
        cols = {}
        for i in range(10):
            cols[f"f{i}"] = rng.normal(i, 1 + i / 10, rows)
        for i in range(3):
            cols[f"i{i}"] = rng.integers(0, 10 ** (i + 1), rows)
        for i in range(5):
            cats = np.array([f"c{i}_{k}" for k in range(5 * (i + 1))])
            cols[f"cat{i}"] = cats[rng.integers(0, len(cats), rows)]
        for i in range(2):
            a = words[rng.integers(0, len(words), rows)]
            b = words[rng.integers(0, len(words), rows)]
            cols[f"text{i}"] = np.char.add(np.char.add(a, " "), b)
        pq.write_table(pa.table(cols), path, compression="zstd", row_group_size=rg)
    elif cmd == "upload":
        ep, bucket, d, prefix = sys.argv[2:6]
        c = client(ep)
        try:
            c.create_bucket(Bucket=bucket)
        except c.exceptions.BucketAlreadyOwnedByYou:
            pass
        for root, _, names in os.walk(d):
            for n in sorted(names):
                p = os.path.join(root, n)
                key = f"{prefix}/{os.path.relpath(p, d)}"
                c.upload_file(p, bucket, key)
    elif cmd == "download":
        ep, bucket, prefix = sys.argv[2:5]
        c = client(ep)
        t0 = time.time()
        keys = []
        for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [o["Key"] for o in page.get("Contents", [])]
        total = 0
        for k in keys:
            sink = Null()
            c.download_fileobj(bucket, k, sink)
            total += sink.n
        print(f"{total} {time.time() - t0:.3f}")
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
