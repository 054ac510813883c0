"""Bit-packed GF(2) linear-system solving in numpy, batched over independent systems (§7.1.2).

Used by cSmap to find decompressor inputs x with G_care x = care values. Each system is a stack of
rows: bits 0..V-1 are the coefficients, bit V is the right-hand side, packed little-endian into
uint64 words. Rows are processed in priority order (incremental Gaussian elimination): a row that
is independent of the rows kept so far becomes a pivot; a dependent row is either already satisfied
or contradicts them. A contradicted *hard* row makes its system unsolvable; a contradicted *soft*
row is dropped. So hard rows always win, and soft rows are satisfied greedily in their given order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HARD, SOFT = 1, 2


@dataclass
class Elimination:
    rows: np.ndarray     # (B, R, W) reduced rows
    pivot: np.ndarray    # (B, R) pivot variable of each row, -1 if dependent
    failed: np.ndarray   # (B,) a hard row was contradicted
    n_vars: int


def _lowest_bit(words: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of (B, W) words: (has_bit, word index, bit index) of the lowest set bit."""
    nonzero = words != 0
    has = nonzero.any(axis=1)
    wi = nonzero.argmax(axis=1)
    w = words[np.arange(words.shape[0]), wi]
    lsb = w & (~w + np.uint64(1))
    bi = np.where(has, np.log2(np.maximum(lsb, 1).astype(np.float64)), 0).astype(np.int64)
    return has, wi, bi


def eliminate(rows: np.ndarray, kinds: np.ndarray, n_vars: int) -> Elimination:
    """Incremental elimination of (B, R, W) rows in order; kinds (B, R) in {0 pad, HARD, SOFT}."""
    a = rows.copy()
    b, r, w = a.shape
    var_mask = np.full(w, ~np.uint64(0), dtype=np.uint64)
    var_mask[n_vars // 64] = (np.uint64(1) << np.uint64(n_vars % 64)) - np.uint64(1)
    var_mask[n_vars // 64 + 1:] = 0
    rhs_word, rhs_shift = n_vars // 64, np.uint64(n_vars % 64)
    pivot = np.full((b, r), -1, dtype=np.int64)
    failed = np.zeros(b, dtype=bool)
    idx = np.arange(b)
    for k in range(r):
        row = a[:, k, :]
        has, wi, bi = _lowest_bit(row & var_mask)
        rhs = ((row[:, rhs_word] >> rhs_shift) & np.uint64(1)).astype(bool)
        contradiction = ~has & rhs
        failed |= contradiction & (kinds[:, k] == HARD)
        a[contradiction, k, :] = 0          # drop it (a failed system is reported, not used)
        pivot[has, k] = wi[has] * 64 + bi[has]
        if k + 1 == r or not has.any():
            continue
        below = a[:, k + 1:, :]
        col = below[idx, :, wi]             # (B, R-k-1) the pivot's word in each later row
        hit = ((col >> bi[:, None].astype(np.uint64)) & np.uint64(1)).astype(bool) & has[:, None]
        np.bitwise_xor(below, row[:, None, :], out=below, where=hit[:, :, None])
    return Elimination(a, pivot, failed, n_vars)


def back_substitute(el: Elimination, use: np.ndarray | None = None) -> np.ndarray:
    """A solution (B, V) uint8 with free variables 0, using pivot rows where `use` (B, R) is True."""
    b, r, w = el.rows.shape
    x = np.zeros((b, w), dtype=np.uint64)
    rhs_word, rhs_shift = el.n_vars // 64, np.uint64(el.n_vars % 64)
    idx = np.arange(b)
    for k in range(r - 1, -1, -1):
        p = el.pivot[:, k]
        active = p >= 0 if use is None else (p >= 0) & use[:, k]
        if not active.any():
            continue
        row = el.rows[:, k, :]
        parity = np.bitwise_count(row & x).sum(axis=1) & 1
        val = (((row[:, rhs_word] >> rhs_shift) & np.uint64(1)) ^ parity.astype(np.uint64)) & active
        pw, pb = np.maximum(p, 0) // 64, (np.maximum(p, 0) % 64).astype(np.uint64)
        x[idx, pw] |= val.astype(np.uint64) << pb
    bits = np.unpackbits(x.view(np.uint8).reshape(b, -1), axis=1, bitorder="little")
    return bits[:, :el.n_vars]


def gf2_matvec(g_rows: np.ndarray, x: np.ndarray, n_vars: int) -> np.ndarray:
    """Evaluate packed rows (..., W) on a solution x (V,) uint8: the parity of row & x per row."""
    w = g_rows.shape[-1]
    padded = np.zeros(w * 64, dtype=np.uint8)
    padded[:n_vars] = x
    xw = np.packbits(padded, bitorder="little").view(np.uint64)
    return (np.bitwise_count(g_rows & xw).sum(axis=-1) & 1).astype(np.uint8)
