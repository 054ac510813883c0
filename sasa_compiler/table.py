"""Fitting the chosen regions into the hardware SASA table (dissertation §4.1.3, Table 4.1: 20 entries).

Policies when a kernel needs more entries than the table holds:
* `reload` (default): split the code into segments at `// @sasa_reload` points, or, if there are none,
  at the boundaries of outermost loops; adjacent segments are merged while they fit. Each segment
  gets its own table, loaded by a SASA-LD at its start (before a loop header's label, so it runs
  once, not per iteration). A segment that still overflows keeps its highest-saving entries.
* `rank`: one table loaded at entry, keeping the entries with the highest expected saving.
Before an entry is dropped, merging two chained entries into one AND entry (regions.and_region) is
tried; a merge is taken when it loses less expected saving than dropping the cheapest entry.
* `strict`: never drop an entry; segments only at `// @sasa_reload` points; overflow is an error.
Which table is loaded never affects correctness: every entry is sound wherever it is loaded.
"""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Callable

from .cfg import Cfg
from .errors import CompileError
from .regions import Region

SCRATCH_ORDER = [16, 17, 9, 10, 11, 12, 13, 14, 15, 18, 8, 7, 6, 5, 4, 3, 2, 1, 0]


@dataclass
class Segment:
    start: int                  # first instruction index
    end: int                    # last instruction index
    regions: list[Region] = field(default_factory=list)
    dropped: list[Region] = field(default_factory=list)
    merged: list[tuple[Region, Region]] = field(default_factory=list)   # pairs now one AND entry
    before_label: bool = False  # insert SASA-LD before the labels of `start` (a loop preheader)
    scratch: int = 16


Merge = Callable[[Region, Region], "Region | None"]


def plan(cfg: Cfg, regions: list[Region], size: int, policy: str, live_in: list[int],
         merge: Merge | None = None) -> list[Segment]:
    if policy not in ("reload", "rank", "strict"):
        raise CompileError(None, f"unknown overflow policy {policy!r} (reload, rank or strict)")
    if len(regions) <= size or policy == "rank":
        segs = [Segment(0, cfg.n - 1, list(regions))]
    else:
        cuts = sorted({i for i, _ in cfg.prog.reloads if 0 < i < cfg.n})
        if not cuts and policy == "reload":
            cuts = _loop_cuts(cfg)
        segs = _merge(_segments(cfg, cuts, regions), size)
    for seg in segs:
        if len(seg.regions) > size:
            if policy == "strict":
                r = seg.regions[size]
                raise CompileError(cfg.prog.insts[r.first].origin,
                                   f"SASA table overflow: {len(seg.regions)} entries are needed between "
                                   f"{cfg.prog.insts[seg.start].origin.site()} and "
                                   f"{cfg.prog.insts[seg.end].origin.site()} but the table holds {size}, and "
                                   "there is no reload point (add `// @sasa_reload` or use --overflow rank)")
            _fit(seg, size, merge)
        seg.before_label = seg.start in {h for h, _ in cfg.loops}
        seg.scratch = _scratch(cfg, live_in, seg)
    return segs


def _fit(seg: Segment, size: int, merge: Merge | None) -> None:
    """Shrink seg to `size` entries, by AND-merging chained entries or dropping the cheapest.

    Each step takes the better of: merging the adjacent pair that loses the least saving (the
    first such pair in program order), or dropping the entry with the least saving (ties: the
    later one). Adjacent pairs and entries sit in heaps, so a block of thousands of entries costs
    O(n log n) steps; stale heap items are skipped."""
    regions = sorted(seg.regions, key=lambda r: r.first)
    nodes = list(regions)                              # node id -> Region; ids keep program order
    order = list(range(len(nodes)))                    # a node's position key (merged: its left's)
    prev = [k - 1 for k in range(len(nodes))]
    nxt = [k + 1 if k + 1 < len(nodes) else -1 for k in range(len(nodes))]
    alive = [True] * len(nodes)
    pairs: list = []
    serial = itertools.count()
    cheap = [(r.saving, -r.first, k, k) for k, r in enumerate(nodes)]
    heapq.heapify(cheap)

    def push_pair(a: int) -> None:
        b = nxt[a]
        if a < 0 or b < 0 or merge is None:
            return
        m = merge(nodes[a], nodes[b])
        if m is not None:
            heapq.heappush(pairs, (nodes[a].saving + nodes[b].saving - m.saving, order[a], a, b, next(serial), m))

    for k in range(len(nodes)):
        push_pair(k)
    count = len(nodes)
    while count > size:
        while not (alive[cheap[0][3]]):
            heapq.heappop(cheap)
        while pairs and not (alive[pairs[0][2]] and alive[pairs[0][3]] and nxt[pairs[0][2]] == pairs[0][3]):
            heapq.heappop(pairs)
        cheapest = cheap[0][3]
        if pairs and pairs[0][0] < nodes[cheapest].saving:
            _, _, a, b, _, m = heapq.heappop(pairs)
            k = len(nodes)
            nodes.append(m)
            order.append(order[a])
            alive += [True]
            alive[a] = alive[b] = False
            prev.append(prev[a])
            nxt.append(nxt[b])
            if prev[a] >= 0:
                nxt[prev[a]] = k
            if nxt[b] >= 0:
                prev[nxt[b]] = k
            heapq.heappush(cheap, (m.saving, -m.first, order[a], k))
            seg.merged.append((nodes[a], nodes[b]))
            push_pair(prev[k])
            push_pair(k)
        else:
            heapq.heappop(cheap)
            alive[cheapest] = False
            seg.dropped.append(nodes[cheapest])
            p_, n_ = prev[cheapest], nxt[cheapest]
            if p_ >= 0:
                nxt[p_] = n_
            if n_ >= 0:
                prev[n_] = p_
            push_pair(p_)
        count -= 1
    seg.regions = [nodes[k] for k in sorted((k for k in range(len(nodes)) if alive[k]), key=lambda k: order[k])]


def _loop_cuts(cfg: Cfg) -> list[int]:
    cuts = set()
    spans = []
    for header, latch in cfg.loops:
        spans.append((header, latch))
    for header, latch in spans:
        if not any(h < header and l >= latch for h, l in spans if (h, l) != (header, latch)):
            cuts.update({header, latch + 1})
    return sorted(c for c in cuts if 0 < c < cfg.n)


def _segments(cfg: Cfg, cuts: list[int], regions: list[Region]) -> list[Segment]:
    bounds = [0] + cuts + [cfg.n]
    segs = [Segment(a, b - 1) for a, b in zip(bounds, bounds[1:]) if a < b]
    for r in regions:
        next(s for s in segs if s.start <= r.pre <= s.end).regions.append(r)
    return segs


def _merge(segs: list[Segment], size: int) -> list[Segment]:
    out = [segs[0]]
    for seg in segs[1:]:
        if len(out[-1].regions) + len(seg.regions) <= size or not seg.regions:
            out[-1].end = seg.end
            out[-1].regions += seg.regions
        else:
            out.append(seg)
    return out


def _scratch(cfg: Cfg, live_in: list[int], seg: Segment) -> int:
    at = [seg.start] if seg.start else cfg.entries
    for reg in SCRATCH_ORDER:
        if all(not live_in[i] >> reg & 1 for i in at):
            return reg
    raise CompileError(cfg.prog.insts[seg.start].origin,
                       "no free X register to hold the SASA table address for SASA-LD here")
