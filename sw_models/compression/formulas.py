"""Analytical storage sizes and compression ratios of dissertation eqs. 7.1-7.7 (§7.1.1).

M x N matrix, sparsity S (fraction of zeros), precision P, CSC count precision I, SM compression
ratio C, and S_dSM the sparsity of the decompressed (lossy) map. Logs are real-valued as printed.
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
