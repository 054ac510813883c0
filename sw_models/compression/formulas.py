"""Analytical storage sizes and compression ratios of dissertation eqs. 7.1-7.7 (§7.1.1).

M x N matrix, sparsity S (fraction of zeros), precision P, CSC count precision I, SM compression
ratio C, and S_dSM the sparsity of the decompressed (lossy) map. Logs are real-valued as printed.

Beyond the paper, a cost model of cSmap realised with a linear (EDT) decompressor and f_c = 0
(`csmap_minus_smap_per_element`, `csmap_model_bits`): the decompressor fills every cell that is
not a care bit pseudo-randomly, so about half of the unconstrained zeros decode as 1 and cost an
explicit P-bit zero (eq. 7.7). A block of n cells with c ones needs about V >= c input bits to be
solvable; it then costs V + P * f * (n - c) bits with fill f ~ 1/2, or n bits stored raw; an
all-zero block costs V (with all inputs 0 a linear decompressor outputs 0s). So cSmap can beat
Smap only where whole blocks (or most of a block) are zero: structured sparsity.
"""
from __future__ import annotations

import math


def dense_bits(m: int, n: int, p: int) -> float:
    return m * n * p


def csc_bits(m: int, n: int, s: float, p: int, i: int = 4) -> float:
    """Eq. 7.1."""
    return (1 - s) * m * n * (p + i) + (n + 1) * math.log2(m * n)


def csc_ratio(m: int, n: int, s: float, p: int, i: int = 4) -> float:
    """Eq. 7.2."""
    return p / ((n + 1) * math.log2(m * n) / (m * n) + (1 - s) * (i + p))


def smap_bits(m: int, n: int, s: float, p: int) -> float:
    """Eq. 7.3."""
    return (1 - s) * m * n * p + m * n


def smap_ratio(s: float, p: int) -> float:
    """Eq. 7.4."""
    return p / (1 + (1 - s) * p)


def csmap_bits(m: int, n: int, s: float, p: int, c: float) -> float:
    """Eq. 7.5 (pass S_dSM as s for the lossy form behind eq. 7.7)."""
    return (1 - s) * m * n * p + m * n / c


def csmap_ratio(s: float, p: int, c: float) -> float:
    """Eq. 7.6."""
    return p / (1 / c + (1 - s) * p)


def csmap_lossy_ratio(s_dsm: float, p: int, c: float) -> float:
    """Eq. 7.7: the lossy scheme stores NZW for every 1 of dSM."""
    return p / (1 / c + (1 - s_dsm) * p)


def csmap_minus_smap_per_element(p: int, v: float) -> float:
    """cSmap minus Smap bits per element on uniformly scattered zeros, with V = c (inputs equal to
    the care bits, v = V/n = 1 - S) and fill 1/2: v + P (1 - v) / 2 - 1 = (P/2 - 1)(1 - v).
    A tie at P = 2 and a loss above, whatever the sparsity."""
    return (p / 2 - 1) * (1 - v)


def csmap_model_bits(sm, bits: int, block: tuple[int, int], n_inputs: int, fill: float = 0.5,
                     raw_choice: bool = True) -> float:
    """Modelled cSmap bits of a 0/1 map `sm` (M x N): P bits per 1, one flag per block, and per
    block min(raw n, V + P * fill * zeros) when solvable (ones <= V), else n; an all-zero block
    costs V (every input 0 decodes to 0s). Not a count of an encoding: an independent estimate
    to compare with encode_csmap's exact bits."""
    import numpy as np
    sm = np.asarray(sm, dtype=bool)
    m, n = sm.shape
    bm, bn = min(block[0], m), min(block[1], n)
    total = float(bits * sm.sum())
    for i in range(0, m, bm):
        for j in range(0, n, bn):
            blk = sm[i:i + bm, j:j + bn]
            cells, ones = blk.size, int(blk.sum())
            if ones == 0:                 # homogeneous system: all inputs 0 decode to all 0s
                comp = float(n_inputs)
            else:
                comp = n_inputs + bits * fill * (cells - ones) if ones <= n_inputs else float("inf")
            total += 1 + (min(cells, comp) if raw_choice else (comp if comp < float("inf") else cells))
    return total
