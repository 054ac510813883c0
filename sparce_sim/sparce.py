"""The SPARCE micro-architecture (dissertation §4.1.2-§4.1.3, Figs. 4.3-4.5).

- SpRF: per register an isSparse field (one bit per 32-bit lane for V registers, the granularity
  of Fig. 4.9; one bit for X registers) and regUpdInFlight. The engine derives both on demand:
  isSparse from the architectural value the Sparse Value Checker would have compared with zero at
  writeback, and regUpdInFlight from the timing model (the youngest writer's writeback cycle is
  later than the fetch cycle that reads the SpRF).
- Sparse Value Checker: a value is sparse when all its bits are zero. -0.0 is *not* sparse (a
  conservative choice: the SVC is a bitwise comparator and never licenses an unsafe skip).
- SASA table: associative on precedingPC, loaded by SASA-LD, replaced by a later SASA-LD.
- PSRU: on a hit for the fetched precedingPC, (a) skip the region if the condition's registers are
  settled and it holds; (b) if a register is in flight, the region is *skippable*: when the
  condition resolves true before any region instruction has issued, the region instructions
  fetched so far are dropped at issue (nullified) and the rest are not fetched; (c) otherwise
  the region executes in order.

Documented choices where §4.1 leaves things open:
- A region is the `instsToSkip` instructions statically after precedingPC, and it is entered only
  when fetch goes from precedingPC to precedingPC+4 (a taken branch at precedingPC is no hit).
- The skippable region resolves at the writeback (commit) cycle of the youngest in-flight
  condition writer, as in gem5's SparceUnit (isa_ext/gem5, the default `issue` rule): it is skipped
  when the region's first instruction could not have issued before that cycle (Execute commits
  before it issues within a cycle), otherwise it resolved too late. The region instructions
  fetched before that cycle (at decode_width per cycle) were decoded and are dropped at issue
  (nullified, `squashedInsts`): they cost their fetch/decode slots only, with no fetch redirect
  (Fetch2 drops the rest of the region, as a definite skip does).
- A region that writes one of its own condition registers is rejected when the table is loaded
  (skipping would change the condition it was decided on).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from unicorn import arm64_const as A

from isa_ext.encoding import CondOp, SasaEntry, SasaError, SpRFOperand, check_table_size

from .decode import reg_id, uc_reg


@dataclass
class SparceStats:
    sasa_loads: int = 0
    lookups: int = 0
    hits: int = 0
    regions_skipped: int = 0
    regions_skippable: int = 0
    skippable_resolved_true: int = 0
    insts_skipped: int = 0
    squashed_insts: int = 0
    skips_by_pc: dict = field(default_factory=dict)   # precedingPC -> regions skipped


@dataclass(frozen=True)
class Region:
    """A loaded SASA entry, with the engine register ids its condition reads."""
    entry: SasaEntry
    start: int             # first PC of the region
    end: int               # first PC after the region
    cond_regs: tuple[int, ...]
    reads: tuple[tuple[int, int, SpRFOperand], ...] = ()   # per operand: (engine reg id, unicorn reg, operand)


@dataclass(frozen=True)
class Decision:
    skip: bool             # the region is not executed
    squashed: int          # region instructions fetched before the condition resolved (nullified)
    skippable: bool


def is_sparse(operand: SpRFOperand, value: int) -> bool:
    """isSparse for one SpRF operand, from the register's architectural value."""
    if operand.lane is None:
        return value == 0
    return (value >> (32 * operand.lane)) & 0xFFFFFFFF == 0


def combine(op: CondOp, bits: list[bool]) -> bool:
    return all(bits) if op == CondOp.AND else any(bits)


def _uc_read_reg(o: SpRFOperand) -> int:
    """The unicorn register to read for an operand: lane 0 of a V register is its S view (a 32-bit
    read, about half the host cost of a 128-bit one, and the same bits); otherwise the register."""
    if o.lane == 0 and o.reg[0] == "v":
        return A.UC_ARM64_REG_S0 + int(o.reg[1:])
    return uc_reg(o.reg)


class SasaTable:
    """The hardware table: at most `capacity` entries, replaced as a whole by each SASA-LD."""

    def __init__(self, capacity: int, sprf_entries: int) -> None:
        self.capacity = capacity
        self.sprf_entries = sprf_entries
        self.regions: dict[int, Region] = {}    # region start PC -> Region

    def load(self, entries: list[SasaEntry], writes_of) -> None:
        """Replace the table. `writes_of(pc)` gives the register ids an instruction writes."""
        check_table_size(len(entries), self.capacity)
        regions = {}
        for i, e in enumerate(entries):
            for o in e.operands:
                if int(o.reg[1:]) >= self.sprf_entries:
                    raise SasaError(f"SASA entry {i}: {o.reg} has no SpRF entry "
                                    f"(SpRF holds {self.sprf_entries} registers per file)")
            cond = tuple(sorted({reg_id(o.reg) for o in e.operands}))
            start = e.preceding_pc + 4
            end = start + 4 * e.insts_to_skip
            for pc in range(start, end, 4):
                if set(writes_of(pc)) & set(cond):
                    raise SasaError(f"SASA entry {i} (precedingPC {e.preceding_pc:#x}): the region "
                                    f"writes its own condition register at PC {pc:#x}")
            reads = tuple((reg_id(o.reg), _uc_read_reg(o), o) for o in e.operands)
            regions[start] = Region(e, start, end, cond, reads)
        self.regions = regions


def decide(region: Region, fetch_pre: int, operands: list[tuple[int, bool]],
           fetch_times: list[int], first_issue: int) -> Decision:
    """The PSRU flowchart (Fig. 4.5) for a hit on region.entry.preceding_pc.

    fetch_pre: cycle precedingPC was fetched; operands: per SpRF operand, (writeback cycle of its
    youngest writer, isSparse once written); fetch_times: the cycles the region's instructions
    would be fetched at if not skipped; first_issue: the earliest cycle the region's first
    instruction could issue. An operand is in flight when its writeback is after fetch_pre. The
    condition is decided early when the settled operands already fix it (OR with a settled sparse
    operand, AND with a settled dense one)."""
    op, n = region.entry.op, region.entry.insts_to_skip
    settled = [sparse for cycle, sparse in operands if cycle <= fetch_pre]
    holds = combine(op, [sparse for _, sparse in operands])
    if len(settled) == len(operands) or (op == CondOp.OR and any(settled)) or \
            (op == CondOp.AND and not all(settled)):
        return Decision(combine(op, settled), 0, False)          # (a) or (c)
    if not holds:                                 # skippable, resolves false: execute in order
        return Decision(False, 0, True)
    settle = max(cycle for cycle, _ in operands)
    if first_issue < settle:                      # a region instruction issued first: too late
        return Decision(False, 0, True)
    return Decision(True, sum(1 for t in fetch_times[:n] if t < settle), True)
