"""Sparsity-map (Smap) format of dissertation Fig. 7.1 (§7.1.1, eq. 7.3).

NZW holds the P-bit non-zero values in column-major order; SM is the M x N one-bit map (1 = non-zero),
stored column-major. Exact size: nnz * P + M * N bits.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bits import pack_fields, unpack_fields
from .quantize import codes_to_fields, fields_to_codes


@dataclass
class SmapEncoded:
    m: int
    n: int
    bits: int
    values: np.ndarray   # P-bit fields of the non-zeros, column-major
    sm: np.ndarray       # (M, N) bool sparsity map

    @property
    def value_bits(self) -> int:
        return int(self.values.size) * self.bits

    @property
    def location_bits(self) -> int:
        return self.m * self.n

    @property
    def total_bits(self) -> int:
        return self.value_bits + self.location_bits

    def to_bytes(self) -> bytes:
        return pack_fields(self.values, self.bits) + np.packbits(self.sm.T.ravel()).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, m: int, n: int, bits: int, n_values: int):
        nv = (n_values * bits + 7) // 8
        values = unpack_fields(data[:nv], n_values, bits)
        need = (m * n + 7) // 8
        if len(data) - nv < need:
            raise ValueError("Smap sparsity map is truncated")
        sm = np.unpackbits(np.frombuffer(data[nv:nv + need], np.uint8))[:m * n].astype(bool)
        return cls(m, n, bits, values, sm.reshape(n, m).T)


def encode_smap(codes: np.ndarray, bits: int) -> SmapEncoded:
    """Encode an (M, N) matrix of integer codes."""
    m, n = codes.shape
    flat = np.ascontiguousarray(codes.T).ravel()
    sm = codes != 0
    return SmapEncoded(m, n, bits, codes_to_fields(flat[flat != 0], bits), sm)


def decode_smap(enc: SmapEncoded) -> np.ndarray:
    """Rebuild the (M, N) code matrix."""
    if int(enc.sm.sum()) != enc.values.size:
        raise ValueError(f"Smap map has {int(enc.sm.sum())} ones but NZW has {enc.values.size} values")
    out = np.zeros(enc.m * enc.n, dtype=np.int64)
    out[np.flatnonzero(enc.sm.T.ravel())] = fields_to_codes(enc.values, enc.bits)
    return out.reshape(enc.n, enc.m).T
