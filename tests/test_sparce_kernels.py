"""SPARCE on vs off on the hand-tabled kernels: bit-identical outputs, real skips, no 0% slowdown."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sparce_jobs.kernel_run import dims_for, make_inputs, run_kernel

SHAPES = {"dot": {"n": 256}, "dirconv": {"c": 4, "h": 6, "w": 6, "oc": 3}}


def _pair(kernel, sparsity, seed, dims=None):
    dims = dims_for(kernel, **(dims or SHAPES[kernel]))
    inputs = make_inputs(kernel, dims, sparsity, seed)
    off = run_kernel(kernel, dims, inputs=inputs)
    on = run_kernel(kernel, dims, sparce=True, sasa="hand", inputs=inputs)
    return off, on


@settings(max_examples=12, deadline=None)
@given(kernel=st.sampled_from(["dot", "dirconv"]), sparsity=st.floats(0, 1), seed=st.integers(0, 2**16))
def test_sparce_on_off_bit_identical(kernel, sparsity, seed):
    off, on = _pair(kernel, sparsity, seed)
    assert off.output.view(np.uint32).tolist() == on.output.view(np.uint32).tolist()
    assert on.bit_exact


@pytest.mark.parametrize("kernel", ["dot", "dirconv"])
def test_sparsity_removes_instructions(kernel):
    off, on = _pair(kernel, 0.7, 5)
    s = on.result.stats
    assert s["system.cpu.sparce.regionsSkipped"] > 0
    assert s["simInsts"] + s["system.cpu.sparce.instsSkipped"] + s["system.cpu.sparce.squashedInsts"] \
        == off.result.stats["simInsts"] + 3          # + the SASA-LD and its two address insts
    assert s["system.cpu.numCycles"] < off.result.stats["system.cpu.numCycles"]


@pytest.mark.parametrize("kernel", ["dot", "dirconv"])
def test_no_slowdown_at_zero_sparsity(kernel):
    dims = {"dot": {"n": 2048}, "dirconv": {"c": 8, "h": 8, "w": 8, "oc": 8}}[kernel]
    off, on = _pair(kernel, 0.0, 1, dims)
    if kernel == "dot":       # dirconv's zero padding is real sparsity even at 0%
        assert on.result.stats["system.cpu.sparce.regionsSkipped"] == 0
    assert on.result.stats["system.cpu.numCycles"] <= 1.01 * off.result.stats["system.cpu.numCycles"]
