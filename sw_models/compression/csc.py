"""CSC sparse format in the EIE-style variant of dissertation Fig. 7.1 (§7.1.1, eq. 7.1).

Column-major over the M x N matrix: NZW holds P-bit values, C holds I-bit counts of zeros before
each value within its column, A holds N+1 column pointers into NZW/C. A zero run longer than
2^I - 1 is split by padding entries (count 2^I - 1, value 0), each standing for 2^I positions.
Pointers use ceil(log2(M*N + 1)) bits: A[N] can equal M*N, which ceil(log2(M*N)) bits cannot hold
when M*N is a power of two. Trailing zeros of a column need no entry.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bits import pack_fields, unpack_fields
from .quantize import codes_to_fields, fields_to_codes


def pointer_bits(m: int, n: int) -> int:
    """Width of a column pointer able to hold any value 0..M*N."""
    return max(1, int(m * n).bit_length())


@dataclass
class CSCEncoded:
    m: int
    n: int
    bits: int            # P, value precision
    index_bits: int      # I, zero-count precision
    values: np.ndarray   # P-bit fields, one per entry (padding entries hold 0)
    counts: np.ndarray   # I-bit zero counts, one per entry
    pointers: np.ndarray  # N+1 entry offsets

    @property
    def n_entries(self) -> int:
        return int(self.values.size)

    @property
    def n_padding(self) -> int:
        """Padding entries hold the zero field (real values are non-zero; P = 1 never pads)."""
        return 0 if self.bits == 1 else int(self.n_entries - np.count_nonzero(self.values))

    @property
    def value_bits(self) -> int:
        return self.n_entries * self.bits

    @property
    def location_bits(self) -> int:
        return self.n_entries * self.index_bits + (self.n + 1) * pointer_bits(self.m, self.n)

    @property
    def total_bits(self) -> int:
        return self.value_bits + self.location_bits

    def to_bytes(self) -> bytes:
        """NZW, C and A as three packed bitstreams, concatenated."""
        return (pack_fields(self.values, self.bits) + pack_fields(self.counts, self.index_bits)
                + pack_fields(self.pointers, pointer_bits(self.m, self.n)))

    @classmethod
    def from_bytes(cls, data: bytes, m: int, n: int, bits: int, index_bits: int, n_entries: int):
        nv = (n_entries * bits + 7) // 8
        nc = (n_entries * index_bits + 7) // 8
        values = unpack_fields(data[:nv], n_entries, bits)
        counts = unpack_fields(data[nv:nv + nc], n_entries, index_bits)
        pointers = unpack_fields(data[nv + nc:], n + 1, pointer_bits(m, n))
        return cls(m, n, bits, index_bits, values, counts, pointers)


def encode_csc(codes: np.ndarray, bits: int, index_bits: int = 4) -> CSCEncoded:
    """Encode an (M, N) matrix of integer codes; exact entries including padding."""
    m, n = codes.shape
    if not 1 <= index_bits <= 16:
        raise ValueError(f"CSC count precision I must be 1..16 bits, got {index_bits}")
    flat = np.ascontiguousarray(codes.T).ravel()          # column-major
    nz = np.flatnonzero(flat)
    col, row = nz // m, nz % m
    prev = np.empty_like(row)
    prev[0:1] = -1
    prev[1:] = np.where(col[1:] == col[:-1], row[:-1], -1)
    run = row - prev - 1
    span = 1 << index_bits
    pads = run // span                                   # padding entries before each value
    if bits == 1 and pads.any():
        raise ValueError("CSC with 1-bit weights cannot store the zero-valued padding entries; use P >= 2")
    real_at = np.cumsum(pads + 1) - 1                    # entry index of each real value
    total = int(nz.size + pads.sum())
    counts = np.full(total, span - 1, dtype=np.uint64)
    values = np.zeros(total, dtype=np.uint64)
    counts[real_at] = (run - pads * span).astype(np.uint64)
    values[real_at] = codes_to_fields(flat[nz], bits)
    per_col = np.bincount(col, weights=pads + 1, minlength=n).astype(np.int64)
    pointers = np.concatenate([[0], np.cumsum(per_col)]).astype(np.uint64)
    return CSCEncoded(m, n, bits, index_bits, values, counts, pointers)


def decode_csc(enc: CSCEncoded) -> np.ndarray:
    """Rebuild the (M, N) code matrix; raise ValueError on an inconsistent encoding."""
    m, n, ptr = enc.m, enc.n, enc.pointers.astype(np.int64)
    if ptr.size != n + 1 or ptr[0] != 0 or np.any(np.diff(ptr) < 0) or ptr[-1] != enc.n_entries:
        raise ValueError("CSC column pointers are inconsistent with the entries")
    step = enc.counts.astype(np.int64) + 1
    cum = np.cumsum(step)
    col = np.repeat(np.arange(n), np.diff(ptr))
    base = np.concatenate([[0], cum])[ptr[:-1]]          # positions used before each column
    row = cum - 1 - base[col]
    if row.size and row.max() >= m:
        raise ValueError("CSC entry runs past the end of its column")
    out = np.zeros((m, n), dtype=np.int64)
    out[row, col] = fields_to_codes(enc.values, enc.bits)
    return out
