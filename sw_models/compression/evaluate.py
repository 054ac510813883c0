"""Encode every weight layer of a network in CSC, Smap and cSmap and verify the round trips (§7.2.2).

Per layer: prune (one-shot magnitude) -> quantize to P bits -> encode -> decode -> compare codes.
Network-level ratios sum the layers' bits, as §7.2.2 sums eqs. 7.1, 7.3 and 7.5 over layers.
cSmap's alpha, beta and f_c come from a grid search per network (§7.2.2), scored on exact bits.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .csc import decode_csc, encode_csc
from .csmap import CsmapParams, decode_csmap, encode_csmap
from .matrix import as_matrix
from .pruning import prune_one_shot
from .quantize import quantize
from .smap import decode_smap, encode_smap

FORMATS = ("csc", "smap", "csmap")


@dataclass
class LayerBits:
    layer: str
    m: int
    n: int
    sparsity: float
    bits: int
    fmt: str
    value_bits: int
    location_bits: int
    extra: dict

    @property
    def total_bits(self) -> int:
        return self.value_bits + self.location_bits

    @property
    def dense_bits(self) -> int:
        return self.m * self.n * self.bits


def encode_layer(name: str, codes: np.ndarray, bits: int, fmt: str, params: CsmapParams | None = None,
                 index_bits: int = 4, verify: bool = True):
    """Encode one (M, N) code matrix; return the encoding after checking the decode if `verify`."""
    if fmt == "csc":
        enc, dec = encode_csc(codes, bits, index_bits), decode_csc
    elif fmt == "smap":
        enc, dec = encode_smap(codes, bits), decode_smap
    elif fmt == "csmap":
        enc, dec = encode_csmap(codes, bits, params or CsmapParams(), where=name), decode_csmap
    else:
        raise ValueError(f"unknown format {fmt!r}; choose from {FORMATS}")
    if verify and not np.array_equal(dec(enc), codes):
        raise RuntimeError(f"{name}: {fmt} round trip is not lossless")
    return enc


def layer_bits(name: str, codes: np.ndarray, sparsity: float, bits: int, fmt: str, enc) -> LayerBits:
    m, n = codes.shape
    extra = {}
    if fmt == "csc":
        extra = {"entries": enc.n_entries, "padding": enc.n_padding}
    elif fmt == "csmap":
        p = enc.params
        extra = dict(enc.stats, alpha=p.alpha, beta=p.beta, fc=p.fc, sm_ratio=enc.sm_ratio,
                     spurious=enc.spurious, spurious_plain=enc.spurious_plain)
    return LayerBits(name, m, n, sparsity, bits, fmt, enc.value_bits, enc.location_bits, extra)


def quantized_matrices(weights: dict[str, np.ndarray], sparsity, bits: int, granularity: str = "element",
                       prune_block: tuple[int, int] = (32, 32)) -> dict[str, tuple]:
    """Prune (one-shot, whole groups of `granularity`) then quantize: name -> (codes matrix, Quantized)."""
    pruned = prune_one_shot(weights, sparsity, granularity, prune_block)
    out = {}
    for name, w in pruned.items():
        q = quantize(w, bits)
        out[name] = (as_matrix(q.codes), q)
    return out


def csmap_grid(mats: dict[str, np.ndarray], bits: int, alphas, betas, fcs, block=(32, 32),
               seed: int = 0, prefer: bool = True) -> tuple[CsmapParams, dict]:
    """Grid search of §7.2.2: the (alpha, beta, f_c) with the fewest total cSmap bits."""
    best, best_bits, scores = None, None, {}
    for a, b, fc in itertools.product(alphas, betas, fcs):
        params = CsmapParams(alpha=a, beta=b, fc=fc, block=block, seed=seed, prefer=prefer)
        total = sum(encode_layer(k, c, bits, "csmap", params, verify=False).total_bits
                    for k, c in mats.items())
        scores[(a, b, fc)] = total
        if best_bits is None or total < best_bits:
            best, best_bits = params, total
    return best, scores


def evaluate_network(weights: dict[str, np.ndarray], sparsity, bits: int,
                     formats=FORMATS, grid=((1, 2), (1, 2), (0.0, 0.5, 1.0)),
                     block=(32, 32), index_bits: int = 4, prefer: bool = True,
                     granularity: str = "element") -> tuple[list[LayerBits], dict]:
    """All layers in every format at one (sparsity, precision); returns rows and the cSmap choice.
    Pruning zeroes whole groups of `granularity`; its blocks are the cSmap blocks."""
    q = quantized_matrices(weights, sparsity, bits, granularity, block)
    mats = {k: v[0] for k, v in q.items()}
    rows, info = [], {}
    params = None
    if "csmap" in formats:
        params, scores = csmap_grid(mats, bits, *grid, block=block, prefer=prefer)
        info = {"alpha": params.alpha, "beta": params.beta, "fc": params.fc,
                "grid": {f"{a},{b},{fc}": v for (a, b, fc), v in scores.items()}}
    for name, codes in mats.items():
        s = float(np.mean(codes == 0))
        for fmt in formats:
            enc = encode_layer(name, codes, bits, fmt, params, index_bits)
            rows.append(layer_bits(name, codes, s, bits, fmt, enc))
    return rows, info
