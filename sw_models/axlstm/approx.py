"""AxLSTM's two approximations (dissertation sections 5.1.2 and 5.1.3).

Input Analyzer (DTS, Fig. 5.2), placed in front of the encoder:
* StateEffect: a symbol's effect is the L2 norm of the change of the encoder state it causes, averaged
  over its occurrences in the training set. The state is the concatenated (h, c) of *all* encoder layers,
  because the decoder is initialised from all of them: that whole vector is the context. Symbols are
  sorted by increasing effect, and a quality level skips a prefix of that list; at run time the IA is a
  set lookup per symbol (the paper's table lookup).
* InputDiff: a frame is skipped when its mean absolute difference from the *last frame the encoder
  processed* is under DiffThres. Comparing with the last processed frame rather than the immediately
  preceding one bounds what the encoder has not seen: a slow drift cannot be skipped frame after frame.
  The first frame is always processed.
A skipped symbol is removed before encoding, so the encoder carries (h, c) forward and does nothing else.

State Minimizer (DSR, Fig. 5.3), at the encoder-decoder boundary, once per batch:
* the context examined is the encoder's final (h, c) of each layer, and a unit's magnitude is
  C[i] = max(|h_i|, |c_i|): the decoder starts from both, and a unit whose output gate is nearly closed
  (small h) can still hold a large cell value. Judging by h alone, as a first version did, dropped such
  units and cost far more BLEU for the same state size (nmt1, no retraining: 90% of the units kept gave
  BLEU 91.8 by h, 92% kept gave 94.2 by max(|h|, |c|));
* relative thresholding (eq. 5.1): unit i is dropped when C[i] < relThres * max_i C[i] (magnitudes:
  the signed form would drop every negative unit, however large);
* absolute thresholding (eq. 5.2): unit i is dropped when C[i] < absThres;
* a unit is kept when any sequence of the batch keeps it (the union); each layer keeps at least one unit;
* the decoder's gate matrices (input and recurrent), biases, state and output projection are sliced once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .engine import Stats, Weights, cell, clock, decode_beam, decode_greedy, encode, slice_decoder


def state_effect(w: Weights, sources: list[list[int]], batch: int = 256) -> dict[int, float]:
    """Average L2 change of the concatenated (h, c) of all encoder layers caused by each symbol."""
    total: dict[int, float] = {}
    count: dict[int, int] = {}
    for start in range(0, len(sources), batch):
        chunk = sorted(sources[start:start + batch], key=len, reverse=True)
        h = [np.zeros((len(chunk), l.hidden), np.float32) for l in w.enc]
        c = [a.copy() for a in h]
        for t in range(len(chunk[0]) if chunk else 0):
            n = sum(1 for s in chunk if len(s) > t)
            ids = [s[t] for s in chunk[:n]]
            x, sq = w.enc_emb[ids], np.zeros(n, np.float64)
            for l, layer in enumerate(w.enc):
                nh, nc, _ = cell(layer, x, h[l][:n], c[l][:n])
                sq += ((nh - h[l][:n]) ** 2).sum(1) + ((nc - c[l][:n]) ** 2).sum(1)
                h[l][:n], c[l][:n], x = nh, nc, nh
            for sym, d in zip(ids, np.sqrt(sq)):
                total[sym] = total.get(sym, 0.0) + float(d)
                count[sym] = count.get(sym, 0) + 1
    return {s: total[s] / count[s] for s in total}


def sorted_symbols(effect: dict[int, float], protected: set[int]) -> list[int]:
    """Symbols in increasing order of effect, leaving out protected ones (specials)."""
    return [s for s in sorted(effect, key=lambda s: (effect[s], s)) if s not in protected]


@dataclass
class InputAnalyzer:
    """DTS filter: `skip` symbol ids (StateEffect) or `diff_thres` (InputDiff) for frames."""
    skip: frozenset[int] = frozenset()
    diff_thres: float = 0.0

    def __post_init__(self):
        if not 0.0 <= self.diff_thres <= 1.0:
            raise ValueError(f"diff_thres: must lie in [0, 1] (frames are in [0, 1]), got {self.diff_thres}")

    def filter(self, source):
        if isinstance(source, np.ndarray):
            return source if self.diff_thres == 0 else input_diff_keep(source, self.diff_thres)
        skip = self.skip
        return [s for s in source if s not in skip] if skip else source


def input_diff_keep(frames: np.ndarray, thres: float) -> np.ndarray:
    """Frames kept by InputDiff (mean absolute difference from the last kept frame >= thres).

    While the previous frame was kept, the comparison is with it: all consecutive differences come
    from one vectorised pass. After a skipped frame, one comparison of all later frames with the last
    kept one finds the next kept frame. So the numpy calls scale with the runs of skipped frames."""
    limit = thres * frames.shape[1]
    step = np.abs(np.diff(frames, axis=0)).sum(axis=1).tolist()     # step[t - 1]: frame t vs t - 1
    kept, t = [0], 1
    while t < len(frames):                                           # invariant: kept[-1] == t - 1
        if step[t - 1] >= limit:
            kept.append(t)
            t += 1
            continue
        far = np.flatnonzero(np.abs(frames[t + 1:] - frames[kept[-1]]).sum(axis=1) >= limit)
        if not len(far):
            break
        t += 1 + int(far[0])
        kept.append(t)
        t += 1
    return frames[kept]


MAX_ABS_THRES = 10.0   # |c| is not bounded by 1, so absThres may exceed 1; beyond 10 it is surely a mistake


@dataclass
class StateMinimizer:
    """DSR thresholds: one per decoder layer (or one for all); mode 'abs' (eq. 5.2) or 'rel' (eq. 5.1)."""
    thresholds: list[float] = field(default_factory=lambda: [0.0])
    mode: str = "abs"

    def __post_init__(self):
        if self.mode not in ("abs", "rel"):
            raise ValueError(f"DSR mode: 'abs' or 'rel', got {self.mode!r}")
        top = 1.0 if self.mode == "rel" else MAX_ABS_THRES
        for t in self.thresholds:
            if not 0.0 <= t <= top:
                raise ValueError(f"DSR threshold ({self.mode}): must lie in [0, {top:g}], got {t}")

    def per_layer(self, layers: int) -> list[float]:
        if len(self.thresholds) not in (1, layers):
            raise ValueError(f"DSR thresholds: give 1 or {layers} values, got {len(self.thresholds)}")
        return self.thresholds * layers if len(self.thresholds) == 1 else list(self.thresholds)

    @property
    def active(self) -> bool:
        return any(t > 0 for t in self.thresholds)

    def masks(self, h: list[np.ndarray], c: list[np.ndarray]) -> list[np.ndarray]:
        """Per-sequence keep masks [B, H] (bool) for each layer."""
        out = []
        for a, b, t in zip(h, c, self.per_layer(len(h))):
            mag = np.maximum(np.abs(a), np.abs(b))
            ref = t * mag.max(axis=1, keepdims=True) if self.mode == "rel" else t
            keep = mag >= ref
            keep[np.arange(len(a)), mag.argmax(axis=1)] = True       # never an empty state
            out.append(keep)
        return out

    def keep(self, h: list[np.ndarray], c: list[np.ndarray]) -> list[np.ndarray]:
        """Indices kept per layer: the union over the batch."""
        return [np.flatnonzero(m.any(axis=0)) for m in self.masks(h, c)]


def infer(w: Weights, sources: list, ia: InputAnalyzer | None = None, sm: StateMinimizer | None = None,
          max_len: int = 40, beam: int = 0, stats: Stats | None = None) -> tuple[list[list[str]], Stats]:
    """One batch through IA -> encoder -> SM -> decoder, with every phase timed and counted."""
    stats = stats if stats is not None else Stats()
    if ia is not None:
        t0 = clock()
        sources = [ia.filter(s) for s in sources]
        stats.t_ia += clock() - t0
    h, c = encode(w, sources, stats)
    dw = w
    if sm is not None and sm.active:
        t0 = clock()
        keep = sm.keep(h, c)
        dw = slice_decoder(w, keep)
        h = [a[:, k] for a, k in zip(h, keep)]
        c = [a[:, k] for a, k in zip(c, keep)]
        stats.t_sm += clock() - t0
    stats.kept_units.append(sum(len(a[0]) for a in h))
    out = (decode_beam(dw, h, c, max_len, beam, stats) if beam > 1 else decode_greedy(dw, h, c, max_len, stats))
    return out, stats
