"""Kernels on the engine against numpy, and the same ELF under qemu-aarch64 (issue 2)."""
import shutil
import subprocess

import pytest

from kernels.build import build
from sparce_jobs.kernel_run import build_params, dims_for, make_inputs, run_kernel, to_memory
from sparce_sim.loader import load_elf


@pytest.mark.parametrize("kernel,dims", [
    ("dot", {"n": 64}), ("dot", {"n": 1000}),
    ("dirconv", {"c": 3, "h": 5, "w": 6, "oc": 2}), ("dirconv", {"c": 8, "h": 7, "w": 7, "oc": 5}),
    ("sgemm", {"m": 16, "n": 4, "k": 1}), ("sgemm", {"m": 20, "n": 6, "k": 5}),
    ("sgemm", {"m": 48, "n": 12, "k": 33}),
])
@pytest.mark.parametrize("sparsity", [0.0, 0.6])
def test_kernel_matches_numpy(kernel, dims, sparsity):
    run = run_kernel(kernel, dims_for(kernel, **dims), sparsity, seed=3)
    assert run.bit_exact, f"max abs err {run.max_abs_err}"
    assert run.result.stats["simInsts"] > 0


def _qemu_bytes(elf, inputs):
    """Patch the inputs and dump_output=1 into a copy of the ELF file, run it under qemu."""
    prog = load_elf(elf)
    blob = bytearray(elf.read_bytes())
    seg_of = lambda addr: next(s for s in prog.segments if s.vaddr <= addr < s.vaddr + len(s.data))
    from elftools.elf.elffile import ELFFile
    with elf.open("rb") as fh:
        phdrs = [(p["p_vaddr"], p["p_offset"], p["p_filesz"]) for p in ELFFile(fh).iter_segments()
                 if p["p_type"] == "PT_LOAD"]
    def patch(addr, data):
        vaddr, off, size = next(p for p in phdrs if p[0] <= addr < p[0] + p[2])
        assert addr + len(data) <= vaddr + size
        blob[off + addr - vaddr: off + addr - vaddr + len(data)] = data
    for name, arr in inputs.items():
        patch(prog.symbol(name).addr, to_memory(arr).tobytes())
    patch(prog.symbol("dump_output").addr, (1).to_bytes(8, "little"))
    patched = elf.with_name(elf.stem + "-qemu.elf")
    patched.write_bytes(bytes(blob))
    patched.chmod(0o755)
    return subprocess.run(["qemu-aarch64", str(patched)], capture_output=True, check=True, timeout=60).stdout


@pytest.mark.skipif(shutil.which("qemu-aarch64") is None, reason="qemu-user not installed")
@pytest.mark.parametrize("kernel,dims", [("sgemm", {"m": 20, "n": 8, "k": 9}),
                                         ("dirconv", {"c": 2, "h": 5, "w": 5, "oc": 3}),
                                         ("dot", {"n": 128})])
def test_engine_output_equals_qemu(kernel, dims, tmp_path):
    dims = dims_for(kernel, **dims)
    inputs = make_inputs(kernel, dims, 0.5, seed=11)
    run = run_kernel(kernel, dims, inputs=inputs)
    elf = build(kernel, build_params(kernel, dims), cache_dir=tmp_path)
    assert _qemu_bytes(elf, inputs) == run.output.tobytes()


def test_profile_attributes_the_micro_kernel():
    """system.cpu.profile.*: the sgemm micro-kernel's instructions grow exactly with the 16x4 tiles."""
    from sparce_sim.loader import LoadError
    kern = "sgemm_kernel_16x4"
    counts = {}
    for m, n in ((16, 4), (32, 8)):
        r = run_kernel("sgemm", {"m": m, "n": n, "k": 24}, sparsity=0.0, profile=(kern,))
        s = r.result.stats
        assert 0 < s[f"system.cpu.profile.cycles::{kern}"] < s["system.cpu.numCycles"]
        counts[m] = s[f"system.cpu.profile.insts::{kern}"]
    assert counts[32] == 4 * counts[16]
    with pytest.raises(LoadError, match="no_such_symbol"):
        run_kernel("sgemm", {"m": 16, "n": 4, "k": 8}, profile=("no_such_symbol",))
