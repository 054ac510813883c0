"""Every instruction a compiled SASA table skips is shown redundant at run time (issue 4, soundness):
its destination is unchanged, or its stale value is read only by other skipped instructions or by
instructions whose result it does not change. A deliberately wrong table must be caught."""
from __future__ import annotations

from pathlib import Path

import pytest

from kernels.build import KERNEL_DIR, build
from sasa_compiler.api import compile_file
from sparce_jobs.redundancy_check import check_elf
from sparce_jobs.compile_verify import table_entries
from sparce_jobs.kernel_run import build_params, make_inputs, to_memory

DIMS = {"sgemm": {"m": 20, "n": 6, "k": 7}, "dirconv": {"c": 2, "h": 4, "w": 4, "oc": 2}, "dot": {"n": 32}}
SRC = {"sgemm": "sgemm_kernel_16x4.S", "dirconv": "dirconv.S", "dot": "dot.S"}


def _elf(kernel: str, tmp: Path, edit=None) -> Path:
    params = build_params(kernel, DIMS[kernel])
    out = tmp / SRC[kernel]
    compile_file(KERNEL_DIR / SRC[kernel], out, defines={k: str(v) for k, v in params.items()},
                 assume_no_negzero=kernel == "dot")      # dot's OUT starts as +0.0 in memory
    if edit:
        out.write_text(edit(out.read_text()))
    return build(kernel, params, "source", replace={SRC[kernel]: out})


def _inputs(kernel: str, sparsity: float, seed: int) -> dict:
    return {n: to_memory(v) for n, v in make_inputs(kernel, DIMS[kernel], sparsity, seed).items()}


@pytest.mark.parametrize("kernel", ["sgemm", "dirconv", "dot"])
def test_compiled_skips_are_redundant(kernel, tmp_path):
    elf = _elf(kernel, tmp_path)
    entries = table_entries(elf)
    assert entries
    for sparsity, seed in ((0.5, 11), (0.9, 12)):
        report = check_elf(elf, _inputs(kernel, sparsity, seed), entries)
        assert report.ok, report.violations[:5]
        assert report.skip_events > 0 and report.unchanged > 0
        if kernel != "sgemm":
            assert report.tainted > 0     # the skipped KER loads leave stale registers behind


def test_wrong_condition_is_caught(tmp_path):
    """Tap 1's region (KER load + fmadd by the INP lane in s4) made conditional on tap 0's lane s0."""
    def wrong(text: str) -> str:
        line = next(ln for ln in text.splitlines() if "skip 2 if v4.s[0]" in ln)
        return text.replace(line, line.replace("0x64", "0x60"))
    elf = _elf("dirconv", tmp_path, wrong)
    report = check_elf(elf, _inputs("dirconv", 0.5, 3), table_entries(elf))
    assert not report.ok
    assert "fmadd" in report.violations[0] and "stale" in report.violations[0] and "PC 0x" in report.violations[0]


def test_a_long_accumulation_chain_compiles_without_recursion(tmp_path):
    """One basic block of 1,500 fmadds into the same accumulator (the -0.0 prover walks the chain):
    it used to exceed Python's recursion limit; now it compiles, and the table is full."""
    from sasa_compiler.api import compile_file
    body = "".join(f"    ldr s0, [x0, #{4 * e}]\n    ldr s1, [x1, #{4 * e}]\n    fmadd s2, s0, s1, s2\n"
                   for e in range(1500))
    src = tmp_path / "chain.S"
    src.write_text("// @sparse x0\n// @returns none\n    .text\n    .global kernel_main\nkernel_main:\n"
                   "    fmov s2, wzr\n" + body + "    str s2, [x2]\n    ret\n")
    result = compile_file(src, tmp_path / "chain.sasa.S")
    assert result.entries == 20 and len(result.segments) == 1
