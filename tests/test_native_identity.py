"""The native engine reproduces the Python reference model exactly (issue 10, "identity first").

Every counter of stats.txt (bar the host's own timing) and the per-precedingPC skip counts must be
equal on a matrix of kernels, table sources, sparsities and sizes, on a foreign -O2 C program, and
under non-default parameters; every run's output must also be bit-exact against numpy.
"""
import numpy as np
import pytest

from gem5_configs.params import MINOR_DEFAULT
from kernels.build import PROGRAM_DIR, build_program
from sparce_jobs.kernel_run import dims_for, run_kernel
from sparce_sim.runner import simulate

# (kernel, table source, sparsity, dimension overrides)
MATRIX = [
    ("dot", "none", 0.5, {"n": 1024}),
    ("dot", "hand", 0.0, {"n": 256}),
    ("dot", "hand", 0.5, {"n": 1024}),
    ("dot", "hand", 1.0, {"n": 256}),
    ("dot", "hand", 0.7, {"n": 1024}),
    ("dot", "hand", 0.9, {"n": 3456}),
    ("dirconv", "none", 0.5, {"c": 4, "h": 6, "w": 6, "oc": 4}),
    ("dirconv", "hand", 0.0, {"c": 4, "h": 4, "w": 4, "oc": 4}),
    ("dirconv", "hand", 0.5, {"c": 4, "h": 6, "w": 6, "oc": 4}),
    ("dirconv", "compiled", 0.7, {"c": 8, "h": 4, "w": 4, "oc": 8}),
    ("dirconv", "compiled", 0.9, {"c": 4, "h": 6, "w": 6, "oc": 4}),
    ("dirconv", "compiled", 1.0, {"c": 4, "h": 4, "w": 4, "oc": 4}),
    ("sgemm", "none", 0.5, {"m": 32, "n": 16, "k": 32}),
    ("sgemm", "compiled", 0.0, {"m": 16, "n": 8, "k": 16}),
    ("sgemm", "compiled", 0.5, {"m": 32, "n": 16, "k": 32}),
    ("sgemm", "compiled", 0.7, {"m": 48, "n": 12, "k": 24}),
    ("sgemm", "compiled", 0.9, {"m": 32, "n": 16, "k": 32}),
    ("sgemm", "compiled", 1.0, {"m": 16, "n": 8, "k": 16}),
]


def _comparable(stats: dict) -> dict:
    return {k: v for k, v in stats.items() if not k.startswith("host")}


def _assert_identical(native, python) -> None:
    a, b = _comparable(native.stats), _comparable(python.stats)
    diff = {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}
    assert not diff, f"native vs python differ: {diff}"
    assert native.skips_by_pc == python.skips_by_pc


@pytest.mark.parametrize("kernel,sasa,sparsity,dims", MATRIX,
                         ids=[f"{k}-{s}-{p}-{'x'.join(map(str, d.values()))}" for k, s, p, d in MATRIX])
def test_native_matches_python_model(kernel, sasa, sparsity, dims):
    shape = dims_for(kernel, **dims)
    runs = {engine: run_kernel(kernel, shape, sparsity=sparsity, seed=3, sparce=sasa != "none", sasa=sasa,
                               engine=engine) for engine in ("native", "python")}
    for run in runs.values():
        assert run.bit_exact
    _assert_identical(runs["native"].result, runs["python"].result)
    if sasa != "none" and sparsity >= 0.5:
        assert runs["native"].result.stats["system.cpu.sparce.regionsSkipped"] > 0


def test_native_matches_python_on_a_foreign_c_program():
    elf = build_program(PROGRAM_DIR / "mixed.c")
    runs = {e: simulate(elf, outputs={"OUT": ((8,), np.uint32)}, engine=e) for e in ("native", "python")}
    out = runs["native"].outputs["OUT"]
    assert out[0] == 1                      # the array came out sorted
    assert out[4] == 610                    # fib(15)
    assert np.array_equal(out, runs["python"].outputs["OUT"])
    _assert_identical(runs["native"], runs["python"])


def test_native_matches_python_with_other_parameters():
    params = MINOR_DEFAULT.with_overrides({"l1d.size_kb": "4", "l1d.assoc": "1", "decode_width": "1",
                                           "execute_input_buffer": "3", "dram_latency": "40"})
    shape = dims_for("sgemm", m=32, n=16, k=32)
    runs = {e: run_kernel("sgemm", shape, sparsity=0.6, sparce=True, sasa="compiled", params=params,
                          engine=e) for e in ("native", "python")}
    _assert_identical(runs["native"].result, runs["python"].result)
    default = run_kernel("sgemm", shape, sparsity=0.6, sparce=True, sasa="compiled")
    assert default.result.stats["system.cpu.numCycles"] != runs["native"].result.stats["system.cpu.numCycles"]


# A second memory issue slot only matters where the LSQ lets two accesses go in one cycle: with
# the calibrated transfers queue and in-memory limit (and the writeback micro-ops between
# post-indexed accesses) it never does in mixed.c, so that case widens both.
_WIDE_LSQ = {"lsq_transfers": "8", "mem_accesses_limit": "8"}


@pytest.mark.parametrize("key,value,stat,base_overrides", [
    ("int_alu_units", "1", "system.cpu.numCycles", {}),
    ("mem_issue_limit", "2", "system.cpu.numCycles", _WIDE_LSQ),
    ("bp_entries", "2", "system.cpu.branchPred.condIncorrect", {}),
    ("btb_entries", "1", "system.cpu.numCycles", {}),
])
def test_every_core_parameter_changes_the_model_in_both_engines(key, value, stat, base_overrides):
    """Parameters that used to be accepted and ignored now change what they name, identically."""
    elf = build_program(PROGRAM_DIR / "mixed.c")
    params = MINOR_DEFAULT.with_overrides({**base_overrides, key: value})
    base = simulate(elf, params=MINOR_DEFAULT.with_overrides(base_overrides), engine="native").stats[stat]
    runs = {e: simulate(elf, params=params, engine=e) for e in ("native", "python")}
    _assert_identical(runs["native"], runs["python"])
    assert runs["native"].stats[stat] != base
