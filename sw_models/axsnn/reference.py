"""A dense, per-step, per-neuron LIF + AxSNN computation: the tests' independent oracle (ch. 6).

It shares no code with `simulate`: dense weight matrices, ranks recomputed with argsort, the
controller written as plain loops over neurons, one image at a time. It is slow and meant for
small networks only. Semantics are those documented in `simulate` (eq. 3.4 with same-step
propagation, spike at V >= threshold, reset to the reset value; eqs. 6.1-6.3; both-ends rule).
"""
from __future__ import annotations

import numpy as np


def _ranks(mat: np.ndarray, axis: int) -> np.ndarray:
    """Rank of every non-zero weight by decreasing |w| along its row (axis=1) or column (axis=0)."""
    rank = np.full(mat.shape, -1)
    m = mat if axis == 1 else mat.T
    r = rank if axis == 1 else rank.T
    for i, row in enumerate(m):
        nz = np.flatnonzero(row)
        order = nz[np.argsort(-np.abs(row[nz]), kind="stable")]
        r[i, order] = np.arange(len(order))
    return rank


def run(mats: list[np.ndarray], biases: list[np.ndarray], spikes_in: np.ndarray, threshold: float = 1.0,
        reset: float = 0.0, leak: float = 0.0, thresholds=None, levels=(1, .5, .25, .125, 0), lam: int = 10,
        sig=None, fanin: bool = True, early_stop: bool = True) -> dict:
    """One image: spikes_in is (steps, n_in) bool. Returns spike counts per neuron, updates, class."""
    steps = len(spikes_in)
    sizes = [mats[0].shape[0]] + [m.shape[1] for m in mats]
    zero = len(levels) - 1
    out_rank = [_ranks(m, 1) for m in mats]
    in_rank = [_ranks(m, 0) for m in mats]
    V = [np.full(n, float(reset)) for n in sizes[1:]]
    lvl = [np.zeros(n, dtype=int) for n in sizes]
    win = [np.zeros(n) for n in sizes]
    counts = [np.zeros(n, dtype=int) for n in sizes]
    updates, steps_run, early = 0, 0, False
    for t in range(steps):
        spk = spikes_in[t] & (lvl[0] != zero)
        counts[0] += spk
        win[0] += spk
        for k, m in enumerate(mats):
            for j in np.flatnonzero(spk):
                k_out = int(np.ceil(levels[lvl[k][j]] * np.count_nonzero(m[j])))
                for i in np.flatnonzero(m[j]):
                    if out_rank[k][j, i] >= k_out:
                        continue
                    k_in = int(np.ceil(levels[lvl[k + 1][i]] * np.count_nonzero(m[:, i])))
                    if (fanin and in_rank[k][j, i] >= k_in) or lvl[k + 1][i] == zero:
                        continue
                    V[k][i] += m[j, i]
                    updates += 1
            live = lvl[k + 1] != zero
            V[k][live] += biases[k][live] - leak
            spk = (V[k] >= threshold) & live
            V[k][spk] = reset
            counts[k + 1] += spk
            win[k + 1] += spk
        steps_run += 1
        if thresholds is not None and (t + 1) % lam == 0 and t + 1 < steps:
            for l, T in enumerate(thresholds):
                for i in range(sizes[l]):
                    if T <= 0 or lvl[l][i] == zero:
                        continue
                    rate = win[l][i] / lam
                    dist = 1.0 if l == 0 else max((threshold - V[l - 1][i]) / (threshold - reset), 1e-6)
                    fom = min(1.0, rate / dist) * sig[l][i]
                    lvl[l][i] = next((a for a in range(zero) if fom >= T * levels[a]), zero)
            win = [np.zeros(n) for n in sizes]
            if early_stop and (lvl[-1] != zero).sum() <= 1:
                early = True
                break
    live_out = np.flatnonzero(lvl[-1] != zero)
    score = counts[-1] + 0.5 * np.clip((V[-1] - reset) / (threshold - reset), 0, 1)
    pred = int(live_out[0]) if thresholds is not None and len(live_out) == 1 else int(np.argmax(score))
    return {"counts": counts, "updates": updates, "pred": pred, "steps_run": steps_run, "early": early}
