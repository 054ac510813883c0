"""Magnitude pruning: one-shot for a bare ONNX file, AGP (Zhu & Gupta 2017) with fine-tuning.

The dissertation prunes every benchmark with AGP [102] (§7.2.1); Fig. 7.5's AlexNet uses per-layer
targets. AGP raises sparsity along the cubic schedule
    s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt))^3,   t in {t0, t0 + dt, ..., t0 + n*dt},
zeroing the smallest-magnitude weights of each layer at each step and fine-tuning in between.
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


def magnitude_mask(weight: np.ndarray, sparsity: float) -> np.ndarray:
    """Boolean keep-mask zeroing exactly round(sparsity * size) smallest |w| (ties by position)."""
    sparsity = check_sparsity(sparsity)
    flat = np.abs(np.asarray(weight, dtype=np.float32)).ravel()
    k = int(round(sparsity * flat.size))
    keep = np.ones(flat.size, dtype=bool)
    if k > 0:
        keep[np.argsort(flat, kind="stable")[:k]] = False
    return keep.reshape(np.shape(weight))


def prune_one_shot(weights: dict[str, np.ndarray], sparsity: float | dict[str, float]) -> dict[str, np.ndarray]:
    """Prune every layer by magnitude to its target (a float, or a per-layer dict)."""
    out = {}
    for name, w in weights.items():
        s = sparsity[name] if isinstance(sparsity, dict) else sparsity
        out[name] = np.where(magnitude_mask(w, check_sparsity(s, name)), w, 0).astype(w.dtype)
    return out


def agp_sparsity(t: int, s_i: float, s_f: float, t0: int, n: int, dt: int) -> float:
    """AGP's cubic schedule s_t (clamped to s_i before t0 and s_f after t0 + n*dt)."""
    if n <= 0 or dt <= 0:
        raise ValueError("AGP needs n > 0 pruning steps and a step interval dt > 0")
    frac = min(max((t - t0) / (n * dt), 0.0), 1.0)
    return s_f + (s_i - s_f) * (1.0 - frac) ** 3


def agp_prune_torch(model, targets: dict[str, float], batches: Callable[[], object],
                    loss_fn: Callable, n: int = 10, dt: int = 20, lr: float = 1e-3,
                    s_i: float = 0.0, final_steps: int = 50) -> dict[str, float]:
    """AGP with fine-tuning on a torch model in place; `targets` maps parameter name -> s_f.

    `batches()` yields (x, y) tensors forever. Every dt optimizer steps the masks are recomputed at
    the scheduled sparsity; masks are re-applied after each step. Returns the achieved sparsities.
    """
    import torch
    params = dict(model.named_parameters())
    missing = [k for k in targets if k not in params]
    if missing:
        raise ValueError(f"AGP targets name unknown parameters: {missing}")
    masks = {k: torch.ones_like(params[k], dtype=torch.bool) for k in targets}
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    it = batches()
    total = n * dt + final_steps
    for t in range(total + 1):
        if t % dt == 0 and t <= n * dt:
            for k, s_f in targets.items():
                s_t = agp_sparsity(t, s_i, s_f, 0, n, dt)
                w = params[k].detach().numpy()
                masks[k] = torch.from_numpy(magnitude_mask(w, s_t))
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
