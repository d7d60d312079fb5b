"""Peers for the profile benchmark. Usage: python3 profile_peers.py whylogs|polars FILE
Prints the seconds spent (read + profile) on stdout's last line."""
import sys, time

tool, path = sys.argv[1], sys.argv[2]
t0 = time.time()
if tool == "polars":
    import polars as pl
    df = pl.read_parquet(path) if path.endswith(".parquet") else pl.read_csv(path)
    d = df.describe()
elif tool == "whylogs":
    import pandas as pd
    import whylogs as why
    df = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
    r = why.log(df)
    v = r.view().to_pandas()
else:
    raise SystemExit(f"unknown tool {tool}")
print(f"{time.time() - t0:.3f}")
