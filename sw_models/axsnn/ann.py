"""The ANNs that AxSNN converts (chapter 6, §6.3.2): bias-free ReLU networks trained with torch.

Table 6.1b's MNIST networks were 784-1200-1200-10 (FC) and a 6-layer CNN on the full MNIST; ours
are smaller so the whole chapter runs on 2 CPU cores: `mnist_mlp` 784-500-500-10 (the issue's
size), `mnist_cnn` two stride-2 5x5 convolutions and a classifier (no pooling: a strided
convolution is a plain linear map, which converts exactly), `digits_mlp` 64-100-10.
Biases are left out, as in Diehl et al. (2015), so every neuron is driven by spikes only.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

ARCHS = ("mnist_mlp", "mnist_cnn", "digits_mlp")


def build(arch: str) -> nn.Module:
    """A fresh, untrained network of the named architecture."""
    if arch == "mnist_mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 500, bias=False), nn.ReLU(),
                             nn.Linear(500, 500, bias=False), nn.ReLU(), nn.Linear(500, 10, bias=False))
    if arch == "mnist_cnn":
        return nn.Sequential(nn.Conv2d(1, 12, 5, stride=2, bias=False), nn.ReLU(),
                             nn.Conv2d(12, 24, 5, stride=2, bias=False), nn.ReLU(), nn.Flatten(),
                             nn.Linear(24 * 4 * 4, 10, bias=False))
    if arch == "digits_mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 100, bias=False), nn.ReLU(),
                             nn.Linear(100, 10, bias=False))
    raise ValueError(f"unknown architecture {arch!r}; choose one of {ARCHS}")


def train(arch: str, x: np.ndarray, y: np.ndarray, epochs: int = 8, lr: float = 1e-3,
          batch_size: int = 64, seed: int = 0) -> nn.Module:
    """Adam with cross-entropy on (x, y); a seeded shuffle every epoch."""
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise ValueError("epochs and batch size must be >= 1 and lr > 0")
    torch.manual_seed(seed)
    model = build(arch)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), batch_size):
            idx = order[i:i + batch_size]
            loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def export(model: nn.Module, path: str | Path, in_shape: tuple[int, ...]) -> Path:
    """Write the model to ONNX atomically (the shared EMPIR exporter)."""
    from sw_models.empir.store import export_onnx
    return export_onnx(model, path, in_shape)


def onnx_accuracy(path: str | Path, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of an ONNX model run by onnxruntime, in [0, 1]."""
    from sw_models.onnx_io import run
    logits = run(path, x.astype(np.float32))[0]
    return float((logits.argmax(1) == y).mean())
