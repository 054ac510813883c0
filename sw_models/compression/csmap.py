"""Compressed sparsity map (cSmap) format, realised with EDT-style test-pattern compression (§7.1.2).

SM is partitioned into blocks of m x n. Each block becomes one "pattern" of a DUT with alpha*m scan
chains of length about beta*n; element (i, j) maps to scan cell (alpha*i, beta*j + i % alpha), the
strided and staggered mapping of §7.1.2; other cells are don't-cares. Care bits are every 1 of the
block plus a fraction f_c of its 0s (the lossy scheme of Fig. 7.2). The decompressor inputs that
produce the care bits are found by solving G_care x = care over GF(2) (gf2.py). The remaining 0s
are soft: the solver satisfies them greedily where the system leaves freedom (beyond the paper;
`prefer=False` leaves free inputs at 0, as plain EDT fill would). A block whose care bits cannot be
met is stored raw (EDT's bypass), flagged by one bit per block; so is a block whose compressed
cost (decompressor inputs + P bits per spurious 1) exceeds its raw size (`raw_choice`, beyond the
paper). E is chosen per layer on a sample of blocks, searched below and above an estimate.

Cost model (documented in formulas.csmap_minus_smap_per_element and checked by
benchmarks/compression_structured.py): a linear decompressor fills unconstrained cells at about
one half, so with f_c = 0 a block of n cells with c ones and z zeros costs about V + P z / 2 bits
(V inputs, V >= c to be solvable) against Smap's n. On uniformly scattered zeros V ~ c gives
cSmap - Smap ~ (P/2 - 1)(1 - v) bits per element (v = V / n): a tie at P = 2, a loss above. Only
structure wins: an all-zero block costs V (solved with every input 0) instead of n.

Stored bits: location = per-block flag + E*(warmup+T) inputs (or the raw block); values = P bits for
every 1 of the decompressed map dSM, so 0s that decode as 1 cost an explicit zero value (eq. 7.7).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .bits import pack_fields, unpack_fields
from .edt import Decompressor, lfsr_length_for
from .gf2 import HARD, SOFT, back_substitute, eliminate
from .quantize import codes_to_fields, fields_to_codes


@dataclass(frozen=True)
class CsmapParams:
    alpha: int = 1
    beta: int = 1
    fc: float = 0.0          # fraction of SM zeros that are care bits
    block: tuple[int, int] = (32, 32)
    channels: int | None = None   # E; None = chosen per layer
    warmup: int | None = None     # initial cycles; None = ceil(L / E), enough to fill the LFSR
    seed: int = 0
    prefer: bool = True      # prefer solutions with fewer spurious 1s
    raw_choice: bool = True  # store a solvable block raw when that is cheaper

    def check(self, where: str = "") -> None:
        pre = f"{where}: " if where else ""
        if self.alpha < 1 or self.beta < 1:
            raise ValueError(f"{pre}alpha and beta must be >= 1, got {self.alpha}, {self.beta}")
        if not 0.0 <= self.fc <= 1.0:
            raise ValueError(f"{pre}f_c must be in [0, 1], got {self.fc}")
        if self.block[0] < 2 or self.block[1] < 2:
            raise ValueError(f"{pre}cSmap blocks must be at least 2x2, got {self.block}")


@dataclass
class Layout:
    """Block partition of an M x N map and the DUT each block is mapped onto."""
    m: int
    n: int
    bm: int
    bn: int
    alpha: int
    beta: int

    @property
    def grid(self) -> tuple[int, int]:
        return -(-self.m // self.bm), -(-self.n // self.bn)

    @property
    def n_blocks(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def chains(self) -> int:
        return self.alpha * self.bm

    @property
    def cycles(self) -> int:
        return self.beta * (self.bn - 1) + min(self.alpha, self.bm)

    def cell_ids(self) -> np.ndarray:
        """(bm, bn) index of each block element's scan cell in G's flattened (T, S) rows."""
        i, j = np.meshgrid(np.arange(self.bm), np.arange(self.bn), indexing="ij")
        chain, cycle = self.alpha * i, self.beta * j + i % self.alpha
        return cycle * self.chains + chain

    def padded(self, sm: np.ndarray) -> np.ndarray:
        """sm zero-padded to whole blocks."""
        gm, gn = self.grid
        pad = np.zeros((gm * self.bm, gn * self.bn), dtype=np.uint8)
        pad[:self.m, :self.n] = sm
        return pad

    def valid(self, which: np.ndarray) -> np.ndarray:
        """(B, bm, bn) mask of block cells that lie inside the matrix."""
        bi, bj = np.divmod(np.asarray(which), self.grid[1])
        rows_ok = (bi[:, None] * self.bm + np.arange(self.bm)) < self.m
        cols_ok = (bj[:, None] * self.bn + np.arange(self.bn)) < self.n
        return rows_ok[:, :, None] & cols_ok[:, None, :]

    def blocks(self, padded: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Blocks `which` of a padded map as (B, bm, bn) bits, plus their validity masks."""
        bi, bj = np.divmod(np.asarray(which), self.grid[1])
        rows = bi[:, None] * self.bm + np.arange(self.bm)
        cols = bj[:, None] * self.bn + np.arange(self.bn)
        return padded[rows[:, :, None], cols[:, None, :]], self.valid(which)


def make_layout(m: int, n: int, params: CsmapParams, where: str = "") -> Layout:
    params.check(where)
    if m < 2 or n < 2:
        raise ValueError(f"{where + ': ' if where else ''}layer matrix {m}x{n} is too small to "
                         f"partition into cSmap blocks (needs at least 2x2)")
    return Layout(m, n, min(params.block[0], m), min(params.block[1], n), params.alpha, params.beta)


def make_decompressor(layout: Layout, channels: int, params: CsmapParams) -> Decompressor:
    length = lfsr_length_for(channels)
    warmup = params.warmup if params.warmup is not None else -(-length // channels)
    return Decompressor(length, channels, layout.chains, layout.cycles, warmup, params.seed)


@dataclass
class SolveResult:
    inputs: np.ndarray       # (B, V) decompressor inputs
    failed: np.ndarray       # (B,) bypass needed
    spurious: int            # 1s decoded at SM zeros, with the chosen fill
    spurious_plain: int      # the same with free inputs at 0 (no preference)
    per_block: np.ndarray | None = None   # (B,) spurious 1s of each block (0 where failed)
    per_block_plain: np.ndarray | None = None


def _care_rows(sm_blocks, valid, care_rng, fc, soft_cap):
    """Per block: hard element indices (ones, then f_c zeros) and soft zero indices (capped)."""
    flat, ok = sm_blocks.reshape(len(sm_blocks), -1), valid.reshape(len(valid), -1)
    hard, soft = [], []
    for b in range(len(flat)):
        ones = np.flatnonzero(flat[b] & ok[b])
        zeros = np.flatnonzero((flat[b] == 0) & ok[b])
        pick = care_rng.random(zeros.size) < fc
        hard.append(np.concatenate([ones, zeros[pick]]))
        rest = zeros[~pick]
        soft.append(care_rng.permutation(rest)[:soft_cap])
    return hard, soft


def solve_blocks(sm_blocks: np.ndarray, valid: np.ndarray, layout: Layout, dec: Decompressor,
                 g: np.ndarray, params: CsmapParams, rng: np.random.Generator) -> SolveResult:
    """Find decompressor inputs for a batch of blocks (bypass flags where impossible)."""
    b = len(sm_blocks)
    n_vars = dec.n_inputs
    g_flat = g.reshape(-1, g.shape[-1])
    cell = layout.cell_ids().ravel()
    if n_vars >= layout.bm * layout.bn:        # no gain possible over the raw block: bypass all
        zero = np.zeros(b, np.int64)
        return SolveResult(np.zeros((b, n_vars), np.uint8), np.ones(b, bool), 0, 0, zero, zero)
    # about two soft rows per free input suffice for the greedy fill; more only costs time
    ones_zeros = sm_blocks.reshape(b, -1), valid.reshape(b, -1)
    min_hard = int(((ones_zeros[0] == 1) & ones_zeros[1]).sum(axis=1).min()
                   + params.fc * ((ones_zeros[0] == 0) & ones_zeros[1]).sum(axis=1).min())
    soft_cap = min(n_vars, 2 * max(0, n_vars - min_hard)) + 16 if params.prefer else 0
    hard, soft = _care_rows(sm_blocks, valid, rng, params.fc, soft_cap)
    n_rows = max(len(h) for h in hard) + max([len(s) for s in soft] + [0])
    rows = np.zeros((b, max(n_rows, 1), g.shape[-1]), dtype=np.uint64)
    kinds = np.zeros(rows.shape[:2], dtype=np.int8)
    flat = sm_blocks.reshape(b, -1)
    rhs_word, rhs_bit = n_vars // 64, np.uint64(1) << np.uint64(n_vars % 64)
    hmax = max(len(h) for h in hard)
    for k in range(b):
        h, s = hard[k], soft[k]
        rows[k, :len(h)] = g_flat[cell[h]]
        rows[k, :len(h), rhs_word] |= np.where(flat[k, h] == 1, rhs_bit, np.uint64(0))
        rows[k, hmax:hmax + len(s)] = g_flat[cell[s]]   # soft rows ask for 0: rhs stays 0
        kinds[k, :len(h)] = HARD
        kinds[k, hmax:hmax + len(s)] = SOFT
    el = eliminate(rows, kinds, n_vars)
    x = back_substitute(el)
    x_plain = back_substitute(el, use=kinds == HARD) if params.prefer else x
    per_block = _count_spurious(x, sm_blocks, valid, layout, dec, el.failed)
    plain = _count_spurious(x_plain, sm_blocks, valid, layout, dec, el.failed)
    return SolveResult(x, el.failed, int(per_block.sum()), int(plain.sum()), per_block, plain)


def _count_spurious(x, sm_blocks, valid, layout, dec, failed) -> np.ndarray:
    """(B,) 1s decoded at SM zeros per block; 0 for failed (raw) blocks."""
    dsm = expand_blocks(x, layout, dec)
    return np.where(failed, 0, ((dsm == 1) & (sm_blocks == 0) & valid).sum(axis=(1, 2)))


def block_choice(res: SolveResult, valid: np.ndarray, n_inputs: int, bits: int,
                 raw_choice: bool) -> np.ndarray:
    """(B,) True where a block is stored raw: unsolvable, or (raw_choice) raw is cheaper than its
    inputs plus P bits per spurious 1."""
    raw = res.failed.copy()
    if raw_choice:
        raw |= valid.sum(axis=(1, 2)) < n_inputs + bits * res.per_block
    return raw


def expand_blocks(x: np.ndarray, layout: Layout, dec: Decompressor) -> np.ndarray:
    """Run the decompressor on (B, V) inputs and gather each block's (bm, bn) elements."""
    inputs = x.reshape(len(x), dec.warmup + dec.cycles, dec.channels)
    cells = dec.decompress(inputs)                       # (B, S, T)
    i, j = np.meshgrid(np.arange(layout.bm), np.arange(layout.bn), indexing="ij")
    return cells[:, layout.alpha * i, layout.beta * j + i % layout.alpha]


@dataclass
class CsmapEncoded:
    m: int
    n: int
    bits: int
    params: CsmapParams
    channels: int
    bypass: np.ndarray       # (n_blocks,) bool
    inputs: np.ndarray       # (n_solved, V) uint8 decompressor inputs
    raw: np.ndarray          # concatenated in-matrix bits of bypassed blocks, uint8
    values: np.ndarray       # P-bit fields for every 1 of dSM, column-major
    spurious: int = 0
    spurious_plain: int = 0
    stats: dict = field(default_factory=dict)

    def layout(self) -> Layout:
        return make_layout(self.m, self.n, self.params)

    @property
    def location_bits(self) -> int:
        return int(self.bypass.size + self.inputs.size + self.raw.size)

    @property
    def value_bits(self) -> int:
        return int(self.values.size) * self.bits

    @property
    def total_bits(self) -> int:
        return self.location_bits + self.value_bits

    @property
    def sm_ratio(self) -> float:
        """C of eq. 7.5: SM bits over compressed-map bits."""
        return self.m * self.n / self.location_bits

    def to_bytes(self) -> bytes:
        parts = [np.packbits(self.bypass.astype(np.uint8)), np.packbits(self.inputs.ravel()),
                 np.packbits(self.raw)]
        return b"".join(p.tobytes() for p in parts) + pack_fields(self.values, self.bits)

    @classmethod
    def from_bytes(cls, data: bytes, m: int, n: int, bits: int, params: CsmapParams, channels: int,
                   n_values: int, n_raw: int):
        lay = make_layout(m, n, params)
        dec = make_decompressor(lay, channels, params)
        nb = lay.n_blocks
        off = 0

        def take(nbits):
            nonlocal off
            nbytes = (nbits + 7) // 8
            if off + nbytes > len(data):
                raise ValueError("cSmap stream is truncated")
            out = np.unpackbits(np.frombuffer(data[off:off + nbytes], np.uint8))[:nbits]
            off += nbytes
            return out

        bypass = take(nb).astype(bool)
        inputs = take(int((~bypass).sum()) * dec.n_inputs).reshape(-1, dec.n_inputs)
        raw = take(n_raw)
        values = unpack_fields(data[off:], n_values, bits)
        return cls(m, n, bits, params, channels, bypass, inputs, raw, values)


def _choose_channels(padded, lay, params, bits, rng) -> tuple[int, bool]:
    """E minimising the exact bits of a sample of blocks (flags, inputs or raw blocks, P bits per
    spurious 1): the estimate mean(care bits) / T and the powers of two up to the largest useful E
    are tried, then a hill climb down and up from the best until two steps in a row are worse.
    Also returns whether that beats storing every block raw on the sample."""
    sample = np.sort(rng.choice(lay.n_blocks, size=min(lay.n_blocks, 24), replace=False))
    blocks, valid = lay.blocks(padded, sample)
    ones = (blocks & valid).sum(axis=(1, 2))
    zeros = ((blocks == 0) & valid).sum(axis=(1, 2))
    e_max = min(128, max(1, -(-lay.bm * lay.bn // lay.cycles)))
    e0 = max(1, min(e_max, int(np.mean(ones + params.fc * zeros)) // lay.cycles))
    raw_cost = len(sample) + valid.sum()
    costs: dict[int, float] = {}

    def cost(e: int) -> float:
        if e not in costs:
            dec = make_decompressor(lay, e, params)
            res = solve_blocks(blocks, valid, lay, dec, dec.symbolic(), params, np.random.default_rng(1))
            raw = block_choice(res, valid, dec.n_inputs, bits, params.raw_choice)
            costs[e] = float(len(sample) + (~raw).sum() * dec.n_inputs + valid[raw].sum()
                             + bits * res.per_block[~raw].sum())
        return costs[e]

    coarse = sorted({e0, *(2 ** k for k in range(8) if 2 ** k <= e_max)})
    for e in coarse:                          # powers of two below and above the estimate
        cost(e)
    for step in (-1, 1):                      # then hill-climb both ways from the best of them
        e = min(costs, key=lambda k: (costs[k], k))
        worse, best_here = 0, costs[e]
        while 1 <= e + step <= e_max and worse < 2:
            e += step
            if cost(e) < best_here:
                best_here, worse = cost(e), 0
            else:
                worse += 1
    best = min(costs, key=lambda e: (costs[e], e))
    return best, costs[best] < raw_cost


def encode_csmap(codes: np.ndarray, bits: int, params: CsmapParams = CsmapParams(),
                 where: str = "", chunk: int = 2048) -> CsmapEncoded:
    """Encode an (M, N) code matrix; 1-bit layers are forced lossless (no zero code to spare)."""
    m, n = codes.shape
    if bits == 1 and (params.fc < 1 or params.prefer):
        params = CsmapParams(params.alpha, params.beta, 1.0, params.block, params.channels,
                             params.warmup, params.seed, prefer=False, raw_choice=params.raw_choice)
    lay = make_layout(m, n, params, where)
    sm = (codes != 0).astype(np.uint8)
    padded = lay.padded(sm)
    rng = np.random.default_rng(params.seed)
    worthwhile = True
    if params.channels:
        channels = params.channels
    else:
        channels, worthwhile = _choose_channels(padded, lay, params, bits, rng)
    dec = make_decompressor(lay, channels, params)
    g = dec.symbolic() if worthwhile else None
    bypass = np.zeros(lay.n_blocks, dtype=bool)
    inputs, raws = [np.zeros((0, dec.n_inputs), np.uint8)], []
    spurious = spurious_plain = 0
    for start in range(0, lay.n_blocks if worthwhile else 0, chunk):
        which = np.arange(start, min(start + chunk, lay.n_blocks))
        blocks, valid = lay.blocks(padded, which)
        res = solve_blocks(blocks, valid, lay, dec, g, params, rng)
        raw = block_choice(res, valid, dec.n_inputs, bits, params.raw_choice)
        bypass[which] = raw
        inputs.append(res.inputs[~raw])
        raws.extend(blocks[k][valid[k]] for k in np.flatnonzero(raw))
        spurious += int(res.per_block[~raw].sum())
        spurious_plain += int(res.per_block_plain[~raw].sum())
    if not worthwhile:                        # raw storage of every block is cheaper (EDT bypass)
        bypass[:] = True
        raws = [padded[:m, :n][_rows_cols(lay, k)].ravel() for k in range(lay.n_blocks)]
    enc = CsmapEncoded(m, n, bits, params, channels, bypass,
                       np.concatenate(inputs).astype(np.uint8),
                       np.concatenate(raws).astype(np.uint8) if raws else np.zeros(0, np.uint8),
                       np.zeros(0, np.uint64), spurious, spurious_plain)
    dsm = decode_map(enc)
    if np.any(sm.astype(bool) & ~dsm):
        raise RuntimeError(f"{where}: cSmap decoded map misses a non-zero (solver bug)")
    enc.values = codes_to_fields(np.ascontiguousarray(codes.T).ravel()[dsm.T.ravel()], bits)
    enc.stats = {"channels": channels, "lfsr": dec.length, "chains": dec.chains, "cycles": dec.cycles,
                 "blocks": lay.n_blocks, "bypassed": int(bypass.sum()), "dsm_ones": int(dsm.sum())}
    return enc


def _rows_cols(lay: Layout, k: int) -> tuple[slice, slice]:
    """The in-matrix slice of block k (row-major raw order, as blocks()[valid] gives)."""
    bi, bj = divmod(k, lay.grid[1])
    return (slice(bi * lay.bm, min((bi + 1) * lay.bm, lay.m)), slice(bj * lay.bn, min((bj + 1) * lay.bn, lay.n)))


def decode_map(enc: CsmapEncoded, chunk: int = 4096) -> np.ndarray:
    """The decompressed sparsity map dSM (M, N) bool."""
    lay = enc.layout()
    dec = make_decompressor(lay, enc.channels, enc.params)
    gm, gn = lay.grid
    out = np.zeros((gm * lay.bm, gn * lay.bn), dtype=bool)
    solved = np.flatnonzero(~enc.bypass)
    if solved.size != len(enc.inputs):
        raise ValueError("cSmap: bypass flags disagree with the number of compressed blocks")
    for start in range(0, solved.size, chunk):
        which = solved[start:start + chunk]
        blk = expand_blocks(enc.inputs[start:start + chunk], lay, dec).astype(bool)
        _scatter(out, blk, which, lay)
    raw_off = 0
    for k in np.flatnonzero(enc.bypass):
        valid = lay.valid(np.array([k]))
        cnt = int(valid.sum())
        if raw_off + cnt > enc.raw.size:
            raise ValueError("cSmap: raw (bypassed) blocks are truncated")
        blk = np.zeros((1, lay.bm, lay.bn), dtype=bool)
        blk[valid] = enc.raw[raw_off:raw_off + cnt].astype(bool)
        raw_off += cnt
        _scatter(out, blk, np.array([k]), lay)
    return out[:lay.m, :lay.n]


def _scatter(out, blocks, which, lay) -> None:
    bi, bj = np.divmod(which, lay.grid[1])
    rows = bi[:, None] * lay.bm + np.arange(lay.bm)
    cols = bj[:, None] * lay.bn + np.arange(lay.bn)
    out[rows[:, :, None], cols[:, None, :]] = blocks


def decode_csmap(enc: CsmapEncoded) -> np.ndarray:
    """Rebuild the (M, N) code matrix; explicit zero values at spurious 1s restore the zeros."""
    dsm = decode_map(enc)
    if int(dsm.sum()) != enc.values.size:
        raise ValueError(f"cSmap: dSM has {int(dsm.sum())} ones but NZW has {enc.values.size} values")
    out = np.zeros(enc.m * enc.n, dtype=np.int64)
    out[np.flatnonzero(dsm.T.ravel())] = fields_to_codes(enc.values, enc.bits)
    return out.reshape(enc.n, enc.m).T
