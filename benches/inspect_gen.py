#!/usr/bin/env python3
"""Generate the benign checkpoints for benches/inspect_bench.sh (never committed as data).

    python3 benches/inspect_gen.py OUT_DIR [MB]

Writes, under OUT_DIR (MB = size of each, default 1024):
  state_dict.pkl   a plain pickle (protocol 4) of an ordered dict of float32 numpy arrays,
                   the shape of a saved state dict (what `pickle.dump(model.state_dict())`
                   of a numpy model, or joblib without compression, holds)
  model.pt         a PyTorch zip checkpoint laid out exactly as `torch.save` writes it
                   (archive/data.pkl with torch._utils._rebuild_tensor_v2 and persistent
                   storage ids, archive/data/<key> raw storages, archive/version, byteorder),
                   made without torch: the pickle references torch's names through stand-in
                   modules registered only while pickling, the storages are numpy bytes
  small/           1000 small benign pickles (dicts, lists, numpy arrays), protocols 2-5:
                   many-file throughput

Only numpy and the standard library; nothing here is ever unpickled.
"""

import collections
import io
import os
import pickle
import shutil
import sys
import types
import zipfile

import numpy as np


def tensors(total_mb, rng):
    """Layer name -> float32 array, ~total_mb MiB in all, in 32 MiB or smaller pieces."""
    out = collections.OrderedDict()
    left = total_mb << 20
    i = 0
    while left > 0:
        n = min(left, 32 << 20) // 4
        rows = max(1, n // 1024)
        out[f"layers.{i}.weight"] = rng.standard_normal((rows, n // rows), dtype=np.float32)
        out[f"layers.{i}.bias"] = np.zeros(n // rows, dtype=np.float32)
        left -= rows * (n // rows) * 4 + (n // rows) * 4
        i += 1
    return out


def write_state_dict(path, total_mb, rng):
    with open(path, "wb") as f:
        pickle.dump(tensors(total_mb, rng), f, protocol=4)


class _Storage:
    """Stand-in for a torch storage: pickled as a persistent id, like torch.save does."""

    def __init__(self, key, array):
        self.key = key
        self.array = array


def _fake_torch():
    """Modules named torch / torch._utils with the two names torch.save's pickle refers to."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # never called: nothing is unpickled
        raise RuntimeError("stand-in")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2

    class FloatStorage:
        pass

    FloatStorage.__module__ = "torch"
    FloatStorage.__qualname__ = "FloatStorage"
    torch.FloatStorage = FloatStorage
    torch._utils = utils
    return torch, utils


class _Tensor:
    def __init__(self, storage, shape):
        self.storage = storage
        self.shape = shape

    def __reduce_ex__(self, protocol):
        stride = []
        acc = 1
        for d in reversed(self.shape):
            stride.insert(0, acc)
            acc *= d
        rebuild = sys.modules["torch._utils"]._rebuild_tensor_v2
        return (
            rebuild,
            (self.storage, 0, tuple(self.shape), tuple(stride), False, collections.OrderedDict()),
        )


class _TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            torch = sys.modules["torch"]
            return ("storage", torch.FloatStorage, obj.key, "cpu", obj.array.size)
        return None


def write_torch_zip(path, total_mb, rng):
    torch, utils = _fake_torch()
    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    try:
        arrays = tensors(total_mb, rng)
        sd = collections.OrderedDict()
        storages = []
        for i, (name, a) in enumerate(arrays.items()):
            s = _Storage(str(i), a)
            storages.append(s)
            sd[name] = _Tensor(s, a.shape)
        buf = io.BytesIO()
        _TorchPickler(buf, protocol=2).dump(sd)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        z.writestr("archive/byteorder", "little")
        for s in storages:
            z.writestr(f"archive/data/{s.key}", s.array.tobytes())
        z.writestr("archive/version", "3\n")


def write_small(dirname, rng):
    shutil.rmtree(dirname, ignore_errors=True)
    os.makedirs(dirname)
    for i in range(1000):
        obj = {
            "epoch": i,
            "lr": 0.001 * (i + 1),
            "history": [float(x) for x in rng.standard_normal(64)],
            "weights": rng.standard_normal((64, 64)).astype(np.float32),
            "labels": ["cat", "dog", "bird"],
        }
        with open(os.path.join(dirname, f"ckpt_{i:04d}.pkl"), "wb") as f:
            pickle.dump(obj, f, protocol=(i % 4) + 2)


def main():
    out = sys.argv[1]
    mb = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(16)
    if not os.path.exists(os.path.join(out, "model.pt")):
        write_state_dict(os.path.join(out, "state_dict.pkl"), mb, rng)
        write_torch_zip(os.path.join(out, "model.pt"), mb, rng)
    write_small(os.path.join(out, "small"), rng)


if __name__ == "__main__":
    main()
