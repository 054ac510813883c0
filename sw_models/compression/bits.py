"""Fixed-width bit fields packed into byte strings (shared by the CSC, Smap and cSmap encoders).

The sparse formats of dissertation §7.1.1 store vectors of P-bit values, I-bit counts and
ceil(log2)-bit pointers. These helpers pack such vectors MSB-first into a real bitstream so each
encoder's bit count is the length of what it actually stores.
"""
from __future__ import annotations

import numpy as np


def pack_fields(values: np.ndarray, width: int) -> bytes:
    """Pack non-negative integers, each into `width` bits, MSB first; raises if one does not fit."""
    values = np.asarray(values, dtype=np.uint64).ravel()
    if width < 1 or width > 63:
        raise ValueError(f"field width must be 1..63 bits, got {width}")
    if values.size and int(values.max()) >> width:
        raise ValueError(f"value {int(values.max())} does not fit in {width} bits")
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64)
    out = bytearray()
    for start in range(0, values.size, 1 << 20):  # bounded memory for big layers
        chunk = values[start:start + (1 << 20)]
        bits = ((chunk[:, None] >> shifts) & np.uint64(1)).astype(np.uint8).ravel()
        out += bits.tobytes()
    return np.packbits(np.frombuffer(bytes(out), dtype=np.uint8)).tobytes()


def unpack_fields(data: bytes, count: int, width: int) -> np.ndarray:
    """Inverse of pack_fields: `count` fields of `width` bits as uint64."""
    need = (count * width + 7) // 8
    if len(data) < need:
        raise ValueError(f"bitstream too short: {len(data)} bytes, need {need}")
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8, count=need))[:count * width]
    weights = (np.uint64(1) << np.arange(width - 1, -1, -1, dtype=np.uint64))
    out = np.empty(count, dtype=np.uint64)
    for start in range(0, count, 1 << 20):
        chunk = bits[start * width:(start + (1 << 20)) * width].reshape(-1, width).astype(np.uint64)
        out[start:start + chunk.shape[0]] = chunk @ weights if width else 0
    return out


def to_twos(codes: np.ndarray, width: int) -> np.ndarray:
    """Signed integer codes -> unsigned `width`-bit two's-complement fields."""
    return (np.asarray(codes, dtype=np.int64) & ((1 << width) - 1)).astype(np.uint64)


def from_twos(fields: np.ndarray, width: int) -> np.ndarray:
    """Unsigned `width`-bit two's-complement fields -> signed int64 codes."""
    f = np.asarray(fields, dtype=np.int64)
    return np.where(f >= (1 << (width - 1)), f - (1 << width), f)
