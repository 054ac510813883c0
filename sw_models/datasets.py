"""Built-in datasets that ship with installed packages, so nothing is downloaded at run time.

`digits` is scikit-learn's 8x8 handwritten digits (1797 images), optionally upsampled to 28x28 so
MNIST topologies (Table 8.1's MNISTconv) apply unchanged.
"""
from __future__ import annotations

import numpy as np


def digits(size: int = 8, test_fraction: float = 0.25, seed: int = 0):
    """Return (x_train, y_train, x_test, y_test); x is float32 NCHW in [0, 1], y is int64."""
    from sklearn.datasets import load_digits
    if size < 8:
        raise ValueError(f"digits: size must be >= 8, got {size}")
    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[:, None, :, :]
    if size != 8:
        import torch
        import torch.nn.functional as F
        x = F.interpolate(torch.from_numpy(x), size=(size, size), mode="bilinear",
                          align_corners=False).numpy()
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(len(y) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]
