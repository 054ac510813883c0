"""Sparse sources, SpRF conditions, redundant regions and their precedingPCs (dissertation §4.1.3, §4.2).

1. Sparse sources (Fig. 4.6c step 2): loads whose base register is an annotated sparse pointer or
   is copied/offset from one (mov/add/sub). Each gives SpRF atoms: every 32-bit lane it loads, and
   for a vector load also the whole register (Fig. 4.8's SpRF[v12]).
2. Conditions: each atom alone, and `sparse | other` where a scalar product's other factor is in a
   register (Fig. 4.2's r0|r1). `a & b` comes from `and_region`: two chained regions (the second's
   precedingPC is the first's last instruction) merged into one entry that is skipped when both
   conditions hold. It saves fewer instructions (p_a*p_b against p_a and p_b), so it is only used
   when the SASA table overflows, as the cheaper alternative to dropping an entry (see table.py).
3. Windows: every run of instructions inside a basic block that `redundancy` proves skippable under
   the condition. Its precedingPC is the instruction just before it in the same block, which makes
   §4.1.3's rules hold by construction: a window may not start at a branch target or right after a
   branch (the precedingPC would be a branch or another block), so such a run shows up as the window
   one instruction shorter, whose precedingPC is the run's own first instruction. precedingPC must not
   write the condition's registers either (the SpRF would still show the old value).
4. Selection: a dynamic program per block picks non-overlapping windows maximising expected skipped
   instructions = length x P(condition) x 10^loop depth, P from the modelled sparsity. A window whose
   precedingPC is the last instruction of another chosen one (Fig. 4.8's chains) is not discounted:
   the PSRU looks up the end of a skipped region again (sparce_sim's chained lookup), so the second
   entry is still consulted when the first one skips.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from isa_ext.encoding import CondOp, SpRFOperand

from .cfg import Cfg
from .errors import CompileWarning
from .parse import Mem, Reg, RegList
from .defuse import walk_uses
from .redundancy import (Evaluator, clear_cache, NegZeroProver, WindowResult, check_window, exit_check,
                         hard_barrier, lane_units)
from .semantics import V0, unit_name, v_all, x_unit


@dataclass(frozen=True)
class Atom:
    reg: str                 # 'v8' / 'x5'
    lane: int | None
    prob: float              # modelled probability that it is zero
    sparse: bool             # loaded from sparse data (else: the other factor of an OR)

    def facts(self) -> int:
        num = int(self.reg[1:])
        if self.reg[0] == "x":
            return x_unit(num)
        return v_all(num) if self.lane is None else 1 << (V0 + 4 * num + self.lane)

    def regs(self) -> int:
        num = int(self.reg[1:])
        return x_unit(num) if self.reg[0] == "x" else v_all(num)

    def operand(self) -> SpRFOperand:
        return SpRFOperand(self.reg, self.lane)

    def __str__(self) -> str:
        return str(self.operand())


@dataclass(frozen=True)
class Condition:
    op: CondOp
    atoms: tuple[Atom, ...]

    @property
    def prob(self) -> float:
        if self.op == CondOp.SINGLE:
            return self.atoms[0].prob
        a, b = self.atoms[0].prob, self.atoms[1].prob
        return 1 - (1 - a) * (1 - b) if self.op == CondOp.OR else a * b

    def regs(self) -> int:
        out = 0
        for a in self.atoms:
            out |= a.regs()
        return out

    def __str__(self) -> str:
        sep = {CondOp.OR: " | ", CondOp.AND: " & "}.get(self.op, "")
        return sep.join(str(a) for a in self.atoms)


@dataclass
class Region:
    pre: int                  # instruction index of precedingPC
    first: int
    last: int
    cond: Condition
    saving: float             # expected instructions skipped per kernel run, relative units
    needs_nz: set = field(default_factory=set)
    absorbed: int = 0         # units whose (skipped) producer value is absorbed downstream
    assumed_nz: bool = False  # relies on assume_no_negative_zero

    @property
    def length(self) -> int:
        return self.last - self.first + 1


@dataclass
class Analysis:
    atoms: list[Atom]
    conditions: list[Condition]
    sparse_loads: list[int]
    regions: list[Region]
    warnings: list[CompileWarning]
    pointers: set[int]
    why_none: dict[int, str] = field(default_factory=dict)    # sparse load -> why it yields no region


def sparse_pointers(cfg: Cfg) -> set[int]:
    """X registers holding sparse pointers: the annotated ones and copies/offsets of them."""
    regs = {int(name[1:]) for name, _ in cfg.prog.sparse}
    changed = True
    while changed:
        changed = False
        for inst in cfg.prog.insts:
            ops = inst.operands
            if inst.mnemonic in ("mov", "add", "sub") and len(ops) >= 2 and \
               isinstance(ops[0], Reg) and isinstance(ops[1], Reg) and ops[0].kind == "x" and \
               ops[1].kind == "x" and ops[1].num in regs and ops[0].num not in regs:
                regs.add(ops[0].num)
                changed = True
    return regs


def find_atoms(cfg: Cfg, pointers: set[int], sparsity: float) -> tuple[list[Atom], list[int]]:
    """SpRF atoms of the sparse loads, and of the lanes their general-register values are moved into.

    The SVC checks every register write (§4.1.2), so a sparse value that travels through a general
    register keeps its condition: OpenBLAS's Cortex-A53 kernel loads two packed floats of B with
    `ldr x24, [pB], #16` and moves them into lanes 2-3 with `fmov v4.d[1], x24`. Proposing an atom is
    always sound; the windows under it are still proven by `redundancy` with the lane-is-zero fact."""
    atoms: dict[tuple[str, int | None], Atom] = {}
    loads = []
    gp_sources: set[int] = set()
    for i, inst in enumerate(cfg.prog.insts):
        mem = next((o for o in inst.operands if isinstance(o, Mem)), None)
        if cfg.eff[i].kind != "load" or mem is None or mem.base.kind != "x" or mem.base.num not in pointers:
            continue
        loads.append(i)
        lane = next((o.lane for o in inst.operands if isinstance(o, RegList)), None)
        for r in _data_regs(inst.operands):
            if r.kind in ("x", "w"):
                gp_sources.add(r.num)
            for atom in _atoms_of(r, sparsity, lane):
                atoms.setdefault((atom.reg, atom.lane), atom)
    for inst in cfg.prog.insts:
        for atom in moved_atoms(inst, gp_sources, sparsity):
            atoms.setdefault((atom.reg, atom.lane), atom)
    return list(atoms.values()), loads


def moved_atoms(inst, gp_sources: set[int], s: float) -> list[Atom]:
    """Lanes written by a plain copy (`fmov v4.d[1], x24`, `ins v0.s[1], w3`, `fmov d4, x24`) of a
    general register that a sparse load wrote."""
    ops = inst.operands
    if inst.mnemonic not in ("fmov", "mov", "ins") or len(ops) != 2 or not all(isinstance(o, Reg) for o in ops):
        return []
    dst, src = ops
    if src.kind not in ("x", "w") or src.num not in gp_sources:
        return []
    if dst.kind == "v" and dst.elem and dst.elem[0] == "d" and src.kind == "x":
        lanes = [2 * dst.elem[1], 2 * dst.elem[1] + 1]
    elif dst.kind == "v" and dst.elem and dst.elem[0] == "s":
        lanes = [dst.elem[1]]
    elif dst.kind == "d" and src.kind == "x":
        lanes = [0, 1]
    elif dst.kind == "s" and src.kind == "w":
        lanes = [0]
    else:
        return []
    return [Atom(f"v{dst.num}", lane, s, True) for lane in lanes]


def _data_regs(ops) -> list[Reg]:
    out = []
    for o in ops:
        if isinstance(o, Mem):
            break
        out += list(o.regs) if isinstance(o, RegList) else [o] if isinstance(o, Reg) else []
    return out


def _atoms_of(r: Reg, s: float, lane: int | None = None) -> list[Atom]:
    """SpRF atoms for a register a sparse load writes: each 32-bit lane it loads, and the whole
    register when it loads more than one lane. Any load form: `ldr s/d/q`, `ldp`, `ld1`/`ld1r`/`ld2`
    (whole or `{v0.s}[1]` element), and general registers (`ldr x24`, one 64-bit atom)."""
    if r.kind in ("x", "w"):
        return [Atom(f"x{r.num}", None, s, True)]
    width = {"b": 0, "h": 0, "s": 1, "d": 2, "q": 4}.get(r.kind)
    if r.kind == "v":
        arr = r.arr or ""
        if lane is not None:          # element load {vN.s}[k] / {vN.d}[k]
            size = arr[-1:] or "s"
            lanes = [lane] if size == "s" else [2 * lane, 2 * lane + 1] if size == "d" else []
            return [Atom(f"v{r.num}", k, s, True) for k in lanes]
        width = 2 if arr in ("2s", "1d", "8b", "4h") else 4 if arr in ("4s", "2d", "16b", "8h", "") else 0
    if not width:
        return []
    out = [Atom(f"v{r.num}", k, s, True) for k in range(width)]
    if width > 1:
        out.append(Atom(f"v{r.num}", None, s ** width, True))
    return out


def or_partners(cfg: Cfg, atoms: list[Atom], weight_sparsity: float) -> list[Condition]:
    """sparse | other for scalar products whose one factor is a sparse atom (Fig. 4.2's r0|r1)."""
    by_unit = {a.facts(): a for a in atoms if a.lane is not None and a.reg[0] == "v"}
    conds: dict[tuple, Condition] = {}
    for inst in cfg.prog.insts:
        if inst.mnemonic not in ("fmul", "fmadd", "fmsub", "fnmul"):
            continue
        regs = [o for o in inst.operands if isinstance(o, Reg)]
        if len(regs) < 3 or any(r.kind != "s" for r in regs[1:3]):
            continue
        units = [1 << lane_units(r)[0] for r in regs[1:3]]
        for k in (0, 1):
            if units[k] in by_unit and units[1 - k] not in by_unit:
                other = Atom(f"v{regs[2 - k].num}", 0, weight_sparsity, False)
                c = Condition(CondOp.OR, (by_unit[units[k]], other))
                conds[(str(c),)] = c
    return list(conds.values())


def blocks(cfg: Cfg) -> list[tuple[int, int]]:
    starts = sorted(cfg.leaders)
    return [(s, (starts[k + 1] if k + 1 < len(starts) else cfg.n) - 1) for k, s in enumerate(starts)
            if s < cfg.n]


MAX_WINDOW = 32      # longest region considered (ours and OpenBLAS's have 1-4): compile time linear in block length


def atom_windows(cfg: Cfg, live_out: list[int], atom: Atom) -> dict[tuple[int, int], WindowResult]:
    """All (first, last) windows valid under `atom` alone, with their proof obligations. A window that
    is redundant even without the condition (facts = 0) is not a SPARCE region. Both symbolic
    executions extend one instruction at a time from `first`, so each window costs one step."""
    facts, cond_regs = atom.facts(), atom.regs()
    ev, ev0 = Evaluator(facts), Evaluator(0)
    out = {}
    for start, end in blocks(cfg):
        for first in range(start + 1, end + 1):
            if (cfg.eff[first - 1].defs | cfg.eff[first - 1].partial_defs) & cond_regs:
                continue                                      # precedingPC writes the condition
            state: dict[int, str] = {}
            state0: dict[int, str] = {}
            nz: set = set()
            nz0: set = set()
            for last in range(first, min(end, first + MAX_WINDOW - 1) + 1):
                if hard_barrier(cfg, last, cond_regs):
                    break
                ev.step(cfg.prog.insts[last], cfg.eff[last], state, nz)
                ev0.step(cfg.prog.insts[last], cfg.eff[last], state0, nz0)
                res = exit_check(cfg, live_out, last, state, facts, cond_regs, nz)
                if res.ok and not exit_check(cfg, live_out, last, state0, 0, cond_regs, nz0).ok:
                    out[(first, last)] = res
    return out


def analyse(cfg: Cfg, live_in: list[int], live_out: list[int], sparsity: float,
            weight_sparsity: float, assume_no_negzero: bool) -> Analysis:
    warnings: list[CompileWarning] = []
    clear_cache()
    pointers = sparse_pointers(cfg)
    atoms, loads = find_atoms(cfg, pointers, sparsity)
    _warn_unused(cfg, pointers, loads, warnings)
    conds = [Condition(CondOp.SINGLE, (a,)) for a in atoms] + or_partners(cfg, atoms, weight_sparsity)
    per_atom: dict[Atom, dict] = {}
    for c in conds:
        for a in c.atoms:
            if a not in per_atom:
                per_atom[a] = atom_windows(cfg, live_out, a)
    prover = NegZeroProver(cfg)
    cands = []
    for c in conds:
        cands += _condition_windows(cfg, live_in, c, per_atom, prover, assume_no_negzero)
    regions = _select(cfg, cands)
    why = explain_loads(cfg, loads, atoms, per_atom, cands, regions)
    return Analysis(atoms, conds, loads, regions, warnings, pointers, why)


def _condition_windows(cfg: Cfg, live_in: list[int], c: Condition, per_atom: dict,
                       prover: NegZeroProver, assume: bool) -> list[Region]:
    keys = set(per_atom[c.atoms[0]])
    for a in c.atoms[1:]:
        keys &= set(per_atom[a])
    out = []
    for first, last in keys:
        results = [per_atom[a][(first, last)] for a in c.atoms]
        nz = set().union(*(r.needs_nz for r in results))
        absorbed = 0
        for r in results:
            absorbed |= r.absorbed
        proven = all(prover.never_negzero(i, lane) for i, lane in nz)
        if not proven and not assume:
            continue
        if absorbed and not _zero_init_ok(cfg, live_in, absorbed):
            continue
        freq = 10 ** cfg.depth[first]
        bonus = 1e-6 if c.op == CondOp.OR else 0.0
        out.append(Region(first - 1, first, last, c, (last - first + 1) * (c.prob + bonus) * freq,
                          nz, absorbed, assumed_nz=not proven))
    return out


def and_region(cfg: Cfg, live_in: list[int], live_out: list[int], first: Region, second: Region,
               prover: NegZeroProver, assume: bool) -> Region | None:
    """`first` then `second` as one region under first.cond & second.cond, if that is provably sound.

    The whole window is re-proven under both facts at once (the second half's condition register must
    not be written by the first half, and so on); None if it cannot be merged."""
    if second.pre != first.last or second.first in cfg.leaders:
        return None
    if first.cond.op != CondOp.SINGLE or second.cond.op != CondOp.SINGLE:
        return None
    a, b = first.cond.atoms[0], second.cond.atoms[0]
    if a == b:
        return None
    cond = Condition(CondOp.AND, (a, b))
    regs = cond.regs()
    if (cfg.eff[first.pre].defs | cfg.eff[first.pre].partial_defs) & regs:
        return None
    res = check_window(cfg, live_out, first.first, second.last, a.facts() | b.facts(), regs)
    if not res.ok:
        return None
    proven = all(prover.never_negzero(i, lane) for i, lane in res.needs_nz)
    if (not proven and not assume) or (res.absorbed and not _zero_init_ok(cfg, live_in, res.absorbed)):
        return None
    length = second.last - first.first + 1
    return Region(first.pre, first.first, second.last, cond, length * cond.prob * 10 ** cfg.depth[first.first],
                  res.needs_nz, res.absorbed, assumed_nz=not proven)


def zero_init_regs(absorbed: int) -> list[int]:
    """V registers whose skipped producers must not leave a caller's stale value behind."""
    return sorted({(u - V0) // 4 for u in range(V0, V0 + 128) if absorbed >> u & 1})


def _zero_init_ok(cfg: Cfg, live_in: list[int], absorbed: int) -> bool:
    if absorbed & ((1 << V0) - 1):
        return False                        # a skipped integer producer: no safe stale value
    regs = zero_init_regs(absorbed)
    return all(not live_in[e] & v_all(r) for e in cfg.entries for r in regs)


def _select(cfg: Cfg, cands: list[Region]) -> list[Region]:
    by_first: dict[int, list[Region]] = {}
    for r in cands:
        by_first.setdefault(r.first, []).append(r)
    chosen: list[Region] = []
    for start, end in blocks(cfg):
        chosen += _select_block(start, end, by_first)
    return sorted(chosen, key=lambda r: r.first)


def _select_block(start: int, end: int, by_first: dict[int, list[Region]]) -> list[Region]:
    """Weighted interval scheduling over one block: non-overlapping windows, maximum total saving."""
    # best[k]: (value, back) for insts[start .. start+k-1]; back = (prev_k, region or None)
    best: list[tuple[float, tuple | None]] = [(-1.0, None)] * (end - start + 2)
    best[0] = (0.0, None)
    for i in range(start, end + 1):
        k = i - start
        value = best[k][0]
        _relax(best, k + 1, value, (k, None))
        for r in by_first.get(i, []):
            _relax(best, r.last - start + 1, value + r.saving, (k, r))
    out, k = [], end - start + 1
    while best[k][1] is not None:
        k, region = best[k][1]
        if region is not None:
            out.append(region)
    return out


def _relax(best: list, k: int, value: float, back: tuple) -> None:
    if value > best[k][0] + 1e-12:
        best[k] = (value, back)


def explain_loads(cfg: Cfg, loads: list[int], atoms: list[Atom], per_atom: dict, cands: list[Region],
                  chosen: list[Region]) -> dict[int, str]:
    """For each sparse load that ends up deciding no region, the reason, from the analysis itself:
    no use read the value before it was overwritten; every use writes a fresh product (`fmul` by a
    zero gives ±0, not "unchanged"); windows were proven but each needs an accumulator that may be
    −0 (--assume-no-negative-zero); or the regions found lost to better ones."""
    out = {}
    moved: dict[int, set[Atom]] = {}
    gp = {r.num for i in loads for r in _data_regs(cfg.prog.insts[i].operands) if r.kind in ("x", "w")}
    for inst in cfg.prog.insts:
        for num in gp:
            moved.setdefault(num, set()).update(moved_atoms(inst, {num}, atoms[0].prob if atoms else 0.5))
    for i in loads:
        units, via = 0, set()
        for r in _data_regs(cfg.prog.insts[i].operands):
            units |= _units_of(r)
            if r.kind in ("x", "w"):
                via |= {(a.reg, a.lane) for a in moved.get(r.num, ())}
        mine = [a for a in atoms if a.facts() & units or (a.reg, a.lane) in via]
        if any(a in r.cond.atoms for r in chosen for a in mine):
            continue
        uses = sorted({u for u, _ in walk_uses(cfg, i + 1, units)})
        windows = sum(len(per_atom.get(a, {})) for a in mine)
        cand = [r for r in cands if any(a in r.cond.atoms for a in mine)]
        names = sorted({cfg.prog.insts[u].mnemonic for u in uses
                        if cfg.eff[u].kind not in ("ret", "branch", "call", "svc")})
        if not uses:
            why = "no instruction reads the loaded value before it is overwritten"
        elif cand:
            why = (f"{len(cand)} region(s) proven, but none selected: overlapping regions of other "
                   "conditions save more")
        elif windows:
            why = ("windows are redundant only if the accumulators they skip are never -0.0, which "
                   "cannot be proven (an accumulator is first written by fmul or a load); "
                   "--assume-no-negative-zero accepts them")
        elif names and all(n in ("fmul", "fnmul") for n in names):
            why = ("every use is a fresh fmul (a zero factor writes a new +-0, not 'unchanged'), and "
                   "no consumer of those products is skippable with it")
        else:
            why = ("no use is provably redundant when the value is zero (uses: "
                   + ", ".join(names[:6]) + ")")
        out[i] = why
    return out


def _units_of(r: Reg) -> int:
    from .semantics import reg_write
    full, partial = reg_write(r)
    return full | partial


def _warn_unused(cfg: Cfg, pointers: set[int], loads: list[int], warnings: list) -> None:
    used = set()
    for i in loads:
        mem = next(o for o in cfg.prog.insts[i].operands if isinstance(o, Mem))
        used.add(mem.base.num)
    for name, origin in cfg.prog.sparse:
        derived = {n for n in pointers if n in used}
        if not derived:
            warnings.append(CompileWarning(origin, f"@sparse pointer {name} is never used by a load "
                                                   "(no sparse sources: nothing will be skipped)"))
            break


def describe_units(mask: int) -> list[str]:
    return [unit_name(u) for u in range(162) if mask >> u & 1]
