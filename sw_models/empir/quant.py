"""DoReFa quantization of weights and activations (dissertation eq. 8.1, §8.1.1).

    quantize_k(x) = round((2^k - 1) x) / (2^k - 1)
    w_k = 2 quantize_k(tanh(w) / (2 max|tanh(w)|) + 1/2) - 1
    a_k = quantize_k(a),  with a first clipped to [0, 1] as in DoReFa-Net

k = 32 means full precision (no quantization). Gradients:
  * "ste"  (the paper, DoReFa's TensorFlow code): round() passes the gradient unchanged; the clip to
           [0, 1] keeps its true gradient (zero outside the interval).
  * "bpda" (adaptive attacks, Athalye et al.'s Backward Pass Differentiable Approximation): the
           whole activation quantizer, clip included, is replaced by the identity on the backward pass.
While a model is being exported to ONNX the plain forward ops (Clip, Round) are emitted.
"""
from __future__ import annotations

import torch

FULL_PRECISION = 32
GRAD_MODES = ("ste", "bpda")


def check_bits(bits: int, what: str = "bit width") -> int:
    """Return `bits` if it is an integer in 1..32, else raise ValueError."""
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= FULL_PRECISION:
        raise ValueError(f"{what} must be an integer in 1..32, got {bits!r}")
    return bits


class _RoundSTE(torch.autograd.Function):
    """round() forward, identity backward (straight-through estimator)."""

    @staticmethod
    def forward(ctx, x):  # noqa: D401
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


class _ClipRoundBPDA(torch.autograd.Function):
    """quantize_k(clip(x, 0, 1)) forward, identity backward (BPDA)."""

    @staticmethod
    def forward(ctx, x, levels):
        return torch.round(torch.clamp(x, 0.0, 1.0) * levels) / levels

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def _round(x: torch.Tensor) -> torch.Tensor:
    if torch.onnx.is_in_onnx_export():
        return torch.round(x)
    return _RoundSTE.apply(x)


def quantize_k(x: torch.Tensor, k: int) -> torch.Tensor:
    """Eq. 8.1's quantize_k for x in [0, 1]; identity for k = 32."""
    check_bits(k)
    if k == FULL_PRECISION:
        return x
    levels = float(2 ** k - 1)
    return _round(x * levels) / levels


def quantize_weight(w: torch.Tensor, k: int) -> torch.Tensor:
    """Eq. 8.1's w_k: tanh-normalised weights mapped onto 2^k levels in [-1, 1]."""
    check_bits(k)
    if k == FULL_PRECISION:
        return w
    t = torch.tanh(w)
    scaled = t / (2.0 * torch.max(torch.abs(t)).clamp_min(1e-12)) + 0.5
    return 2.0 * quantize_k(scaled, k) - 1.0


def quantize_activation(a: torch.Tensor, k: int, grad: str = "ste") -> torch.Tensor:
    """Eq. 8.1's a_k = quantize_k(clip(a, 0, 1)); `grad` picks the backward rule (see module doc)."""
    check_bits(k)
    if grad not in GRAD_MODES:
        raise ValueError(f"gradient mode must be one of {GRAD_MODES}, got {grad!r}")
    if k == FULL_PRECISION:
        return torch.relu(a)
    if grad == "bpda" and not torch.onnx.is_in_onnx_export():
        return _ClipRoundBPDA.apply(a, float(2 ** k - 1))
    return quantize_k(torch.clamp(a, 0.0, 1.0), k)
