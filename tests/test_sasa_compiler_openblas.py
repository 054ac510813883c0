"""The SASA compiler on OpenBLAS's own AArch64 kernels (issue 11; dissertation §4.2, §4.3.1).

OpenBLAS's source comes from Debian (`apt-get source openblas`, cached outside the repository by
sparce_jobs.openblas.debian_source); the tests skip with the reason when it cannot be had. Small
kernels written here check each load form (ldr q, ldp s, ld1r, the general-register route of the
Cortex-A53 kernel) and the "why no region" report; each is verified against qemu-aarch64.
The two real sgemm kernels (compile ~25-55 s each on a loaded 2-core machine, plus verification) run
by default, as in CI; AXSIM_OPENBLAS_FULL=0 leaves them out for a quick local run.
"""
from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import pytest

from sasa_compiler.api import compile_file
from sasa_compiler.errors import CompileError
from sasa_compiler.macros import expand
from sasa_compiler.parse import parse_program
from sasa_compiler.preprocess import preprocess
from sasa_compiler.semantics import effects

needs_tools = pytest.mark.skipif(shutil.which("aarch64-linux-gnu-gcc") is None or shutil.which("qemu-aarch64") is None,
                                 reason="needs aarch64-linux-gnu-gcc and qemu-aarch64")
FULL = os.environ.get("AXSIM_OPENBLAS_FULL", "1") == "1"


@pytest.fixture(scope="session")
def openblas():
    """(source tree, folder with getarch's config.h for ARMV8)."""
    from sparce_jobs.openblas import OpenBlasError, debian_source, default_cache, kernel_config
    if shutil.which("aarch64-linux-gnu-gcc") is None:
        pytest.skip("needs aarch64-linux-gnu-gcc")
    try:
        src = Path(os.environ["AXSIM_OPENBLAS_SRC"]) if "AXSIM_OPENBLAS_SRC" in os.environ else debian_source(default_cache())
        return src, kernel_config(src, default_cache(), "ARMV8")
    except OpenBlasError as exc:
        pytest.skip(f"OpenBLAS source not available: {exc}")


def _defines(name: str) -> dict[str, str]:
    """How OpenBLAS's Makefile assembles a kernel file: DOUBLE for d/z, COMPLEX (+ NN) for c/z."""
    d = {"ASSEMBLER": "1"}
    if name[0] in "dz":
        d["DOUBLE"] = "1"
    if name[0] in "cz":
        d.update(COMPLEX="1", NN="1")
    return d


def test_every_non_sve_arm64_kernel_parses_and_sve_is_refused(openblas):
    src, cfg = openblas
    files = sorted(glob.glob(str(src / "kernel" / "arm64" / "*.S")))
    assert len(files) > 50
    parsed, refused = [], []
    for f in files:
        name = Path(f).name
        try:
            prog = parse_program(expand(preprocess(Path(f), _defines(name), [src, cfg])))
            for inst in prog.insts:
                effects(inst)           # every instruction has modelled semantics
            parsed.append(name)
        except CompileError as exc:
            assert "sve" in name, f"{name}: {exc}"
            assert "SVE" in str(exc) and "AdvSIMD" in str(exc), str(exc)
            refused.append(name)
    assert "sgemm_kernel_16x4.S" in parsed and "sgemm_kernel_8x8_cortexa53.S" in parsed
    assert all("sve" in n for n in refused) and refused, refused
    assert len(parsed) + len(refused) == len(files)


def _kernel(form: str) -> str:
    """An OpenBLAS-shaped 16x4 kernel (two B register sets, each loaded one half ahead of its 16
    fmla, as KERNEL16x4_M1/M2 do): void kern(float *A, float *B, float *C, long k), C(16x4) += A*B."""
    load, lane = FORMS[form]
    acc = [f"v{n}" for n in range(16, 32)]
    lines = ["    .text", "    .global kern", "    .type kern, %function", "kern:", "    // @sparse x1",
             "    // @returns none"] + [f"    movi {a}.4s, #0" for a in acc] + [load(8, 9), "1:"]
    for cur, nxt, gp in ((8, 12, 10), (12, 8, 9)):
        lines.append("    ld1 {v0.4s, v1.4s, v2.4s, v3.4s}, [x0], #64")
        lines.append(load(nxt, gp))
        lines += [f"    fmla {acc[4 * j + a]}.4s, v{a}.4s, {lane(cur, j)}" for j in range(4) for a in range(4)]
    lines += ["    subs x3, x3, #2", "    bne 1b"]
    for q in range(4):
        lines += ["    ld1 {v4.4s, v5.4s, v6.4s, v7.4s}, [x2]"]
        lines += [f"    fadd v{4 + a}.4s, v{4 + a}.4s, {acc[4 * q + a]}.4s" for a in range(4)]
        lines += ["    st1 {v4.4s, v5.4s, v6.4s, v7.4s}, [x2], #64"]
    lines.append("    ret")
    return "\n".join(lines) + "\n"


FORMS = {
    "ldr_q": (lambda r, gp: f"    ldr q{r}, [x1], #16", lambda r, j: f"v{r}.s[{j}]"),
    "ldp_s": (lambda r, gp: f"    ldp s{r}, s{r + 1}, [x1], #8\n    ldp s{r + 2}, s{r + 3}, [x1], #8",
              lambda r, j: f"v{r + j}.s[0]"),
    "ld1r": (lambda r, gp: "\n".join(f"    ld1r {{v{r + j}.4s}}, [x1], #4" for j in range(4)),
             lambda r, j: f"v{r + j}.s[0]"),
    "gpr_fmov": (lambda r, gp: f"    ldr d{r}, [x1], #8\n    ldr x{gp}, [x1], #8\n    fmov v{r}.d[1], x{gp}",
                 lambda r, j: f"v{r}.s[{j}]"),
}
SIGNATURE = "void kern(float *A[16*k], float *B[4*k+8] sparse, float *C[64], long k=8)"


@needs_tools
@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_load_form_yields_regions_that_skip_and_verify(form, tmp_path):
    """Every form gets regions; ldr q and the general-register route are also run (qemu vs engine
    SPARCE off/on, skips counted); all four unless AXSIM_OPENBLAS_FULL=0 (each run builds two ELFs)."""
    from sparce_jobs.kernel_verify import KernelBuild, parse_signature, verify_kernel
    src = tmp_path / f"{form}.S"
    src.write_text(_kernel(form))
    res = compile_file(src, tmp_path / "out.S", report=tmp_path / "report.txt")
    conds = {e["condition"]["text"] for e in res.listing["entries"]}
    assert res.entries > 0, (tmp_path / "report.txt").read_text()
    assert not any("no_region" in x for x in res.listing["sparse_loads"]), res.listing["sparse_loads"]
    if form == "gpr_fmov":                     # lanes 2-3 arrive through x10/x9
        assert {"v8.s[2]", "v8.s[3]", "v12.s[2]", "v12.s[3]"} <= conds, conds
    if form not in ("ldr_q", "gpr_fmov") and not FULL:
        return
    cases = verify_kernel(parse_signature(SIGNATURE), src, tmp_path / "out.S", KernelBuild(), [0.5], [3],
                          tmp_path / "verify", redundancy=False)
    assert all(c.identical for c in cases), [c.detail for c in cases]
    assert cases[0].skipped > 0


def test_report_says_why_a_sparse_load_decides_no_region(tmp_path):
    src = tmp_path / "fresh.S"
    src.write_text("""
    .text
    .global kern
kern:
    // @sparse x1
1:
    ldr q0, [x0], #16
    ldr s8, [x1], #4
    fmul v16.4s, v0.4s, v8.s[0]
    st1 {v16.4s}, [x2], #16
    subs x3, x3, #1
    bne 1b
    ret
""")
    res = compile_file(src, tmp_path / "out.S", report=tmp_path / "report.txt")
    assert res.entries == 0
    (load,) = res.listing["sparse_loads"]
    assert "fresh fmul" in load["no_region"]
    assert "decide no region" in (tmp_path / "report.txt").read_text()


def test_sve_instruction_is_refused_with_its_line(tmp_path):
    src = tmp_path / "sve.S"
    src.write_text("    .text\nk:\n    // @sparse x1\n    ld1w z0.s, p0/z, [x1]\n    ret\n")
    with pytest.raises(CompileError, match=r"sve.S:4: .*SVE"):
        compile_file(src, tmp_path / "out.S")
    assert not (tmp_path / "out.S").exists()


def test_branch_aliases_parse_as_conditional_branches(tmp_path):
    src = tmp_path / "alias.S"
    src.write_text("    .text\nk:\n    // @sparse x1\n1:\n    ldr s8, [x1], #4\n    subs x3, x3, #1\n"
                   "    bgt 1b\n    ble 2f\n    bne 1b\n2:\n    ret\n")
    prog = parse_program(expand(preprocess(src)))
    assert [i.mnemonic for i in prog.insts if i.mnemonic.startswith("b")] == ["b.gt", "b.le", "b.ne"]
    assert all(effects(i).conditional for i in prog.insts if i.mnemonic.startswith("b."))


REAL = {"sgemm_kernel_16x4.S": ("KERNEL16x4_M1", "KERNEL16x4_M2"),
        "sgemm_kernel_8x8_cortexa53.S": ("KERNEL8x8_M1", "KERNEL8x8_M2")}


@pytest.mark.skipif(not FULL, reason="AXSIM_OPENBLAS_FULL=0: the real OpenBLAS sgemm kernels left out")
@needs_tools
@pytest.mark.parametrize("kernel", sorted(REAL))
def test_real_openblas_sgemm_kernel_compiles_verifies_and_skips_in_hot_loop(openblas, kernel, tmp_path):
    from sparce_jobs.kernel_verify import KernelBuild, parse_signature, verify_kernel
    from sparce_jobs.openblas import SPARSE_REG, VERIFY_SHAPE, sgemm_signature
    src, cfg = openblas
    copy = tmp_path / kernel                        # unmodified except for the annotation
    copy.write_text(f"// @sparse {SPARSE_REG}\n" + (src / "kernel" / "arm64" / kernel).read_text())
    defines = {"ASSEMBLER": "1", "ASMNAME": "sgemm_kernel"}
    res = compile_file(copy, tmp_path / "out.S", defines=defines, include_dirs=[src, cfg],
                       assume_no_negzero=True)
    hot = [e for e in res.listing["entries"] if any(m in ins["origin"] for ins in e["instructions"] for m in REAL[kernel])]
    assert hot, f"no SASA entry in {REAL[kernel]}"
    kb = KernelBuild([src, cfg], defines)
    cases = verify_kernel(parse_signature(sgemm_signature(*VERIFY_SHAPE)), src / "kernel" / "arm64" / kernel,
                          tmp_path / "out.S", kb, [0.5], [0], tmp_path / "verify")
    assert all(c.ok for c in cases), [c.detail for c in cases]
    assert cases[0].skipped > 0


@pytest.mark.parametrize("sig, message", [
    ("k(float *A[4])", "mark the sparse array"),
    ("k(float *A[n] sparse)", "'n' is not an earlier scalar"),
    ("k(long n, float *A[n] sparse)", "scalar n needs a value"),
    ("k(char *s[4] sparse)", "not supported"),
    ("k(float *A sparse)", "needs its length"),
])
def test_bad_signatures_get_one_line_errors(sig, message):
    from sparce_jobs.kernel_verify import AbiError, parse_signature
    with pytest.raises(AbiError, match=message) as e:
        parse_signature(sig).lengths()
    assert "\n" not in str(e.value)


@needs_tools
def test_verify_with_a_signature_the_kernel_does_not_define(tmp_path, capsys):
    from axsim.cli import main
    src = tmp_path / "k.S"
    src.write_text(_kernel("ldr_q"))
    rc = main(["compile", str(src), "-o", str(tmp_path / "out.S"), "--verify",
               "--abi", "void other(float *A[64], float *B[32] sparse, float *C[64], long k=2)"])
    err = capsys.readouterr().err
    assert rc == 2 and "undefined reference to 'other'" in err and len(err.strip().splitlines()) == 1
