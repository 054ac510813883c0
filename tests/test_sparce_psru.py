"""SPARCE units on hand-made snippets: every PSRU path, table refresh, soundness (issue 3)."""
import numpy as np
import pytest

from isa_ext.asm import LabelledRow, sasa_ld_asm, table_asm
from isa_ext.encoding import CondOp, SpRFOperand
from kernels.build import build_snippet
from sparce_sim.engine import SimulationError
from sparce_sim.runner import simulate

REGION = "".join("    add x5, x5, #1\n" for _ in range(24))      # 24 countable instructions
FILLER = "".join(f"    add x{10 + i % 6}, x20, #{i}\n" for i in range(40))  # independent work
STORE_X5 = "    adrp x7, snippet_data\n    add x7, x7, :lo12:snippet_data\n    str x5, [x7, #64]\n"


def _table(label, rows):
    return table_asm(label, rows)


def _run(body, rows, data="    .zero 128", **kw):
    prog = sasa_ld_asm("tbl", entries=len(rows)) + body + STORE_X5
    elf = build_snippet(prog, data=data, extra=_table("tbl", rows))
    res = simulate(elf, outputs={"snippet_data": ((24,), np.uint64)}, **kw)
    return int(res.outputs["snippet_data"][8]), res.stats


def _rows(n=24, cond=(SpRFOperand("v0", 0),), op=CondOp.SINGLE, label="pre"):
    return [LabelledRow(label, n, op, cond)]


def test_definite_skip_never_executes_region():
    body = "    movi v0.16b, #0\n" + FILLER + "pre:\n    nop\n" + REGION
    x5, s = _run(body, _rows(), sparce=True)
    assert x5 == 0                                   # the region really did not run
    assert s["system.cpu.sparce.regionsSkipped"] == 1 and s["system.cpu.sparce.instsSkipped"] == 24
    assert s["system.cpu.sparce.regionsSkippable"] == 0 and s["system.cpu.sparce.squashedInsts"] == 0
    x5_off, s_off = _run(body, _rows(), sparce=False)
    assert x5_off == 24 and s_off["simInsts"] - s["simInsts"] == 24
    assert s["system.cpu.numCycles"] < s_off["system.cpu.numCycles"]


def test_condition_false_executes_region():
    body = "    movi v0.4s, #1\n" + FILLER + "pre:\n    nop\n" + REGION
    x5, s = _run(body, _rows(), sparce=True)
    assert x5 == 24 and s["system.cpu.sparce.regionsSkipped"] == 0 and s["system.cpu.sparce.sasaHits"] == 1


LOAD = "    adrp x1, snippet_data\n    add x1, x1, :lo12:snippet_data\n" + FILLER + \
       "    ldr s0, [x1]\npre:\n    nop\n"


# the region's first instruction waits for a chain of fmadds (4 cycles apart), so it cannot issue
# before the load of its condition register (an L1D hit: the line is loaded first) commits
CHAIN = "".join("    fmadd s2, s4, s5, s2\n" for _ in range(3))
LOAD_CHAIN = "    adrp x1, snippet_data\n    add x1, x1, :lo12:snippet_data\n    ldr w9, [x1, #8]\n" + FILLER + \
             "    ldr s0, [x1]\n" + CHAIN + "pre:\n    nop\n"
REGION_FP = "    fmadd s2, s0, s6, s2\n" + "".join("    add x5, x5, #1\n" for _ in range(23))


def test_skippable_region_resolved_true_nullifies_and_skips():
    x5, s = _run(LOAD_CHAIN + REGION_FP, _rows(), data="    .zero 128", sparce=True)   # loads 0.0
    assert s["system.cpu.sparce.regionsSkippable"] == 1
    assert s["system.cpu.sparce.skippableResolvedTrue"] == 1
    nullified = s["system.cpu.sparce.squashedInsts"]
    assert 0 < nullified < 24 and s["system.cpu.sparce.instsSkipped"] == 24 - nullified
    assert x5 == 0                                   # nullified instructions never commit
    _, s_off = _run(LOAD_CHAIN + REGION_FP, _rows(), data="    .zero 128", sparce=False)
    assert s_off["simInsts"] - s["simInsts"] == 24


def test_skippable_region_resolved_too_late_executes():
    """gem5's rule: a region instruction issued before the condition resolved (the region's
    first add does not wait for the load), so the region runs in order."""
    x5, s = _run(LOAD + REGION, _rows(), data="    .zero 128", sparce=True)   # loads 0.0
    assert s["system.cpu.sparce.regionsSkippable"] == 1
    assert s["system.cpu.sparce.skippableResolvedTrue"] == 0
    assert s["system.cpu.sparce.regionsSkipped"] == 0 and x5 == 24


def test_skippable_region_resolved_false_executes():
    data = "    .float 1.5\n    .zero 124"
    x5, s = _run(LOAD + REGION, _rows(), data=data, sparce=True)
    assert s["system.cpu.sparce.regionsSkippable"] == 1 and s["system.cpu.sparce.regionsSkipped"] == 0
    assert x5 == 24


def test_region_entered_by_branch_is_a_miss():
    body = "    movi v0.16b, #0\n" + FILLER + "pre:\n    b 2f\n    nop\n2:\n" + REGION
    rows = [LabelledRow("pre", 1, CondOp.SINGLE, (SpRFOperand("v0"),))]   # region = the nop
    x5, s = _run(body, rows, sparce=True)
    assert s["system.cpu.sparce.sasaHits"] == 0 and s["system.cpu.sparce.regionsSkipped"] == 0
    assert x5 == 24


def test_second_sasa_ld_refreshes_the_table():
    first = [LabelledRow("pre_a", 24, CondOp.SINGLE, (SpRFOperand("v0"),))]
    second = [LabelledRow("pre_b", 24, CondOp.SINGLE, (SpRFOperand("v0"),))]
    body = ("    movi v0.16b, #0\n" + FILLER + "pre_a:\n    nop\n" + REGION      # skipped by table 1
            + sasa_ld_asm("tbl2", entries=1) + FILLER + "pre_b:\n    nop\n" + REGION)   # skipped by table 2
    prog = sasa_ld_asm("tbl", entries=1) + body + STORE_X5
    elf = build_snippet(prog, data="    .zero 128", extra=table_asm("tbl", first) + table_asm("tbl2", second))
    res = simulate(elf, outputs={"snippet_data": ((24,), np.uint64)}, sparce=True)
    assert int(res.outputs["snippet_data"][8]) == 0
    assert res.stats["system.cpu.sparce.sasaLoads"] == 2
    assert res.stats["system.cpu.sparce.regionsSkipped"] == 2
    # with only the first table, the second region runs
    prog1 = sasa_ld_asm("tbl", entries=1) + body.replace(sasa_ld_asm("tbl2", entries=1), "") + STORE_X5
    elf1 = build_snippet(prog1, data="    .zero 128", extra=table_asm("tbl", first) + table_asm("tbl2", second))
    res1 = simulate(elf1, outputs={"snippet_data": ((24,), np.uint64)}, sparce=True)
    assert int(res1.outputs["snippet_data"][8]) == 24


def test_lane_condition_reads_only_its_lane():
    body = "    movi v0.16b, #0\n    mov w3, #7\n    mov v0.s[1], w3\n" + FILLER + "pre:\n    nop\n" + REGION
    x5, _ = _run(body, _rows(cond=(SpRFOperand("v0", 0),)), sparce=True)
    assert x5 == 0                                   # lane 0 is zero
    x5, _ = _run(body, _rows(cond=(SpRFOperand("v0", 1),)), sparce=True)
    assert x5 == 24                                  # lane 1 holds 7
    x5, _ = _run(body, _rows(cond=(SpRFOperand("v0"),)), sparce=True)
    assert x5 == 24                                  # whole register is not zero


def test_table_overflow_is_reported_with_pc():
    rows = [LabelledRow(f"p{i}", 1, CondOp.SINGLE, (SpRFOperand("v0"),)) for i in range(21)]
    body = "".join(f"p{i}:\n    nop\n" for i in range(22))
    with pytest.raises(SimulationError, match="overflows the 20-entry"):
        _run(body, rows, sparce=True)


def test_condition_register_without_sprf_entry_is_rejected():
    from gem5_configs.params import MINOR_DEFAULT
    small = MINOR_DEFAULT.with_overrides({"sprf_entries": "8"})
    body = "pre:\n    nop\n" + REGION
    with pytest.raises(SimulationError, match="v12 has no SpRF entry"):
        _run(body, _rows(cond=(SpRFOperand("v12"),)), sparce=True, params=small)


def test_region_writing_its_condition_is_rejected():
    body = "pre:\n    nop\n    movi v0.16b, #0\n"
    with pytest.raises(SimulationError, match="writes its own condition register"):
        _run(body, _rows(n=1), sparce=True)


def test_sasa_ld_from_unmapped_memory_faults_with_pc():
    elf = build_snippet("    mov x16, #0x10\n    sasa_ld x16, 2\n")
    with pytest.raises(SimulationError, match=r"PC 0x[0-9a-f]+: SASA-LD reads 2 entries at unmapped"):
        simulate(elf, sparce=True)
