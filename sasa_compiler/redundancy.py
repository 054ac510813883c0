"""Which instruction windows are redundant when an SpRF condition holds (dissertation §4.2.1-4.2.2).

A window W = insts[first..last] inside one basic block may be skipped under condition C (some
register lanes are +0.0 / an X register is 0) iff running W changes nothing that is observed later.
This is checked by a small symbolic execution of W from the state at its start, lane by lane:

* ORIG   the lane still holds its value from the start of W;
* ZERO   +0 exactly (a condition fact);  PMZERO  +-0 (a product with a zero factor);
* OTHER  anything else.

Rules (all others make their destination OTHER):
* fmla/fmls (vector or by element), fmadd/fmsub, fadd/fsub: an accumulator lane that is ORIG and is
  updated by a +-0 product/addend stays ORIG (the "destination unchanged" case, Fig. 4.7's fmlas);
* fmul/fnmul with a +-0 factor gives PMZERO (it is *not* unchanged: it writes a fresh +-0, so it is
  skippable only if that value is dead or absorbed, e.g. fmul+fadd of Fig. 4.2);
* scalar FP writes zero the upper lanes (ZERO: dirty unless dead).

After W every lane that is not ORIG must be dead, or *absorbed*: each later read of it (until it is
overwritten, with C's registers not rewritten on the way) is by an instruction that is itself an
identity given C whatever that lane holds (Fig. 4.7's ld1 of A feeding the next half's fmlas).
Such skipped producers leave a stale register value behind; those registers are zeroed at function
entry (if dead there) so a stale value is always finite.

Value assumptions (documented in README): every value loaded from memory is finite (x*0 = +-0 fails
for Inf/NaN), and an accumulator updated by a +0 term must not hold -0.0 (-0 + +0 = +0). The second
is proven per accumulator (all its reaching definitions are `movi #0`/`fmov wzr` or accumulations of
such) or, if unproven, needs the explicit `assume_no_negative_zero` option.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from .cfg import Cfg
from .defuse import ENTRY, reaching_defs, walk_uses
from .parse import Imm, Instruction, Reg
from .semantics import V0, reg_read

ZERO, PMZERO, OTHER = "zero", "pmzero", "other"
HARD_KINDS = {"store", "branch", "call", "ret", "svc", "hint", "prefetch"}


@dataclass
class WindowResult:
    ok: bool
    needs_nz: set[tuple[int, int]] = field(default_factory=set)   # (inst, acc lane unit) to prove
    absorbed: int = 0                                              # dirty units absorbed later
    reason: str = ""


@lru_cache(maxsize=None)
def lane_units(r: Reg) -> list[int] | None:
    """Per-32-bit-lane units of an FP/SIMD operand, in element order; None if not 32-bit lanes."""
    if r.elem:
        return [V0 + 4 * r.num + r.elem[1]] if r.elem[0] == "s" else None
    if r.kind == "s":
        return [V0 + 4 * r.num]
    if r.kind == "v" and r.arr in ("4s", "2s"):
        return [V0 + 4 * r.num + k for k in range(int(r.arr[0]))]
    return None


class Evaluator:
    """Symbolic execution of one instruction over lane values (dict unit -> value; absent = ORIG)."""

    def __init__(self, facts: int) -> None:
        self.facts = facts

    def val(self, state: dict[int, str], u: int) -> str | None:
        if self.facts >> u & 1:
            return ZERO
        return state.get(u)

    def is_self(self, state: dict[int, str], d: int, s: int) -> bool:
        return d == s and not self.facts >> d & 1 and d not in state

    def zeroish(self, state: dict[int, str], u: int) -> bool:
        return self.val(state, u) in (ZERO, PMZERO)

    def step(self, inst: Instruction, eff, state: dict[int, str], nz: set) -> None:
        """Apply `inst` to `state` in place; add (inst, lane) pairs needing the -0 proof to nz."""
        base = inst.mnemonic
        regs = [o for o in inst.operands if isinstance(o, Reg)]
        handled = None
        if base in ("fmla", "fmls") and len(regs) == 3:
            handled = self._fma(inst, regs[0], regs[1], regs[2], regs[0], state, nz)
        elif base in ("fmadd", "fmsub") and len(regs) == 4:
            handled = self._fma(inst, regs[0], regs[1], regs[2], regs[3], state, nz)
        elif base in ("fmul", "fnmul") and len(regs) == 3:
            handled = self._mul(regs[0], regs[1], regs[2], state)
        elif base in ("fadd", "fsub") and len(regs) == 3:
            handled = self._add(inst, base, regs[0], regs[1], regs[2], state, nz)
        if handled is None:
            written = eff.defs | eff.partial_defs
            u = 0
            while written:
                if written & 1:
                    state[u] = OTHER
                written >>= 1
                u += 1
        else:
            state.update(handled)

    def _operands(self, d: Reg, *srcs: Reg) -> tuple[list[int], list[list[int]]] | None:
        dl = lane_units(d)
        if dl is None:
            return None
        out = []
        for s in srcs:
            sl = lane_units(s)
            if sl is None:
                return None
            out.append(sl * len(dl) if len(sl) == 1 else sl)
        if any(len(s) != len(dl) for s in out):
            return None
        return dl, out

    def _upper(self, d: Reg, dl: list[int]) -> dict[int, str]:
        all4 = [V0 + 4 * d.num + k for k in range(4)]
        return {u: ZERO for u in all4 if u not in dl} if not d.elem else {}

    def _fma(self, inst, d: Reg, n: Reg, m: Reg, a: Reg, state, nz) -> dict[int, str] | None:
        ops = self._operands(d, n, m, a)
        if ops is None:
            return None
        dl, (nl, ml, al) = ops
        new = self._upper(d, dl)
        for k, du in enumerate(dl):
            if (self.zeroish(state, nl[k]) or self.zeroish(state, ml[k])) and self.is_self(state, du, al[k]):
                nz.add((inst.index, du))
            else:
                new[du] = OTHER
        return new

    def _mul(self, d: Reg, n: Reg, m: Reg, state) -> dict[int, str] | None:
        ops = self._operands(d, n, m)
        if ops is None:
            return None
        dl, (nl, ml) = ops
        new = self._upper(d, dl)
        for k, du in enumerate(dl):
            new[du] = PMZERO if self.zeroish(state, nl[k]) or self.zeroish(state, ml[k]) else OTHER
        return new

    def _add(self, inst, base, d: Reg, a: Reg, b: Reg, state, nz) -> dict[int, str] | None:
        ops = self._operands(d, a, b)
        if ops is None:
            return None
        dl, (al, bl) = ops
        new = self._upper(d, dl)
        for k, du in enumerate(dl):
            keep = (self.zeroish(state, bl[k]) and self.is_self(state, du, al[k])) or \
                   (base == "fadd" and self.zeroish(state, al[k]) and self.is_self(state, du, bl[k]))
            if keep:
                nz.add((inst.index, du))
            else:
                new[du] = OTHER
        return new


def hard_barrier(cfg: Cfg, i: int, cond_regs: int) -> bool:
    """True if instruction i can never be inside a region under a condition on `cond_regs`."""
    e = cfg.eff[i]
    return e.kind in HARD_KINDS or bool(e.writeback) or bool((e.defs | e.partial_defs) & cond_regs)


def absorbed(cfg: Cfg, after: int, dirty: dict[int, str], facts: int, cond_regs: int,
             nz: set) -> bool:
    """Every later read of the dirty units is by an identity instruction while the facts hold."""
    ev = Evaluator(facts)
    mask = 0
    for u in dirty:
        mask |= 1 << u
    for use, alive in walk_uses(cfg, after, mask, cond_regs):
        e = cfg.eff[use]
        if not alive or e.kind not in ("alu", "acc"):
            return False
        state = dict(dirty)
        local: set = set()
        ev.step(cfg.prog.insts[use], e, state, local)
        written = e.defs | e.partial_defs
        if any(written >> u & 1 and state.get(u) is not None for u in state if u not in dirty) or \
           any(written >> u & 1 for u in dirty):
            return False              # it changed a live value, or computed from a dirty one
        nz |= local
    return True


@dataclass
class NegZeroProver:
    """Proves an accumulator lane can never hold -0.0 at an instruction (see module docstring).

    A fact (i, lane) holds when every definition of the lane reaching instruction i zeroes it
    (movi #0, fmov from the zero register) or accumulates into it from a lane for which the same
    holds; an accumulation chain that closes a loop adds only such terms (inductive). So the fact
    fails exactly when some failing definition (the program entry, any other writer) is reachable
    through accumulations. That is decided with an explicit work list and remembered for every
    fact visited, so long accumulation chains cost linear time and no recursion."""
    cfg: Cfg
    memo: dict[tuple[int, int], bool] = field(default_factory=dict)

    def never_negzero(self, i: int, lane: int) -> bool:
        start = (i, lane)
        if start in self.memo:
            return self.memo[start]
        deps: dict[tuple[int, int], list[tuple[int, int]]] = {}
        failing: set[tuple[int, int]] = set()
        stack = [start]
        while stack:
            fact = stack.pop()
            deps[fact] = []
            for j in reaching_defs(self.cfg, fact[0], 1 << fact[1]):
                verdict = self._def_verdict(j, fact[1])
                if verdict is True:
                    continue
                if verdict is False or self.memo.get(verdict) is False:
                    failing.add(fact)
                elif verdict not in self.memo:
                    deps[fact].append(verdict)
                    if verdict not in deps and verdict not in stack:
                        stack.append(verdict)
        self._settle(deps, failing)
        return self.memo[start]

    def _settle(self, deps: dict, failing: set) -> None:
        """A fact fails when it depends, directly or not, on a failing one; the rest hold."""
        users: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for fact, needs in deps.items():
            for need in needs:
                users.setdefault(need, []).append(fact)
        todo = list(failing)
        while todo:
            for user in users.get(todo.pop(), ()):
                if user not in failing:
                    failing.add(user)
                    todo.append(user)
        for fact in deps:
            self.memo[fact] = fact not in failing

    def _def_verdict(self, j: int, lane: int) -> bool | tuple[int, int]:
        """True: definition j zeroes the lane; False: it may leave -0.0; (j, lane): it accumulates,
        and holds if the lane holds no -0.0 before j."""
        if j == ENTRY:
            return False
        inst = self.cfg.prog.insts[j]
        ops = inst.operands
        if inst.mnemonic == "movi" and len(ops) == 2 and isinstance(ops[1], Imm) and _is_zero(ops[1].text):
            return True
        if inst.mnemonic == "fmov" and len(ops) == 2 and isinstance(ops[1], Reg) and ops[1].kind == "zr":
            return True
        if inst.mnemonic in ("fmla", "fmls", "fmadd", "fmsub", "fadd", "fsub"):
            regs = [o for o in ops if isinstance(o, Reg)]
            acc = regs[0] if inst.mnemonic in ("fmla", "fmls") else regs[-1] if inst.mnemonic[:2] == "fm" \
                and len(regs) == 4 else regs[1] if len(regs) == 3 else None
            if acc is not None and reg_read(acc) >> lane & 1 and reg_read(regs[0]) >> lane & 1:
                return (j, lane)
        return False


def _is_zero(text: str) -> bool:
    return text.lstrip("#").strip() in ("0", "0x0", "0x00")


def check_window(cfg: Cfg, live_out: list[int], first: int, last: int, facts: int,
                 cond_regs: int) -> WindowResult:
    """Non-incremental check of insts[first..last] under `facts` (used by tests and verify)."""
    for i in range(first, last + 1):
        if hard_barrier(cfg, i, cond_regs):
            return WindowResult(False, reason=f"inst {i} cannot be skipped")
    state: dict[int, str] = {}
    nz: set = set()
    ev = Evaluator(facts)
    for i in range(first, last + 1):
        ev.step(cfg.prog.insts[i], cfg.eff[i], state, nz)
    return exit_check(cfg, live_out, last, state, facts, cond_regs, nz)


_ABSORB_CACHE: dict = {}      # reset by clear_cache() for every analysed program


def clear_cache() -> None:
    _ABSORB_CACHE.clear()


def exit_check(cfg: Cfg, live_out: list[int], last: int, state: dict[int, str], facts: int,
               cond_regs: int, nz: set) -> WindowResult:
    live = live_out[last]
    dirty = {u: v for u, v in state.items() if v is not None and live >> u & 1}
    if not dirty:
        return WindowResult(True, set(nz))
    if any(u < V0 for u in dirty):
        return WindowResult(False, reason="a live integer/flag value it writes would differ")
    key = (last + 1, facts, tuple(sorted(dirty.items())))
    if key not in _ABSORB_CACHE:
        extra: set = set()
        _ABSORB_CACHE[key] = (absorbed(cfg, last + 1, dirty, facts, cond_regs, extra), frozenset(extra))
    ok, extra = _ABSORB_CACHE[key]
    local = set(nz) | extra
    if ok:
        mask = sum(1 << u for u in dirty)
        return WindowResult(True, local, absorbed=mask)
    return WindowResult(False, reason="a live value it writes would differ")
