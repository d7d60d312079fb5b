#!/usr/bin/env python3
"""Fan an mlguard job out over N Spark tasks and merge the parts on the driver.

    spark-submit --files /usr/local/bin/mlguard contrib/spark/mlguard_spark.py \
        --shipped mlguard --shards 64 hash s3://bucket/data/ -o data.manifest.json
    python3 contrib/spark/mlguard_spark.py --master 'local[2]' --ship ./mlguard \
        --shards 4 profile s3://bucket/train/ -o train.profile.json -- --label y
    python3 contrib/spark/mlguard_spark.py --mlguard /opt/mlguard --shards 8 \
        verify s3://bucket/data/ -- --manifest /shared/data.manifest.json

Task k runs `mlguard hash|profile|verify --shard k/N URL ... -o -` on an executor and returns
its output; the driver writes the parts to a temporary directory and runs `mlguard manifest
merge` (hash) or `mlguard profile merge` (profile) on them, which refuse a missing, duplicated
or foreign part. For verify the driver combines the parts' exit codes as docs/scale.md says
(any 3 -> 3, else any 1 -> 1, else any 2 -> 2, else 0) and prints each failing part's report.

The binary: `--mlguard PATH` is a path that exists on every executor (on the image);
`--ship PATH` sends a driver-side file to the executors with SparkContext.addFile (what
spark-submit --files does); `--shipped NAME` uses a file already sent by spark-submit --files.
Credentials are never passed on the command line: executors read the standard environment
(AWS_*, GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_*; set spark.executorEnv.* on a cluster).
Exit code: the merge's (0 written, 2 refused or a task failed), or the combined verdict.
"""

import argparse
import os
import subprocess
import sys
import tempfile


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Run mlguard hash/profile/verify --shard k/N on Spark and merge on the driver."
    )
    p.add_argument("command", choices=["hash", "profile", "verify"])
    p.add_argument("url", help="dataset prefix or path every executor can read")
    p.add_argument("--shards", type=int, required=True, help="N parts (one Spark task each)")
    p.add_argument("-o", "--output", help="merged manifest/profile, or the verify report [default: stdout]")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--mlguard", default="mlguard", help="path of the binary on every executor [default: mlguard on PATH]")
    who.add_argument("--ship", help="driver-side binary to send to the executors (SparkContext.addFile)")
    who.add_argument("--shipped", help="name of a binary sent with spark-submit --files")
    p.add_argument("--driver-mlguard", help="binary the driver runs for the merge [default: the --ship/--mlguard path]")
    p.add_argument("--master", help="Spark master, e.g. local[2] [default: from spark-submit]")
    p.add_argument("extra", nargs="*", help="after --: more mlguard flags for every task (e.g. --label y, --manifest M)")
    a = p.parse_args(argv)
    if not 1 <= a.shards <= 100000:
        p.error("--shards must be from 1 to 100000")
    return a


def run_part(k, n, binary, command, url, extra):
    """One task: `mlguard COMMAND URL --shard k/N [extra] -o -` (verify: --format json)."""
    import stat

    if binary.startswith("spark-file:"):
        from pyspark import SparkFiles

        binary = SparkFiles.get(binary[len("spark-file:"):])
        mode = os.stat(binary).st_mode
        if not mode & stat.S_IXUSR:
            os.chmod(binary, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    cmd = [binary, "--quiet", command, url, "--shard", f"{k}/{n}"] + list(extra)
    if command == "verify":
        cmd += ["--format", "json"]
    else:
        cmd += ["-o", "-"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return k, r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


def combine(codes):
    """The verdict of N verify parts: a trust failure first, then a failed gate (a change was
    found, whatever the other parts say), then an incomplete or failed part, else pass."""
    if any(c == 3 for c in codes):
        return 3
    if any(c == 1 for c in codes):
        return 1
    if any(c != 0 for c in codes):
        return 2
    return 0


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    from pyspark import SparkConf, SparkContext

    # A plain SparkContext: the job needs no SQL engine (SparkSession's start-up cost).
    conf = SparkConf().setAppName(f"mlguard {a.command} --shard */{a.shards}")
    conf.setIfMissing("spark.ui.showConsoleProgress", "false")
    if a.master:
        conf.setMaster(a.master)
    sc = SparkContext.getOrCreate(conf)
    try:
        if a.ship:
            sc.addFile(os.path.abspath(a.ship))
            binary = "spark-file:" + os.path.basename(a.ship)
            driver_bin = a.driver_mlguard or a.ship
        elif a.shipped:
            binary = "spark-file:" + a.shipped
            driver_bin = a.driver_mlguard or a.shipped
        else:
            binary = a.mlguard
            driver_bin = a.driver_mlguard or a.mlguard
        n, command, url, extra = a.shards, a.command, a.url, tuple(a.extra)
        results = (
            sc.parallelize(range(n), n)
            .map(lambda k: run_part(k, n, binary, command, url, extra))
            .collect()
        )
    finally:
        sc.stop()
    results.sort(key=lambda r: r[0])

    if command == "verify":
        code = combine([r[1] for r in results])
        out = open(a.output, "w") if a.output else sys.stdout
        for k, rc, stdout, stderr in results:
            if rc != 0:
                out.write(f"== part {k}/{n}: exit {rc}\n")
                out.write(stdout.decode("utf-8", "replace"))
                if stderr:
                    out.write(stderr)
        out.write(f"verify: {n} parts, exit codes {[r[1] for r in results]} -> {code}\n")
        if a.output:
            out.close()
        return code

    failed = [r for r in results if r[1] != 0]
    for k, rc, _, stderr in failed:
        sys.stderr.write(f"mlguard_spark: part {k}/{n} failed (exit {rc}): {stderr}")
    if failed:
        return 2
    with tempfile.TemporaryDirectory(prefix="mlguard-parts-") as tmp:
        parts = []
        for k, _, stdout, _ in results:
            p = os.path.join(tmp, f"part-{k:05d}-of-{n:05d}.json")
            with open(p, "wb") as f:
                f.write(stdout)
            parts.append(p)
        merge = ["manifest", "merge"] if command == "hash" else ["profile", "merge"]
        cmd = [driver_bin, *merge, *parts]
        if a.output:
            cmd += ["-o", a.output]
        return subprocess.run(cmd, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
