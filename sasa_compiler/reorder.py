"""Semantics-preserving rewrites before region formation (dissertation §4.2.1 "Reordering instructions").

* Spacing: a region's condition producer should sit at least D instructions before its precedingPC,
  so the SpRF bit is settled when precedingPC is fetched (D comes from the engine's pipeline,
  `SystemParams.sparce_min_distance()`). `distance` measures it; `hoist` moves a producer upward
  inside its basic block past every instruction it is independent of (no register/lane RAW, WAR or
  WAW, no store for a load, never past a branch, call or label that starts the block).
* Post-indexed loads: `ld1 {v4.4s}, [x1], #16` both loads and updates x1, so it is never skippable.
  `split_post_index` rewrites it into `ld1 {v4.4s}, [x1]` + `add x1, x1, #16` (pre-indexed: the add
  first), which has the same effect; only the load half can then join a region. Splits whose load
  ends up in no region are not applied (the compiler runs the analysis twice). Both rewrites are
  reported in the listing.
"""
from __future__ import annotations

from .cfg import Cfg
from .parse import Instruction, Mem, Program, Reg, Statement, reparse


def distance(cfg: Cfg, pre: int, cond_regs: int, limit: int = 64) -> tuple[int | None, int | None]:
    """(instructions from the nearest writer of the condition registers to precedingPC, writer index)."""
    frontier, seen = [(p, 1) for p in cfg.pred[pre]], set()
    while frontier:
        frontier.sort(key=lambda t: t[1])
        i, d = frontier.pop(0)
        if i in seen or d > limit:
            continue
        seen.add(i)
        if (cfg.eff[i].defs | cfg.eff[i].partial_defs) & cond_regs:
            return d, i
        frontier += [(p, d + 1) for p in cfg.pred[i]]
    return None, None


def _independent(cfg: Cfg, a: int, b: int) -> bool:
    """Can instruction b move above instruction a (a directly precedes it)?"""
    ea, eb = cfg.eff[a], cfg.eff[b]
    if ea.kind in ("branch", "call", "ret", "svc", "hint") or eb.kind in ("store", "branch", "call", "ret", "svc"):
        return False
    if eb.kind == "load" and ea.kind == "store":
        return False
    da, db = ea.defs | ea.partial_defs, eb.defs | eb.partial_defs
    return not (da & eb.uses or ea.uses & db or da & db)


def hoist(prog: Program, cfg: Cfg, uids: set[int]) -> tuple[Program, list[str]]:
    """Move each instruction whose uid is in `uids` as far up its basic block as dependences allow."""
    order = list(range(cfg.n))
    notes = []
    for idx in range(cfg.n):
        if prog.insts[idx].uid not in uids:
            continue
        pos = order.index(idx)
        moved = 0
        while pos > 0 and pos not in cfg.leaders and _independent(cfg, order[pos - 1], order[pos]):
            order[pos - 1], order[pos] = order[pos], order[pos - 1]     # positions = layout slots
            pos -= 1
            moved += 1
        if moved:
            inst = prog.insts[idx]
            inst.note = (inst.note + "; " if inst.note else "") + f"hoisted {moved} instruction(s) earlier"
            notes.append(f"{inst.origin}: hoisted '{inst.asm()}' {moved} instruction(s) earlier "
                         "to space its SpRF condition from the regions it decides")
    return _reorder(prog, order), notes


def _reorder(prog: Program, order: list[int]) -> Program:
    """Rebuild statements with instructions in `order`; labels/directives stay at their positions."""
    slots = [k for k, st in enumerate(prog.statements) if st.kind == "inst"]
    stmts = list(prog.statements)
    for slot, idx in zip(slots, order):
        stmts[slot] = prog.statements[slots[idx]]
    return reparse(prog, stmts)


def split_candidates(prog: Program, cfg: Cfg, pointers: set[int]) -> list[int]:
    """Indices of pre/post-indexed FP/SIMD loads from non-sparse pointers (the only splittable kind)."""
    out = []
    for i, inst in enumerate(prog.insts):
        e = cfg.eff[i]
        mem = next((o for o in inst.operands if isinstance(o, Mem)), None)
        if e.kind != "load" or not e.writeback or mem is None or mem.base.num in pointers:
            continue
        first = inst.operands[0]
        regs = first.regs if hasattr(first, "regs") else (first,)
        if all(isinstance(r, Reg) and r.vnum is not None for r in regs):
            out.append(i)
    return out


def split_post_index(prog: Program, uids: set[int]) -> tuple[Program, list[str]]:
    """Split the pre/post-indexed loads whose uid is in `uids` into a plain load and an add."""
    stmts: list[Statement] = []
    notes = []
    for st in prog.statements:
        if st.inst is None or st.inst.uid not in uids:
            stmts.append(st)
            continue
        load, add = _split(st.inst)
        pair = [add, load] if _is_pre_index(st.inst) else [load, add]
        stmts += [Statement("inst", i.asm(), st.origin, st.section, i) for i in pair]
        notes.append(f"{st.inst.origin}: split '{st.inst.asm()}' into '{pair[0].asm()}' + "
                     f"'{pair[1].asm()}' so the load can be skipped without losing the base update")
    return reparse(prog, stmts), notes


def _is_pre_index(inst: Instruction) -> bool:
    mem = next(o for o in inst.operands if isinstance(o, Mem))
    return mem.pre_index


def _split(inst: Instruction) -> tuple[Instruction, Instruction]:
    text = inst.text
    mem = next(o for o in inst.operands if isinstance(o, Mem))
    base = f"x{mem.base.num}" if mem.base.kind == "x" else "sp"
    head, _, tail = text.partition("[")
    inside, _, after = tail.partition("]")
    if mem.pre_index:
        amount = inside.split(",", 1)[1].strip()
        load_text = f"{head}[{base}]"
    else:
        amount = after.strip().lstrip(",").strip()
        load_text = f"{head}[{inside}]"
    note = f"rewritten from post/pre-indexed '{inst.asm()}'"
    load = Instruction(inst.mnemonic, [], load_text, inst.origin, uid=inst.uid, note=note)
    add = Instruction("add", [], f"{base}, {base}, {amount}", inst.origin, uid=inst.uid + 1, note=note)
    return load, add
