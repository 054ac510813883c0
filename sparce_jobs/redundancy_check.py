"""Dynamic proof that every instruction a SASA table skips is redundant (dissertation §4.2.1).

An instruction may be skipped if its destination would have been unchanged, or if its result is
used only by other skipped instructions (or by instructions whose result does not depend on it).
Bit-identical outputs show the end result; this check shows it per skipped instruction, at run
time, without trusting the compiler's analysis: it reads only the table in the ELF, capstone's
decode (sparce_sim.decode) and unicorn.

The instrumented ELF runs with SPARCE off on the engine. A per-instruction hook finds each point
where the PSRU would skip: a region is entered from its precedingPC and its SpRF condition holds
on the architectural registers. For each such event:
1. The register state before and after the region is compared. A destination with the same value
   is "unchanged" (Fig. 4.7's fmla by a zero lane).
2. A changed register is tainted with the value a skipping core would still hold there. Until it
   is overwritten, each instruction that reads it must be inside a skipped region, or must give the
   same result from the stale value: it is re-executed in a scratch unicorn with the stale value
   and its destinations are compared. A load, store, branch or prefetch reading a tainted register
   is a violation (it would address or store something else).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from unicorn import UC_ARCH_ARM64, UC_HOOK_CODE, UC_MODE_ARM, Uc
from unicorn import arm64_const as A

from gem5_configs.params import MINOR_DEFAULT
from isa_ext.encoding import SasaEntry
from sparce_sim.decode import uc_reg_from_id

NZCV = 64
ALL_REGS = list(range(65))          # engine register ids: X0-30, SP, V0-31, NZCV
SCRATCH = 0x10000


@dataclass
class RedundancyReport:
    skip_events: int = 0
    skipped_insts: int = 0
    unchanged: int = 0              # destinations the region left with the same value
    tainted: int = 0                # destinations it changed (stale on a skipping core)
    reads_by_skipped: int = 0       # reads of stale registers by other skipped instructions
    absorbed: int = 0               # reads by kept instructions whose result did not change
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


class _Checker:
    def __init__(self, engine, entries: list[SasaEntry]) -> None:
        self.engine, self.uc = engine, engine.uc
        self.regions = {e.preceding_pc + 4: e for e in entries}
        self.report = RedundancyReport()
        self.taint: dict[int, int] = {}      # reg id -> value a skipping core would hold
        self.active: SasaEntry | None = None
        self.before: dict[int, int] = {}
        self.prev_pc = -1
        self.pending = None                   # (inst, scratch result or None) to settle after it ran
        self.scratch = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        self.scratch.reg_write(A.UC_ARM64_REG_CPACR_EL1, 3 << 20)
        self.scratch.mem_map(SCRATCH, 0x1000)

    def regs(self, ids) -> dict[int, int]:
        return {r: self.uc.reg_read(uc_reg_from_id(r)) for r in ids}

    def on_code(self, uc, addr: int, size: int, _data) -> None:
        self._settle()
        if self.active is not None and not self._inside(addr):
            self._end_region()
        if self.active is None and addr in self.regions and self.prev_pc == self.regions[addr].preceding_pc \
                and self._holds(self.regions[addr]):
            self.active = self.regions[addr]
            self.before = self.regs(ALL_REGS)
            self.report.skip_events += 1
        self.prev_pc = addr
        si = self.engine.decoder.decode(addr, bytes(uc.mem_read(addr, 4)))
        if self.active is not None:
            self.report.skipped_insts += 1
            self.report.reads_by_skipped += sum(1 for r in si.srcs if r in self.taint)
            return
        self._check_kept(si)

    def _inside(self, addr: int) -> bool:
        start = self.active.preceding_pc + 4
        return start <= addr < start + 4 * self.active.insts_to_skip

    def _holds(self, e: SasaEntry) -> bool:
        from sparce_sim.decode import uc_reg
        from sparce_sim.sparce import combine, is_sparse
        return combine(e.op, [is_sparse(o, self.uc.reg_read(uc_reg(o.reg))) for o in e.operands])

    def _end_region(self) -> None:
        after = self.regs(ALL_REGS)
        for r, value in after.items():
            if value == self.before[r]:
                continue
            self.report.tainted += 1
            self.taint.setdefault(r, self.before[r])
        self.report.unchanged += sum(1 for r in after if after[r] == self.before[r] and r in self._dsts_of_active())
        self.active = None

    def _dsts_of_active(self) -> set[int]:
        start, e = self.active.preceding_pc + 4, self.active
        out: set[int] = set()
        for pc in range(start, start + 4 * e.insts_to_skip, 4):
            out.update(self.engine.decoder.decode(pc, bytes(self.uc.mem_read(pc, 4))).dsts)
        return out

    def _check_kept(self, si) -> None:
        stale = [r for r in si.srcs if r in self.taint]
        if not stale:
            self.pending = (si, None)
            return
        if si.is_load or si.is_store or si.is_prefetch or si.is_branch or si.mem_bytes:
            self._violation(si, stale, "a memory access or branch reads it")
            self.pending = (si, None)
            return
        self.pending = (si, self._rerun(si))

    def _rerun(self, si) -> dict[int, int]:
        """Execute si alone with the stale values a skipping core would hold; its destinations."""
        state = self.regs(ALL_REGS)
        state.update(self.taint)
        for r, value in state.items():
            self.scratch.reg_write(uc_reg_from_id(r), value)
        self.scratch.mem_write(SCRATCH, bytes(self.uc.mem_read(si.pc, 4)))
        self.scratch.emu_start(SCRATCH, SCRATCH + 4)
        return {r: self.scratch.reg_read(uc_reg_from_id(r)) for r in si.dsts}

    def _settle(self) -> None:
        if self.pending is None:
            return
        si, stale_result = self.pending
        self.pending = None
        now = self.regs(si.dsts)
        differs = [r for r in si.dsts if stale_result is not None and stale_result[r] != now[r]]
        if differs:
            self._violation(si, [x for x in si.srcs if x in self.taint],
                            f"its result in {', '.join(_name(r) for r in differs)} would differ")
        elif stale_result is not None:
            self.report.absorbed += 1
        for r in si.dsts:
            self.taint.pop(r, None)

    def _violation(self, si, stale: list[int], why: str) -> None:
        names = ", ".join(_name(r) for r in stale)
        self.report.violations.append(f"PC {si.pc:#x} `{si.text}` reads {names}, left stale by a skipped region: {why}")


def _name(rid: int) -> str:
    return "nzcv" if rid == NZCV else "sp" if rid == 31 else f"v{rid - 32}" if rid >= 32 else f"x{rid}"


def check_elf(elf: Path, inputs: dict[str, np.ndarray], entries: list[SasaEntry],
              max_insts: int = 50_000_000) -> RedundancyReport:
    """Run `elf` with SPARCE off and check every would-be skip of `entries` (see module docstring)."""
    from sparce_sim.engine import Engine
    from sparce_sim.loader import load_elf
    program = load_elf(elf)
    engine = Engine(program, MINOR_DEFAULT, sparce=False, max_insts=max_insts)
    for name, array in inputs.items():
        engine.write_symbol(name, array)
    checker = _Checker(engine, entries)
    for base, data in program.text_ranges():
        engine.uc.hook_add(UC_HOOK_CODE, checker.on_code, begin=base, end=base + len(data) - 1)
    engine.run()
    checker._settle()
    return checker.report
