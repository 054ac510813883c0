"""`axsim openblas build` and programs linked to its libraries (issue 11; dissertation §4.3.1).

Bad input is checked always (fast). The build itself (OpenBLAS's Makefile, ~3 min on two loaded cores,
plus compiling and verifying the kernel) runs by default, as in CI (about a minute; a finished build in
$AXSIM_OPENBLAS_CACHE/build-ARMV8 is resumed from); AXSIM_OPENBLAS_FULL=0 leaves it out unless a
finished build is already cached. Nothing of OpenBLAS is
in the repository: the source comes from `apt-get source openblas`.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sparce_jobs.openblas import (OpenBlasError, _kernel_command, build, check_tree, conv_reference, debian_source,
                                  default_cache, link_program, run_conv_layer)

needs_tools = pytest.mark.skipif(shutil.which("aarch64-linux-gnu-gcc") is None or shutil.which("qemu-aarch64") is None,
                                 reason="needs aarch64-linux-gnu-gcc and qemu-aarch64")
CACHE = default_cache()
BUILD = CACHE / "build-ARMV8"
FULL = os.environ.get("AXSIM_OPENBLAS_FULL", "1") == "1" or (BUILD / "build.json").is_file()


def test_tree_without_kernels_is_refused(tmp_path):
    (tmp_path / "Makefile").write_text("all:\n")
    with pytest.raises(OpenBlasError, match="not an OpenBLAS source tree"):
        build(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unknown_target_names_the_targets_there(tmp_path):
    (tmp_path / "Makefile").write_text("all:\n")
    (tmp_path / "kernel" / "arm64").mkdir(parents=True)
    (tmp_path / "kernel" / "arm64" / "KERNEL.ARMV8").write_text("")
    with pytest.raises(OpenBlasError, match=r"no kernel/arm64/KERNEL.NOSUCH \(targets here: ARMV8\)"):
        check_tree(tmp_path, "NOSUCH")


def test_c_sgemm_kernel_is_refused(tmp_path):
    (tmp_path / "axsim-build.log").write_text(
        "aarch64-linux-gnu-gcc -O2 -DASMNAME=sgemm_kernel -I.. -c ../kernel/generic/gemmkernel_2x2.c -o sgemm_kernel.o\n")
    with pytest.raises(OpenBlasError, match="C kernel"):
        _kernel_command(tmp_path)


def test_unbuildable_program_reports_the_linker(tmp_path):
    (tmp_path / "p.c").write_text("void cblas_nothing(void); int main(void){ cblas_nothing(); return 0; }")
    (tmp_path / "lib.a").write_bytes(b"!<arch>\n")
    with pytest.raises(OpenBlasError, match="cblas_nothing"):
        link_program(tmp_path / "p.c", tmp_path / "lib.a", tmp_path, tmp_path / "p")


@pytest.fixture(scope="module")
def built():
    if not FULL:
        pytest.skip("AXSIM_OPENBLAS_FULL=0: the libopenblas build is left out (or keep a build in "
                    f"{BUILD})")
    try:
        src = Path(os.environ["AXSIM_OPENBLAS_SRC"]) if "AXSIM_OPENBLAS_SRC" in os.environ else debian_source(CACHE)
    except OpenBlasError as exc:
        pytest.skip(f"OpenBLAS source not available: {exc}")
    return build(src, BUILD, "ARMV8", verify=True, verify_sparsities=(0.5,))


@needs_tools
def test_build_gives_both_libraries_and_a_verified_kernel(built):
    assert built.kernel == "sgemm_kernel_16x4.S" and built.entries > 0
    assert built.original.is_file() and built.sparce.is_file()
    assert all(c["identical"] and c["redundancy_ok"] for c in built.verified)
    assert all(c["insts_skipped"] > 0 for c in built.verified if c["sparsity"] > 0)
    members = subprocess.run(["aarch64-linux-gnu-ar", "t", str(built.sparce)], capture_output=True, text=True).stdout
    assert "sgemm_kernel.o" in members.split()
    nm = subprocess.run(["aarch64-linux-gnu-nm", str(built.sparce)], capture_output=True, text=True).stdout
    assert "sasa_table_" in nm and "sasa_table_" not in subprocess.run(
        ["aarch64-linux-gnu-nm", str(built.original)], capture_output=True, text=True).stdout


@needs_tools
def test_cblas_sgemm_program_is_bit_identical_to_qemu_with_the_original(built, tmp_path):
    shape = {"c_in": 8, "h_in": 9, "w_in": 9, "c_out": 24, "ksize": 3}
    run = run_conv_layer(BUILD, tmp_path, 0.5, shape)
    assert run.identical, run.stdout
    zeros, total = conv_reference(0.5, shape)
    m = re.search(r"input zeros (\d+)/\d+.*sum=(\S+)", run.stdout, re.S)
    assert int(m.group(1)) == zeros and float(m.group(2)) == pytest.approx(total, rel=1e-4)
    assert run.insts_skipped > 0 and run.kernel_cycles_on < run.kernel_cycles_off


def test_sve_target_kernel_is_refused_with_the_reason(tmp_path):
    """ARMV8SVE's sgemm kernel: the job stops with the compiler's SVE message, and writes nothing."""
    from sparce_jobs.openblas import _compile_kernel, kernel_config
    if shutil.which("aarch64-linux-gnu-gcc") is None:
        pytest.skip("needs aarch64-linux-gnu-gcc")
    try:
        src = Path(os.environ["AXSIM_OPENBLAS_SRC"]) if "AXSIM_OPENBLAS_SRC" in os.environ else debian_source(CACHE)
        cfg = kernel_config(src, CACHE, "ARMV8")
    except OpenBlasError as exc:
        pytest.skip(f"OpenBLAS source not available: {exc}")
    kernel = src / "kernel" / "arm64" / "sgemm_kernel_sve_v1x8.S"
    with pytest.raises(OpenBlasError, match=r"cannot compile sgemm_kernel_sve_v1x8.S.*SVE"):
        _compile_kernel(kernel, tmp_path / "k.sasa.S", tmp_path, [f"-I{src}", f"-I{cfg}", "-DASSEMBLER"], tmp_path)
    assert list(tmp_path.iterdir()) == []


@needs_tools
def test_network_runs_every_layer_through_openblas(built, tmp_path):
    """`axsim network --blas openblas`: each lowered layer through OpenBLAS's own cblas_sgemm, the
    original library against the SPARCE one; run_network itself requires the two outputs to be
    bit-identical and to match onnxruntime's layer outputs."""
    import csv

    from sparce_jobs.network import run_network
    from sw_models.datasets import digits
    from test_network import _model
    image = digits(size=8)[2][:1]
    summary = run_network(_model(tmp_path / "m.onnx"), image, tmp_path / "run", blas=BUILD)
    rows = list(csv.DictReader((tmp_path / "run" / "layers.csv").open()))
    assert [r["layer"] for r in rows] == ["conv1", "conv2", "fc"]
    assert all(int(r["samples"]) == 1 and float(r["base_cycles"]) > 0 for r in rows)
    conv2 = rows[1]
    assert float(conv2["b_sparsity"]) > 0.2 and float(conv2["insts_skipped"]) > 0
    # this 16x72x16 layer is bound by OpenBLAS's packing stores (CPI ~5 with issue 16's memory
    # model), so skipping 5% of its instructions buys little; SPARCE must not cost more than 2%
    assert float(conv2["sparce_insts"]) < float(conv2["base_insts"])
    assert float(conv2["sparce_cycles"]) < 1.02 * float(conv2["base_cycles"])
    assert summary["layers"] == 3


def test_network_refuses_a_folder_without_the_libraries(tmp_path):
    from sparce_jobs.network import check_blas_dir
    with pytest.raises(FileNotFoundError, match="original/libopenblas.a"):
        check_blas_dir(tmp_path)
