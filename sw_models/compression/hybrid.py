"""The hybrid compression scheme of §7.3.3: the best sparse format per layer and per network.

Per layer: the format with the fewest exact bits. Per network: the single format with the fewest
total bits. The gain over a homogeneous scheme X is ratio_hybrid / ratio_X - 1.
"""
from __future__ import annotations

from collections import defaultdict


def network_totals(rows) -> dict[str, dict[str, int]]:
    """fmt -> {dense, value, location, total} summed over layers."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"dense": 0, "value": 0, "location": 0, "total": 0})
    for r in rows:
        t = out[r.fmt]
        t["dense"] += r.dense_bits
        t["value"] += r.value_bits
        t["location"] += r.location_bits
        t["total"] += r.total_bits
    return dict(out)


def best_per_layer(rows) -> dict[str, tuple[str, int]]:
    """layer -> (best format, its bits)."""
    best: dict[str, tuple[str, int]] = {}
    for r in rows:
        if r.layer not in best or r.total_bits < best[r.layer][1]:
            best[r.layer] = (r.fmt, r.total_bits)
    return best


def hybrid_summary(rows) -> dict:
    """Network ratios per format, the layer-hybrid ratio, the best network format and the gains."""
    totals = network_totals(rows)
    dense = next(iter(totals.values()))["dense"]
    layer_best = best_per_layer(rows)
    hybrid_bits = sum(b for _, b in layer_best.values())
    ratios = {f: dense / t["total"] for f, t in totals.items()}
    hybrid = dense / hybrid_bits
    return {
        "ratios": ratios,
        "hybrid_layer_ratio": hybrid,
        "best_network_format": max(ratios, key=ratios.get),
        "gain_layer_hybrid": {f: hybrid / r - 1 for f, r in ratios.items()},
        "best_per_layer": {k: v[0] for k, v in layer_best.items()},
    }
