"""Liveness and def-use chains at register and 32-bit-lane granularity (dissertation §4.2.1).

Step 3 of Fig. 4.6c, "static dependency analysis": an instruction made redundant by a zero may be
skipped only if what it writes is unchanged or dead afterwards, and a load may be skipped only if
its value feeds nothing but instructions that are themselves redundant. This module answers those
questions: per-instruction live-out sets (backward dataflow over the CFG, unit bitmasks), the uses
a definition reaches (forward walk until it is overwritten), and the definitions reaching a use.
"""
from __future__ import annotations

from .cfg import Cfg

ENTRY = -1     # pseudo-definition: the value a register had when the function was entered


def liveness(cfg: Cfg) -> tuple[list[int], list[int]]:
    """(live_in, live_out) bitmasks per instruction. Calls, returns and svc read every unit."""
    n = cfg.n
    live_in, live_out = [0] * n, [0] * n
    changed = True
    while changed:
        changed = False
        for i in range(n - 1, -1, -1):
            out = 0
            for s in cfg.succ[i]:
                out |= live_in[s]
            if not cfg.succ[i] and cfg.eff[i].kind not in ("ret", "branch"):
                out = ~0 & ((1 << 162) - 1)         # falls off the end: everything may be observed
            e = cfg.eff[i]
            new_in = e.uses | (out & ~e.defs)
            if out != live_out[i] or new_in != live_in[i]:
                live_out[i], live_in[i] = out, new_in
                changed = True
    return live_in, live_out


def reaching_defs(cfg: Cfg, at: int, unit_mask: int) -> set[int]:
    """Instructions whose definition of any unit in `unit_mask` may reach the entry of `at`
    (ENTRY if the function-entry value may)."""
    found: set[int] = set()
    seen: set[tuple[int, int]] = set()
    stack = [(p, unit_mask) for p in cfg.pred[at]] + ([(ENTRY, unit_mask)] if at in cfg.entries else [])
    while stack:
        i, mask = stack.pop()
        if (i, mask) in seen:
            continue
        seen.add((i, mask))
        if i == ENTRY:
            found.add(ENTRY)
            continue
        hit = cfg.eff[i].defs & mask
        if hit or cfg.eff[i].partial_defs & mask:
            found.add(i)
        rest = mask & ~cfg.eff[i].defs
        if rest:
            stack += [(p, rest) for p in cfg.pred[i]]
            if i in cfg.entries:
                stack.append((ENTRY, rest))
    return found


def walk_uses(cfg: Cfg, start: int, unit_mask: int, stop_mask: int = 0):
    """Yield (instruction, facts_alive) for every instruction that reads a unit of `unit_mask`
    defined just before `start`, walking forward until all of them are overwritten. facts_alive is
    False once some path passed an instruction writing a unit of `stop_mask` (the condition)."""
    seen: set[tuple[int, int, bool]] = set()
    stack = [(start, unit_mask, True)] if start < cfg.n else []
    while stack:
        i, mask, alive = stack.pop()
        if (i, mask, alive) in seen:
            continue
        seen.add((i, mask, alive))
        e = cfg.eff[i]
        if e.uses & mask:
            yield i, alive
        rest = mask & ~e.defs
        still = alive and not (e.defs | e.partial_defs) & stop_mask
        if rest:
            stack += [(s, rest, still) for s in cfg.succ[i]]
