"""Quantization of pruned weights to P bits, keeping the pruning zeros exactly where they are (§7.2.1).

The quantizer: symmetric, uniform, one scale per layer, round to nearest.
  scale = max|w| / Q with Q = 2^(P-1) - 1, code = round(w / scale) clipped to [-Q, Q].
A weight that survived pruning but would round to 0 is pushed to +-1 (one LSB, same sign), so the
sparsity fraction and pattern are identical at every precision, as the dissertation requires.
P = 1 is the binary case: every surviving weight becomes sign(w) * mean|w|, and the stored field is
the sign bit (1 = positive). Codes are stored as P-bit two's complement fields (P >= 2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bits import from_twos, to_twos

MIN_BITS, MAX_BITS = 1, 16


def check_bits(bits: int) -> int:
    """Validate a weight precision; raise ValueError outside 1..16."""
    if not isinstance(bits, (int, np.integer)) or not MIN_BITS <= int(bits) <= MAX_BITS:
        raise ValueError(f"precision must be an integer in {MIN_BITS}..{MAX_BITS} bits, got {bits!r}")
    return int(bits)


@dataclass
class Quantized:
    """Integer codes (same shape as the weight) and the float32 scale: weight = codes * scale."""
    codes: np.ndarray
    scale: np.float32
    bits: int

    def dequantize(self) -> np.ndarray:
        return (self.codes.astype(np.float32) * np.float32(self.scale)).astype(np.float32)


def quantize(weight: np.ndarray, bits: int) -> Quantized:
    """Quantize a pruned weight tensor to `bits` bits without moving any zero."""
    bits = check_bits(bits)
    w = np.asarray(weight, dtype=np.float32)
    nonzero = w != 0
    if not nonzero.any():
        return Quantized(np.zeros(w.shape, np.int32), np.float32(1.0), bits)
    if bits == 1:
        scale = np.float32(np.abs(w[nonzero]).mean())
        return Quantized(np.sign(w).astype(np.int32), scale, bits)
    q = (1 << (bits - 1)) - 1
    scale = np.float32(np.abs(w).max() / q)
    codes = np.clip(np.rint(w / scale), -q, q).astype(np.int32)
    lost = nonzero & (codes == 0)
    codes[lost] = np.where(w[lost] > 0, 1, -1)
    return Quantized(codes, scale, bits)


def codes_to_fields(codes: np.ndarray, bits: int) -> np.ndarray:
    """Signed codes -> unsigned P-bit fields as stored in the NZW vector."""
    if bits == 1:
        codes = np.asarray(codes)
        if (codes == 0).any():
            raise ValueError("a 1-bit weight field cannot hold a zero value")
        return (codes > 0).astype(np.uint64)
    return to_twos(codes, bits)


def fields_to_codes(fields: np.ndarray, bits: int) -> np.ndarray:
    """Unsigned P-bit fields -> signed codes (inverse of codes_to_fields)."""
    if bits == 1:
        return np.where(np.asarray(fields) > 0, 1, -1).astype(np.int64)
    return from_twos(fields, bits)
