"""Member networks of Table 8.1 with DoReFa-quantized layers, and a CIFAR-10 batch loader (§8.2.1).

MNISTconv: Conv(8x8x64, stride 2, SAME), ReLU, Conv(6x6x128, stride 2, VALID), ReLU,
           Conv(5x5x128, VALID), ReLU, FC(10)  -- the CleverHans basic CNN that EMPIR's code uses;
           on 28x28 inputs it ends in a 1x1x128 map. We run it on scikit-learn's digits upsampled
           to 28x28 (sw_models.datasets.digits(size=28)).
CIFARconv: Conv(5x5x32), ReLU, MaxPool(3x3, s2), Conv(8x8x64), ReLU, AvgPool(3x3, s2),
           Conv(8x8x64), ReLU, AvgPool(3x3, s2), FC(64), FC(10); convolutions keep the spatial size.

Quantized layers follow the authors' released TensorFlow code (github.com/sancharisen/EMPIR,
cleverhans_tutorials/tutorial_models.py, Conv2D_lowprecision and make_basic_lowprecision_cnn):

MNISTconv ("code" layout, the one the paper's MNIST numbers come from):
  * every conv layer quantizes its *input* to `abits` (DoReFa's quantize_k(clip(a, 0, 1))), the
    first one included, so a low-precision member sees the image on 2^abits levels; each conv is
    followed by a plain ReLU, and the ReLU of the last conv feeds the classifier unquantized;
  * conv weights are eq. 8.1's w_k in [-1, 1] with no extra scale, and there are no biases;
  * the final fully connected layer stays full precision (the code's `Linear`);
  * weights start as truncated normals scaled to unit L2 norm per output unit (the code's init).
  The full-precision member is the same network with no quantizers (CleverHans' basic CNN).

CIFARconv ("scaled" layout, only tested on generated data): every conv/FC layer has k-bit weights
times a constant 1/sqrt(fan_in) (a fixed per-layer scalar, not learned) and biases, and every hidden
activation is DoReFa's clip-and-quantize; input and logits stay in float. Without batch norm its
deeper stack did not train with unscaled [-1, 1] weights in our tests.
"""
from __future__ import annotations

import contextlib
import math
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .quant import FULL_PRECISION, GRAD_MODES, check_bits, quantize_activation, quantize_weight

ARCHS = ("mnistconv", "cifarconv")


class QConv2d(nn.Conv2d):
    """Conv2d whose weights are quantized to `wbits` on every forward pass.

    scale=True multiplies the k-bit weights by 1/sqrt(fan_in) (CIFARconv's "scaled" layout);
    scale=False uses eq. 8.1's w_k as they are (the authors' code, MNISTconv)."""

    def __init__(self, *args, wbits: int = FULL_PRECISION, scale: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.wbits = check_bits(wbits, "weight bits")
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, _quantized(self.weight, self.wbits, self.scale), self.bias,
                        self.stride, self.padding, self.dilation, self.groups)


class QLinear(nn.Linear):
    """Linear layer whose weights are quantized to `wbits` on every forward pass."""

    def __init__(self, *args, wbits: int = FULL_PRECISION, scale: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.wbits = check_bits(wbits, "weight bits")
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, _quantized(self.weight, self.wbits, self.scale), self.bias)


def _quantized(w: torch.Tensor, wbits: int, scale: bool) -> torch.Tensor:
    """Eq. 8.1's w_k, times 1/sqrt(fan_in) when `scale`; w itself at 32 bits."""
    if wbits == FULL_PRECISION:
        return w
    q = quantize_weight(w, wbits)
    return q / math.sqrt(w[0].numel()) if scale else q


def unit_norm_init_(weight: torch.Tensor, std: float) -> torch.Tensor:
    """The authors' init: truncated normal (2 std), then each output unit scaled to L2 norm 1."""
    with torch.no_grad():
        nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std)
        weight /= weight.flatten(1).norm(dim=1).clamp_min(1e-7).view(-1, *[1] * (weight.dim() - 1))
    return weight


class QAct(nn.Module):
    """ReLU at full precision, DoReFa's quantize_k(clip(a, 0, 1)) at `abits` < 32."""

    def __init__(self, abits: int = FULL_PRECISION):
        super().__init__()
        self.abits = check_bits(abits, "activation bits")
        self.grad = "ste"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return quantize_activation(x, self.abits, self.grad)


class MNISTconv(nn.Module):
    """Table 8.1's MNISTconv for (channels, size, size) inputs, in the authors' code layout:
    [quantize input] conv ReLU [quantize] conv ReLU [quantize] conv ReLU, full-precision FC."""

    def __init__(self, wbits: int = 32, abits: int = 32, in_shape=(1, 28, 28), n_classes: int = 10):
        super().__init__()
        c = in_shape[0]

        def conv(cin, cout, k, stride=1):
            layer = QConv2d(cin, cout, k, stride=stride, wbits=wbits, scale=False, bias=False)
            unit_norm_init_(layer.weight, 0.2 if wbits < FULL_PRECISION else 0.1)
            return layer

        def quant():   # nothing at full precision (a ReLU there would zero the gradient at 0 pixels)
            return QAct(abits) if abits < FULL_PRECISION else nn.Identity()
        self.features = nn.Sequential(
            quant(), nn.ZeroPad2d(3), conv(c, 64, 8, 2), nn.ReLU(),
            quant(), conv(64, 128, 6, 2), nn.ReLU(),
            quant(), conv(128, 128, 5), nn.ReLU(), nn.Flatten())
        self.classifier = nn.Linear(_flat_size(self.features, in_shape), n_classes, bias=False)
        unit_norm_init_(self.classifier.weight, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class CIFARconv(nn.Module):
    """Table 8.1's CIFARconv for (channels, size, size) inputs."""

    def __init__(self, wbits: int = 32, abits: int = 32, in_shape=(3, 32, 32), n_classes: int = 10):
        super().__init__()
        c = in_shape[0]
        self.features = nn.Sequential(
            nn.ZeroPad2d(2), QConv2d(c, 32, 5, wbits=wbits), QAct(abits),
            nn.MaxPool2d(3, stride=2, padding=1),
            nn.ZeroPad2d((3, 4, 3, 4)), QConv2d(32, 64, 8, wbits=wbits), QAct(abits),
            nn.AvgPool2d(3, stride=2, padding=1),
            nn.ZeroPad2d((3, 4, 3, 4)), QConv2d(64, 64, 8, wbits=wbits), QAct(abits),
            nn.AvgPool2d(3, stride=2, padding=1), nn.Flatten())
        self.classifier = nn.Sequential(
            QLinear(_flat_size(self.features, in_shape), 64, wbits=wbits), QAct(abits),
            QLinear(64, n_classes, wbits=wbits))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def _flat_size(features: nn.Module, in_shape) -> int:
    with torch.no_grad():
        return int(features(torch.zeros(1, *in_shape)).shape[1])


def build_model(arch: str, wbits: int = 32, abits: int = 32, in_shape=None,
                n_classes: int = 10) -> nn.Module:
    """A Table 8.1 network by name ('mnistconv' or 'cifarconv')."""
    check_bits(wbits, "weight bits")
    check_bits(abits, "activation bits")
    if arch == "mnistconv":
        return MNISTconv(wbits, abits, tuple(in_shape or (1, 28, 28)), n_classes)
    if arch == "cifarconv":
        return CIFARconv(wbits, abits, tuple(in_shape or (3, 32, 32)), n_classes)
    raise ValueError(f"unknown architecture {arch!r}; choose one of {ARCHS}")


@contextlib.contextmanager
def grad_mode(model: nn.Module, mode: str):
    """Temporarily set the backward rule ('ste' or 'bpda') of every activation quantizer."""
    if mode not in GRAD_MODES:
        raise ValueError(f"gradient mode must be one of {GRAD_MODES}, got {mode!r}")
    acts = [m for m in model.modules() if isinstance(m, QAct)]
    old = [a.grad for a in acts]
    for a in acts:
        a.grad = mode
    try:
        yield model
    finally:
        for a, g in zip(acts, old):
            a.grad = g


def load_cifar10(directory: str | Path):
    """Read the CIFAR-10 python batches (data_batch_1..5, test_batch) from `directory`.

    Returns (x_train, y_train, x_test, y_test): float32 NCHW in [0, 1] and int64 labels.
    Raises FileNotFoundError / ValueError naming the file and the cause.
    """
    directory = Path(directory)
    train = [directory / f"data_batch_{i}" for i in range(1, 6)]
    x_tr, y_tr = zip(*(_read_batch(p) for p in train))
    x_te, y_te = _read_batch(directory / "test_batch")
    return np.concatenate(x_tr), np.concatenate(y_tr), x_te, y_te


def _read_batch(path: Path):
    if not path.is_file():
        raise FileNotFoundError(f"{path}: CIFAR-10 batch file not found")
    try:
        with open(path, "rb") as fh:
            batch = pickle.load(fh, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except Exception as exc:
        raise ValueError(f"{path}: not a CIFAR-10 python batch ({type(exc).__name__}: {exc})") from exc
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise ValueError(f"{path}: expected data of shape (N, 3072) and N labels, "
                         f"got {data.shape} and {labels.shape}")
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{path}: labels outside 0..9")
    x = data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    return x, labels
