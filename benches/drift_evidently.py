"""Evidently's default data-drift preset on one (reference, current) pair, for comparison
with `mlguard drift`. Usage: python3 drift_evidently.py REF CUR LABEL EXPECTED_COLUMN
Prints: dataset_drift(0/1) share_of_drifted_columns expected_column_drifted(0/1|-)"""
import sys
import pandas as pd
from evidently.legacy.report import Report
from evidently.legacy.metric_preset import DataDriftPreset

ref_p, cur_p, label, col = sys.argv[1:5]
read = lambda p: pd.read_parquet(p) if p.endswith(".parquet") else pd.read_csv(p)
ref, cur = read(ref_p), read(cur_p)
common = [c for c in ref.columns if c in cur.columns]
r = Report(metrics=[DataDriftPreset()])
r.run(reference_data=ref[common], current_data=cur[common])
res = r.as_dict()["metrics"]
dataset = next(m for m in res if m["metric"] == "DatasetDriftMetric")["result"]
table = next(m for m in res if m["metric"] == "DataDriftTable")["result"]
by_col = table["drift_by_columns"]
exp = "-"
if col and col in by_col:
    exp = str(int(by_col[col]["drift_detected"]))
elif col and col not in common:
    exp = "missing"
print(int(dataset["dataset_drift"]), round(dataset["share_of_drifted_columns"], 3), exp)
