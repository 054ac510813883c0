"""Algorithm 2 (§6.1.3): one FOM threshold per layer, FOM_{alpha:1->a1}, under a quality constraint.

The printed algorithm starts every layer at FOM_max (line 3), lowers thresholds by Delta (line 6)
and stops when no layer meets the constraint (line 7). With the level rule of §6.1.2 (a higher
threshold puts more neurons at lower alpha), starting at FOM_max is the most approximate point, so
lowering thresholds only raises quality and the loop as printed either stops at once or never
trades anything: the same direction slip as Algorithm 1. We implement the evident intent: start
exact (every threshold 0), and in each round tentatively move each layer one notch *more*
approximate, evaluate energy E and quality Q on the training data, commit the move with the least
E/Q among those that still meet Q >= constraint, and stop when none does. Line 8 commits a move
even when it costs energy (the least-bad one), so the answer is the committed point of least E
(every committed point meets the constraint), not merely the last one.

Thresholds move on a per-layer grid [0, FOM_max * r^-(n-1), ..., FOM_max * r^-1, FOM_max]
(FOM_max = max SpikeSig of the layer, i.e. SpikeProb = 1, line 2). The grid is geometric rather
than the paper's constant Delta because FOMs span orders of magnitude and differ across layers.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Evaluate = Callable[[tuple[int, ...]], tuple[float, float]]


def grid(fom_max: float, points: int, ratio: float) -> list[float]:
    """Threshold values of one layer: notch 0 is exact (0), the last notch is FOM_max."""
    if points < 1 or not ratio > 1:
        raise ValueError(f"need points >= 1 and ratio > 1 (got {points}, {ratio})")
    return [0.0] + [float(fom_max) * ratio ** -(points - 1 - i) for i in range(points)]


def algorithm2(evaluate: Evaluate, n_layers: int, n_notches: int, q_min: float,
               log: Callable[[str], None] = lambda m: None) -> tuple[tuple[int, ...], list[dict]]:
    """Greedy search; returns the least-energy committed notches per layer and the committed path."""
    cur = (0,) * n_layers
    e, q = evaluate(cur)
    path = [{"notches": list(cur), "E": e, "Q": q}]
    while True:
        moves = []
        for layer in range(n_layers):
            if cur[layer] + 1 >= n_notches:
                continue
            nxt = cur[:layer] + (cur[layer] + 1,) + cur[layer + 1:]
            e, q = evaluate(nxt)
            if q >= q_min:
                moves.append((e / q if q > 0 else np.inf, nxt, e, q))
        if not moves:
            best = min(path, key=lambda p: p["E"])
            return tuple(best["notches"]), path
        _, cur, e, q = min(moves, key=lambda m: m[0])
        path.append({"notches": list(cur), "E": e, "Q": q})
        log(f"commit {cur}: E {e:.4g}, Q {q:.4f}")
