"""SASA table fitting: AND entries under table pressure (§4.1.3's Boolean SpRF condition) and the
compiled dirconv table against the hand-written one of kernels/tables.py, both run on the engine."""
from __future__ import annotations

import pytest

from gem5_configs.params import MINOR_DEFAULT
from kernels.build import KERNEL_DIR
from sasa_compiler.api import compile_file
from sparce_jobs.compile_verify import verify

DIRCONV = KERNEL_DIR / "dirconv.S"
DEFINES = {"KW": "3", "KH": "3"}
DIMS = {"c": 2, "h": 4, "w": 4, "oc": 2}
SMALL_TABLE = MINOR_DEFAULT.with_overrides({"sasa_entries": "5"})


def _compile(tmp_path, name: str, sparsity: float):
    return compile_file(DIRCONV, tmp_path / name, params=SMALL_TABLE, defines=DEFINES, overflow="rank",
                        sparsity=sparsity)


def test_full_table_uses_single_conditions_only(tmp_path):
    res = compile_file(DIRCONV, tmp_path / "d.S", defines=DEFINES, sparsity=0.8)
    ops = {e["condition"]["op"] for e in res.listing["entries"]}
    assert ops == {"SINGLE"} and not res.listing["and_merged"] and not res.listing["dropped"]


def test_overflow_at_high_modelled_sparsity_merges_into_and_entries(tmp_path):
    res = _compile(tmp_path, "and.S", 0.8)
    entries = res.listing["entries"]
    assert len(entries) <= 5
    ands = [e for e in entries if e["condition"]["op"] == "AND"]
    assert ands, "expected AND entries when dropping loses more than merging"
    for e in ands:
        assert len(e["condition"]["operands"]) == 2 and e["instsToSkip"] >= 2
    # every instruction the compiler wanted is still covered: merges lost nothing to dropping
    assert not res.listing["dropped"]
    assert sum(e["instsToSkip"] for e in entries) == 18      # 9 taps x (KER load + fmadd)


def test_overflow_at_low_modelled_sparsity_drops_instead(tmp_path):
    res = _compile(tmp_path, "drop.S", 0.3)
    assert {e["condition"]["op"] for e in res.listing["entries"]} == {"SINGLE"}
    assert len(res.listing["dropped"]) == 4


def test_and_entries_are_sound_and_pay_off_at_high_sparsity(tmp_path):
    merged = _compile(tmp_path, "and.S", 0.8)
    dropped = _compile(tmp_path, "drop.S", 0.3)
    on_merged = verify("dirconv", merged.out, merged.listing, DIMS, [0.0, 0.5, 0.9, 1.0], [4])
    on_dropped = verify("dirconv", dropped.out, dropped.listing, DIMS, [0.9], [4])
    for case in on_merged:
        assert case.ok, (case.detail, case.redundancy.violations[:3])
    high = next(c for c in on_merged if c.sparsity == 0.9)
    assert high.skipped > on_dropped[0].skipped
    assert high.cycles_on < on_dropped[0].cycles_on


@pytest.mark.parametrize("sparsity", [0.5, 0.9])
def test_compiled_dirconv_at_least_as_good_as_hand_table(sparsity):
    from sparce_jobs.kernel_run import dims_for, make_inputs, run_kernel
    dims = dims_for("dirconv", c=4, h=6, w=6, oc=2)
    inputs = make_inputs("dirconv", dims, sparsity, 7)
    runs = {sasa: run_kernel("dirconv", dims, sparce=True, sasa=sasa, inputs=inputs)
            for sasa in ("hand", "compiled")}
    assert all(r.bit_exact for r in runs.values())
    cycles = {k: r.result.stats["system.cpu.numCycles"] for k, r in runs.items()}
    assert cycles["compiled"] <= cycles["hand"]
