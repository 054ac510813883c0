"""The M x N matrix view of a weight tensor that the sparse formats of §7.1 store.

Column p of the matrix holds the fan-in weights of output unit p (EIE-style column-major CSC):
- 2-D (out, in) weights (ONNX Gemm with transB=1, MatMul-free torch Linear) -> M = in, N = out;
- conv kernels (out, in, kh, kw) -> M = in*kh*kw, N = out;
- ONNX RNN weights (directions, gates*hidden, in) -> M = in, N = directions*gates*hidden.
"""
from __future__ import annotations

import numpy as np


def as_matrix(weight: np.ndarray) -> np.ndarray:
    """Return the (M, N) matrix view; N indexes output units."""
    w = np.asarray(weight)
    if w.ndim < 2:
        raise ValueError(f"weight of shape {w.shape} is not a matrix or kernel")
    if w.ndim == 3:  # RNN: (directions, gates*hidden, in)
        return w.reshape(-1, w.shape[-1]).T
    return w.reshape(w.shape[0], -1).T


def from_matrix(matrix: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of as_matrix for a tensor of the given shape."""
    return np.ascontiguousarray(np.asarray(matrix).T).reshape(tuple(shape))


def matrix_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    """(M, N) of as_matrix for a tensor shape, without materialising it."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 3:
        return shape[2], shape[0] * shape[1]
    return int(np.prod(shape[1:])), shape[0]
