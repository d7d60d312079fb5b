#!/usr/bin/env python3
"""Export scikit-learn's bundled (offline) datasets to CSV for mlguard's tests.

The data ships inside the scikit-learn wheel (no download): iris, wine, breast_cancer,
digits, diabetes. Output is deterministic (fixed column order, repr of floats as given).
Re-run: `pip install scikit-learn && python3 testdata/datasets/export_sklearn.py`.
"""
import csv
import os

from sklearn import datasets

HERE = os.path.dirname(os.path.abspath(__file__))

def export(name, bunch, target_name="target", classes=None):
    cols = [c.replace(" ", "_").replace("(", "").replace(")", "") for c in bunch.feature_names]
    path = os.path.join(HERE, f"{name}.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols + [target_name])
        for row, y in zip(bunch.data, bunch.target):
            label = classes[int(y)] if classes is not None else (int(y) if float(y).is_integer() else float(y))
            w.writerow([repr(float(v)) if not float(v).is_integer() else int(v) for v in row] + [label])
    print(path, len(bunch.target), "rows")

export("iris", datasets.load_iris(), "species", classes=list(datasets.load_iris().target_names))
export("wine", datasets.load_wine(), "cultivar", classes=list(datasets.load_wine().target_names))
export("breast_cancer", datasets.load_breast_cancer(), "diagnosis",
       classes=list(datasets.load_breast_cancer().target_names))
export("digits", datasets.load_digits(), "digit")
export("diabetes", datasets.load_diabetes(), "progression")
