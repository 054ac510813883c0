"""Magnitude pruning: one-shot for a bare ONNX file, AGP (Zhu & Gupta 2017) with fine-tuning.

The dissertation prunes every benchmark with AGP [102] (§7.2.1); Fig. 7.5's AlexNet uses per-layer
targets. AGP raises sparsity along the cubic schedule
    s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt))^3,   t in {t0, t0 + dt, ..., t0 + n*dt},
zeroing the smallest-magnitude weights of each layer at each step and fine-tuning in between.

Granularity (beyond the paper, which prunes elements): the unit that is kept or zeroed as a whole,
ranked by its mean |w| (groups of unequal size, e.g. edge blocks, compare fairly):
  element  single weights (the paper's AGP);
  kernel   one (out, in) kernel of kh*kw weights (= element for fully connected layers);
  filter   one output channel (a column of the M x N matrix of matrix.py);
  channel  one input channel (kh*kw consecutive rows of the M x N matrix: dead input rows);
  block    one bm x bn block of the M x N matrix (the cSmap block when the sizes agree).
Whole groups are zeroed, smallest first, until at least round(s * size) weights are zero, so the
achieved sparsity is the target rounded up to whole groups. A layer with fewer than MIN_GROUPS
groups at the requested granularity (MNISTconv's conv1 has one input channel, its classifier ten
output units) is pruned by element instead: zeroing one of a handful of groups would remove a
large fraction of the layer at once.
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def check_sparsity(s: float, where: str = "") -> float:
    """Validate a sparsity fraction in [0, 1)."""
    s = float(s)
    if not 0.0 <= s < 1.0:
        raise ValueError(f"{where + ': ' if where else ''}sparsity must be in [0, 1), got {s}")
    return s


GRANULARITIES = ("element", "kernel", "filter", "channel", "block")
MIN_GROUPS = 16


def check_granularity(granularity: str) -> str:
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, got {granularity!r}")
    return granularity


def group_ids(shape: tuple[int, ...], granularity: str, block: tuple[int, int] = (32, 32)) -> np.ndarray:
    """Integer group id of every weight of a tensor of `shape` (an array of that shape).

    Layouts: conv (out, in, kh, kw), fully connected (out, in), ONNX RNN (directions, gates*hidden,
    in). An output unit is (out) or (direction, gate row); an input channel is `in`."""
    from .matrix import from_matrix, matrix_shape
    shape = tuple(int(d) for d in shape)
    check_granularity(granularity)
    if len(shape) < 2:
        raise ValueError(f"weight of shape {shape} is not a matrix or kernel")
    size = int(np.prod(shape))
    rnn = len(shape) == 3
    n_out = shape[0] * shape[1] if rnn else shape[0]
    n_in = shape[2] if rnn else shape[1]
    per_out = size // n_out                          # weights of one output unit
    if granularity == "element" or (granularity == "kernel" and len(shape) < 4):
        return np.arange(size).reshape(shape)
    if granularity == "filter":
        return (np.arange(size) // per_out).reshape(shape)
    if granularity == "channel":
        return ((np.arange(size) % per_out) // (per_out // n_in)).reshape(shape)
    if granularity == "kernel":                       # conv: one (out, in) kernel
        return (np.arange(size) // (shape[2] * shape[3])).reshape(shape)
    m, n = matrix_shape(shape)                        # block: bm x bn tiles of the M x N view
    bm, bn = min(block[0], m), min(block[1], n)
    ii, jj = np.meshgrid(np.arange(m) // bm, np.arange(n) // bn, indexing="ij")
    ids = ii * (-(-n // bn)) + jj
    return ids.T.reshape(shape) if rnn else from_matrix(ids, shape)


def structured_mask(weight: np.ndarray, sparsity: float, granularity: str = "element",
                    block: tuple[int, int] = (32, 32)) -> np.ndarray:
    """Keep-mask zeroing whole groups (smallest mean |w| first, ties by group id) until at least
    round(sparsity * size) weights are zero; `element` is magnitude_mask."""
    if check_granularity(granularity) == "element":
        return magnitude_mask(weight, sparsity)
    sparsity = check_sparsity(sparsity)
    w = np.abs(np.asarray(weight, dtype=np.float64))
    ids = group_ids(w.shape, granularity, block).ravel()
    sizes = np.bincount(ids)
    if sizes.size < MIN_GROUPS:
        return magnitude_mask(weight, sparsity)
    score = np.bincount(ids, weights=w.ravel()) / np.maximum(sizes, 1)
    order = np.argsort(score, kind="stable")
    need = int(round(sparsity * w.size))
    n_drop = int(np.searchsorted(np.cumsum(sizes[order]), need)) + 1 if need > 0 else 0
    dead = np.zeros(sizes.size, dtype=bool)
    dead[order[:n_drop]] = True
    return ~dead[ids].reshape(w.shape)


def magnitude_mask(weight: np.ndarray, sparsity: float) -> np.ndarray:
    """Boolean keep-mask zeroing exactly round(sparsity * size) smallest |w| (ties by position)."""
    sparsity = check_sparsity(sparsity)
    flat = np.abs(np.asarray(weight, dtype=np.float32)).ravel()
    k = int(round(sparsity * flat.size))
    keep = np.ones(flat.size, dtype=bool)
    if k > 0:
        keep[np.argsort(flat, kind="stable")[:k]] = False
    return keep.reshape(np.shape(weight))


def prune_one_shot(weights: dict[str, np.ndarray], sparsity: float | dict[str, float],
                   granularity: str = "element", block: tuple[int, int] = (32, 32)) -> dict[str, np.ndarray]:
    """Prune every layer by magnitude to its target (a float, or a per-layer dict), zeroing whole
    groups of the given granularity."""
    out = {}
    for name, w in weights.items():
        s = check_sparsity(sparsity[name] if isinstance(sparsity, dict) else sparsity, name)
        out[name] = np.where(structured_mask(w, s, granularity, block), w, 0).astype(w.dtype)
    return out


def agp_sparsity(t: int, s_i: float, s_f: float, t0: int, n: int, dt: int) -> float:
    """AGP's cubic schedule s_t (clamped to s_i before t0 and s_f after t0 + n*dt)."""
    if n <= 0 or dt <= 0:
        raise ValueError("AGP needs n > 0 pruning steps and a step interval dt > 0")
    frac = min(max((t - t0) / (n * dt), 0.0), 1.0)
    return s_f + (s_i - s_f) * (1.0 - frac) ** 3


def agp_prune_torch(model, targets: dict[str, float], batches: Callable[[], object],
                    loss_fn: Callable, n: int = 10, dt: int = 20, lr: float = 1e-3,
                    s_i: float = 0.0, final_steps: int = 50, granularity: str | dict[str, str] = "element",
                    block: tuple[int, int] = (32, 32)) -> dict[str, float]:
    """AGP with fine-tuning on a torch model in place; `targets` maps parameter name -> s_f.
    Each mask zeroes whole groups of `granularity` (one for all layers, or parameter name -> one;
    see the module docstring).

    `batches()` yields (x, y) tensors forever. Every dt optimizer steps the masks are recomputed at
    the scheduled sparsity; masks are re-applied after each step. Returns the achieved sparsities.
    """
    import torch
    params = dict(model.named_parameters())
    missing = [k for k in targets if k not in params]
    if missing:
        raise ValueError(f"AGP targets name unknown parameters: {missing}")
    grans = {k: granularity[k] if isinstance(granularity, dict) else granularity for k in targets}
    for g in grans.values():
        check_granularity(g)
    masks = {k: torch.ones_like(params[k], dtype=torch.bool) for k in targets}
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    it = batches()
    total = n * dt + final_steps
    for t in range(total + 1):
        if t % dt == 0 and t <= n * dt:
            for k, s_f in targets.items():
                s_t = agp_sparsity(t, s_i, s_f, 0, n, dt)
                w = params[k].detach().numpy()
                masks[k] = torch.from_numpy(structured_mask(w, s_t, grans[k], block))
        with torch.no_grad():
            for k in targets:
                params[k].mul_(masks[k])
        if t == total:
            break
        x, y = next(it)
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return {k: float((params[k] == 0).float().mean()) for k in targets}
