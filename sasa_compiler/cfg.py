"""Control-flow graph of a parsed kernel, at instruction granularity (dissertation §4.1.3, §4.2.1).

Regions must not contain branches and the precedingPC rules of §4.1.3 depend on which instructions
are branch targets or follow a branch, so the CFG records successors, predecessors, basic-block
leaders and natural-loop depth (the static execution-frequency estimate used to rank SASA entries).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import CompileError
from .parse import Program
from .semantics import Effects, effects


@dataclass
class Cfg:
    prog: Program
    eff: list[Effects]
    succ: list[list[int]]
    pred: list[list[int]] = field(default_factory=list)
    targets: set[int] = field(default_factory=set)       # instructions some branch jumps to
    leaders: set[int] = field(default_factory=set)
    depth: list[int] = field(default_factory=list)       # natural-loop nesting depth
    entries: list[int] = field(default_factory=list)     # function entry instructions
    loops: list[tuple[int, int]] = field(default_factory=list)   # (header, latch) of each loop

    @property
    def n(self) -> int:
        return len(self.eff)

    def block_of(self, i: int) -> int:
        """Index of the leader of i's basic block."""
        while i not in self.leaders:
            i -= 1
        return i


def resolve_target(prog: Program, label: str, at: int) -> int | None:
    """Instruction index of branch target `label` used at instruction `at`; None if external."""
    if label in prog.labels:
        return prog.labels[label]
    if label[:-1].isdigit() and label[-1] in "fb":
        num, forward = label[:-1], label[-1] == "f"
        cands = [i for n, i in prog.numeric_labels if n == num and (i > at if forward else i <= at)]
        if cands:
            return min(cands) if forward else max(cands)
        raise CompileError(prog.insts[at].origin, f"local label {label!r} has no definition")
    return None


def build_cfg(prog: Program, ret_uses: int | None = None) -> Cfg:
    """CFG of `prog`; `ret_uses` = units a `ret` hands back to the caller (default: all)."""
    eff = [effects(inst) for inst in prog.insts]
    if ret_uses is not None:
        for e in eff:
            if e.kind == "ret":
                e.uses = ret_uses
    n = len(eff)
    succ: list[list[int]] = []
    targets: set[int] = set()
    for i, e in enumerate(eff):
        s = [i + 1] if e.falls_through and i + 1 < n else []
        for label in e.targets:
            t = resolve_target(prog, label, i)
            if t is None:
                if e.kind == "branch" and not e.conditional and e.falls_through is False:
                    eff[i] = Effects("ret", 0, effects_all(), falls_through=False)   # tail call
                continue
            if t >= n:
                raise CompileError(prog.insts[i].origin, f"branch target {label} is past the last instruction")
            s.append(t)
            targets.add(t)
        succ.append(sorted(set(s)))
    cfg = Cfg(prog, eff, succ, targets=targets)
    cfg.pred = [[] for _ in range(n)]
    for i, ss in enumerate(succ):
        for t in ss:
            cfg.pred[t].append(i)
    named = prog.functions or prog.globals      # `.type X, %function` labels; else global labels
    cfg.entries = sorted({i for name, i in prog.labels.items() if name in named and i < n} or {0})
    cfg.leaders = {0} | targets | set(cfg.entries) | {i + 1 for i, e in enumerate(eff)
                                                       if e.kind in ("branch", "ret", "call", "svc") and i + 1 < n}
    cfg.leaders |= {i for i, _ in prog.reloads if i < n}
    _loops(cfg)
    return cfg


def effects_all() -> int:
    from .semantics import ALL_UNITS
    return ALL_UNITS


def _loops(cfg: Cfg) -> None:
    cfg.depth = [0] * cfg.n
    for latch in range(cfg.n):
        for header in cfg.succ[latch]:
            if header <= latch:                    # back edge in layout order
                body = _natural_loop(cfg, header, latch)
                cfg.loops.append((header, latch))
                for i in body:
                    cfg.depth[i] += 1


def _natural_loop(cfg: Cfg, header: int, latch: int) -> set[int]:
    body, stack = {header, latch}, [latch]
    while stack:
        i = stack.pop()
        if i == header:
            continue
        for p in cfg.pred[i]:
            if p not in body:
                body.add(p)
                stack.append(p)
    return body
