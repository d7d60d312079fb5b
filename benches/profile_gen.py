"""Generate the profile benchmark table: N rows x 20 columns (10 float, 3 int, 5 categorical,
2 text), seeded, as Parquet (zstd) and CSV. Usage: python3 profile_gen.py ROWS OUT_DIR"""
import sys, os
import numpy as np
import polars as pl

rows, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(42)
words = np.array("the a model data train loss label token value great bad fast slow red blue green alpha beta gamma delta".split())
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
    c = words[rng.integers(0, len(words), rows)]
    cols[f"text{i}"] = np.char.add(np.char.add(np.char.add(a, " "), np.char.add(b, " ")), c)
df = pl.DataFrame(cols)
df.write_parquet(f"{out}/table.parquet", compression="zstd", row_group_size=1_000_000)
df.write_csv(f"{out}/table.csv")
print(f"{rows} rows x {df.width} columns -> {out}/table.parquet, {out}/table.csv")
