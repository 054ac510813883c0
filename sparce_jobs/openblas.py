"""`axsim openblas build`: a SPARCE libopenblas from OpenBLAS's own source (dissertation §4.3.1: the
OpenBLAS-SIMD4 results come from OpenBLAS's sgemm inside Caffe on gem5).

    axsim openblas build --src OPENBLAS_TREE --out DIR [--target ARMV8|CORTEXA53] [--jobs N] [--no-verify]

1. OpenBLAS's own Makefile cross-builds a static single-precision library in a copy of the tree
   (CC=aarch64-linux-gnu-gcc HOSTCC=gcc TARGET=... NOFORTRAN=1 NO_LAPACK=1 USE_THREAD=0
   BUILD_SINGLE=1 ONLY_CBLAS=1 NO_SHARED=1, `make libs`). Its log says which sgemm kernel
   KERNEL.<target> selected and with which flags it was assembled.
2. The SASA compiler compiles that kernel with the same flags, with B (the kernel's 6th argument, x4
   by AAPCS64) as the sparse pointer. OpenBLAS starts every accumulator with `fmul` (KERNEL*_I), so
   the "accumulator is never -0.0" fact cannot be proven; the job passes --assume-no-negative-zero
   and the listing marks those entries ASSUMED (the sum differs only in the sign of an exact zero,
   which C = alpha*acc + C then removes unless C itself holds -0.0).
3. `--verify`: the original kernel under qemu-aarch64 vs the compiled one on the engine, SPARCE off
   and on, bit-identical on random sparse inputs (sparce_jobs.kernel_verify).
4. The compiled kernel is assembled with the exact command OpenBLAS used and replaces the
   `sgemm_kernel.o` member in a copy of the library.

Out: DIR/original/libopenblas.a, DIR/sparce/libopenblas.a, DIR/include/{cblas.h,openblas_config.h},
DIR/kernel/ (compiled .S, listing, report), DIR/build.json. Every step leaves a stamp, so an
interrupted build resumes; files are written under temporary names and renamed.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from atomic_output import copy_file, write_text, write_with

CROSS_GCC = os.environ.get("AXSIM_CROSS_GCC", "aarch64-linux-gnu-gcc")
CROSS_AR = os.environ.get("AXSIM_CROSS_AR", "aarch64-linux-gnu-ar")
TARGETS = ("ARMV8", "CORTEXA53", "CORTEXA57", "CORTEXA72", "CORTEXA73", "NEOVERSEN1")
MAKE_ARGS = ("BINARY=64", f"CC={CROSS_GCC}", "HOSTCC=gcc", "NOFORTRAN=1", "NO_LAPACK=1", "NO_LAPACKE=1",
             "USE_THREAD=0", "USE_OPENMP=0", "NO_SHARED=1", "BUILD_SINGLE=1", "ONLY_CBLAS=1", "NO_AFFINITY=1")
# OpenBLAS's sgemm kernel ABI (kernel/arm64/*.S, driver/level3): B is packed B, the sparse operand
SGEMM_ABI = ("int sgemm_kernel(long m={m}, long n={n}, long k={k}, float alpha={alpha}, float *A[m*k]{sa}, "
             "float *B[k*n]{sb}, float *C[m*n], long ldc=m)")


# verification shape: M = 2 x 16 + 3 and N = 8 + 1 reach the tails of both kernels, K = 64 runs the
# unrolled k-loops (KERNEL16x4_M1/M2, KERNEL8x8_M1/M2) several times
VERIFY_SHAPE = (35, 9, 64)
VERIFY_ABI = "m={} n={} k={} alpha=1.5".format(*VERIFY_SHAPE)


def sgemm_signature(m: int, n: int, k: int, alpha: float = 1.5, sparse_operand: str = "B") -> str:
    """OpenBLAS's sgemm kernel ABI with sizes, in sparce_jobs.kernel_verify's --abi syntax."""
    return SGEMM_ABI.format(m=m, n=n, k=k, alpha=alpha, sa=" sparse" if sparse_operand == "A" else "",
                            sb=" sparse" if sparse_operand == "B" else "")
SPARSE_REG = "x4"          # B: the 5th integer/pointer argument (alpha travels in s0)
OPERAND_REGS = {"B": "x4", "A": "x3"}
# B (default) is the operand the 16x4/8x8 kernels share across SIMD lanes (`fmla v16.4s, v0.4s, v8.s[0]`):
# a zero in one lane of B skips whole vector fmla's, the mapping §4.4.3 recommends for sparse
# activations (a program computes Activations x Weights so that the activations reach the kernel as
# B). A (non-shared) needs a whole 4-lane vector of zeros.


class OpenBlasError(RuntimeError):
    """The tree, the target or a build step is unusable; the message names which and why."""


@dataclass
class BuildResult:
    out: Path
    target: str
    kernel: str
    entries: int
    original: Path
    sparce: Path
    include: Path
    verified: list[dict]


def _say(msg: str) -> None:
    print(f"[openblas] {msg}", file=sys.stderr, flush=True)


def check_tree(src: Path, target: str) -> None:
    src = Path(src)
    if not (src / "Makefile").is_file() or not (src / "kernel" / "arm64").is_dir():
        raise OpenBlasError(f"{src}: not an OpenBLAS source tree (no Makefile or kernel/arm64/)")
    if not (src / "kernel" / "arm64" / f"KERNEL.{target}").is_file():
        have = sorted(p.name.split(".", 1)[1] for p in (src / "kernel" / "arm64").glob("KERNEL.*"))
        raise OpenBlasError(f"{src}: no kernel/arm64/KERNEL.{target} (targets here: {', '.join(have)})")


def build(src: Path, out: Path, target: str = "ARMV8", jobs: int = 2, verify: bool = True,
          verify_sparsities: tuple[float, ...] = (0.0, 0.5, 0.9), sparse_operand: str = "B",
          overrides: dict[str, str] | None = None) -> BuildResult:
    """Both libraries for `target` from OpenBLAS tree `src` into `out` (resumable). sparse_operand:
    which packed operand of the sgemm kernel holds the sparse data, "B" (default) or "A".
    overrides: system parameters (gem5_configs/params.py) for the compiler and the verification,
    e.g. {"sasa_entries": "64"}; programs linked to this library must run with the same ones."""
    from gem5_configs.params import MINOR_DEFAULT
    params = MINOR_DEFAULT.with_overrides(dict(overrides or {}))
    src, out = Path(src).resolve(), Path(out).resolve()
    target = target.upper()
    if sparse_operand not in OPERAND_REGS:
        raise OpenBlasError(f"sparse operand {sparse_operand!r}: choose A or B")
    check_tree(src, target)
    out.mkdir(parents=True, exist_ok=True)
    work = out / f"work-{target}"
    lib = _make_original(src, work, target, jobs)
    kernel_src, flags = _kernel_command(work)
    _say(f"KERNEL.{target} selects {kernel_src.name}")
    kdir = out / "kernel"
    kdir.mkdir(exist_ok=True)
    compiled = kdir / f"{kernel_src.stem}.sparse{sparse_operand}.sasa.S"
    listing = _compile_kernel(kernel_src, compiled, kdir, flags, work, OPERAND_REGS[sparse_operand], params)
    cases = []
    previous = json.loads((out / "build.json").read_text()) if (out / "build.json").is_file() else {}
    digest = _digest(compiled)
    if verify and previous.get("kernel_sha256") == digest and previous.get("verify_abi") == VERIFY_ABI \
            and [c["sparsity"] for c in previous.get("verify", [])] == list(verify_sparsities):
        cases = previous["verify"]
        _say("kernel already verified (resuming)")
    elif verify:
        cases = _verify(kernel_src, compiled, flags, work, kdir, verify_sparsities, sparse_operand, params)
    sparce_lib = _sparce_library(lib, compiled, flags, work, out)
    original = out / "original" / "libopenblas.a"
    copy_file(lib, original)
    include = out / "include"
    include.mkdir(exist_ok=True)
    _install_headers(work, include)
    result = BuildResult(out, target, kernel_src.name, len(listing["entries"]), original, sparce_lib, include, cases)
    write_text(out / "build.json", json.dumps({
        "target": target, "source": str(src), "kernel": kernel_src.name,
        "sasa_entries": result.entries, "tables": len(listing["tables"]),
        "sparse_operand": sparse_operand, "kernel_sha256": digest,
        "verify_abi": VERIFY_ABI, "param_overrides": dict(overrides or {}),
        "assumed_no_negative_zero": True, "make_args": list(MAKE_ARGS),
        "original": str(original), "sparce": str(sparce_lib), "verify": cases}, indent=1))
    return result


# ---- 1. OpenBLAS's own build
def _make_original(src: Path, work: Path, target: str, jobs: int) -> Path:
    stamp = work / ".axsim-built"
    lib = work / "libopenblas.a"
    if stamp.is_file() and lib.is_file():
        _say(f"original library already built in {work} (resuming)")
        return lib
    if not work.exists():
        _say(f"copying {src} to {work}")
        tmp = work.with_name(work.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp, symlinks=True, ignore=shutil.ignore_patterns(".git", "debian", ".pc"))
        tmp.rename(work)
    cmd = ["make", f"-j{jobs}", "libs", f"TARGET={target}", *MAKE_ARGS]
    _say(f"building the original library: {' '.join(cmd)} (log: {work / 'axsim-build.log'})")
    if shutil.which(CROSS_GCC) is None:
        raise OpenBlasError(f"{CROSS_GCC} not found: install gcc-aarch64-linux-gnu")
    t0, objects = time.time(), 0
    with open(work / "axsim-build.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if " -o " in line and line.rstrip().endswith(".o"):
                objects += 1
                if objects % 50 == 0:
                    _say(f"  {objects} objects compiled ({time.time() - t0:.0f} s)")
        rc = proc.wait()
    if rc != 0:
        tail = (work / "axsim-build.log").read_text().strip().splitlines()[-8:]
        raise OpenBlasError(f"OpenBLAS's make failed (exit {rc}) in {work}:\n  " + "\n  ".join(tail))
    if not lib.is_file():
        raise OpenBlasError(f"{work}: make succeeded but left no libopenblas.a")
    _say(f"original library built: {objects} objects in {time.time() - t0:.0f} s")
    stamp.write_text(" ".join(cmd))
    return lib


def _kernel_command(work: Path) -> tuple[Path, list[str]]:
    """The sgemm kernel source OpenBLAS assembled and its flags (-D/-U/-I, paths made absolute)."""
    log = (work / "axsim-build.log").read_text() if (work / "axsim-build.log").is_file() else ""
    for line in log.splitlines():
        words = shlex.split(line) if line.startswith(CROSS_GCC) else []
        if "-o" in words and words[words.index("-o") + 1] == "sgemm_kernel.o":
            srcs = [w for w in words if w.endswith((".S", ".c", ".s"))]
            if not srcs:
                break
            kernel = (work / "kernel" / srcs[-1]).resolve()
            if kernel.suffix != ".S":
                raise OpenBlasError(f"the target's sgemm kernel is {kernel.name}, a C kernel; the SASA "
                                    "compiler needs an AArch64 assembly kernel (.S)")
            flags = []
            for w in words[1:]:
                if w.startswith(("-D", "-U")):
                    flags.append(w)
                elif w.startswith("-I"):
                    flags.append("-I" + str((work / "kernel" / w[2:]).resolve()))
            return kernel, flags
    raise OpenBlasError(f"{work}: OpenBLAS's build log shows no sgemm_kernel.o (was it built?)")


# ---- 2-3. SASA compiler and verification
def _defines(flags: list[str]) -> dict[str, str]:
    out = {}
    for f in flags:
        if f.startswith("-D"):
            name, _, value = f[2:].partition("=")
            out[name] = value or "1"
    out.setdefault("ASSEMBLER", "1")
    return out


def _digest(path: Path) -> str:
    import hashlib
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _compile_kernel(kernel: Path, compiled: Path, kdir: Path, flags: list[str], work: Path,
                    reg: str = SPARSE_REG, params=None) -> dict:
    from sasa_compiler.api import compile_file
    from sasa_compiler.errors import CompileError
    listing_path = compiled.with_suffix("").with_suffix(".listing.json")
    stamp_path = compiled.with_suffix("").with_suffix(".stamp")
    stamp = json.dumps({"compiler": _compiler_digest(), "kernel": _digest(kernel), "flags": flags, "reg": reg,
                        "params": repr(params)}, sort_keys=True)
    if compiled.is_file() and listing_path.is_file() and stamp_path.is_file() and stamp_path.read_text() == stamp:
        _say(f"SASA kernel already compiled: {compiled} (resuming)")
        return json.loads(listing_path.read_text())
    _say(f"SASA compiler on {kernel.name} (sparse pointer {reg})")
    try:
        res = compile_file(kernel, compiled, listing_path, report=compiled.with_suffix("").with_suffix(".report.txt"),
                           defines=_defines(flags), include_dirs=[Path(f[2:]) for f in flags if f.startswith("-I")],
                           sparse=[reg], assume_no_negzero=True,
                           **({"params": params} if params is not None else {}))
    except CompileError as exc:
        raise OpenBlasError(f"the SASA compiler cannot compile {kernel.name} for this target: {exc}") from None
    _say(f"  {res.entries} SASA entries in {len(res.listing['tables'])} table(s)")
    write_text(stamp_path, stamp)
    return res.listing


def _compiler_digest() -> str:
    """The SASA compiler's sources: a cached compiled kernel is reused only by the same compiler."""
    import hashlib
    import sasa_compiler
    h = hashlib.sha256()
    for f in sorted(Path(sasa_compiler.__file__).parent.glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()


def _verify(kernel: Path, compiled: Path, flags: list[str], work: Path, kdir: Path,
            sparsities: tuple[float, ...], operand: str = "B", params=None) -> list[dict]:
    from .kernel_verify import KernelBuild, parse_signature, verify_kernel
    sig = parse_signature(sgemm_signature(*VERIFY_SHAPE, 1.5, operand))
    kb = KernelBuild([Path(f[2:]) for f in flags if f.startswith("-I")], _defines(flags))
    _say(f"verifying {kernel.name}: qemu-aarch64 (original) vs engine SPARCE off/on, sparsities {list(sparsities)}")
    cases = verify_kernel(sig, kernel, compiled, kb, list(sparsities), [0], kdir / "verify", params=params)
    rows = [{"sparsity": c.sparsity, "seed": c.seed, "identical": c.identical, "redundancy_ok": c.redundancy_ok,
             "insts_skipped": c.skipped} for c in cases]
    bad = [c for c in cases if not c.ok]
    if bad:
        raise OpenBlasError("verification failed: " + "; ".join(c.detail.strip() for c in bad))
    _say(f"  bit-identical in {len(cases)} run(s), every skip redundant; instructions skipped: "
         + ", ".join(f"{c.skipped} at sparsity {c.sparsity}" for c in cases))
    return rows


# ---- 4. the SPARCE library
def _sparce_library(lib: Path, compiled: Path, flags: list[str], work: Path, out: Path) -> Path:
    members = subprocess.run([CROSS_AR, "t", str(lib)], capture_output=True, text=True).stdout.split()
    if "sgemm_kernel.o" not in members:
        raise OpenBlasError(f"{lib}: has no sgemm_kernel.o member")
    from isa_ext import __file__ as isa_init
    obj = out / "kernel" / "sgemm_kernel.o"
    cmd = [CROSS_GCC, "-O2", "-c", "-x", "assembler-with-cpp", *flags, f"-I{Path(isa_init).parent}",
           str(compiled), "-o", str(obj)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise OpenBlasError(f"{compiled}: the SASA kernel does not assemble:\n{proc.stderr.strip()[-800:]}")
    dest = out / "sparce" / "libopenblas.a"

    def replace_member(tmp: Path) -> None:
        shutil.copyfile(lib, tmp)
        proc = subprocess.run([CROSS_AR, "r", str(tmp), str(obj)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise OpenBlasError(f"ar could not replace sgemm_kernel.o: {proc.stderr.strip()}")
    write_with(dest, replace_member)
    _say(f"SPARCE library: {dest}")
    return dest


def _install_headers(work: Path, include: Path) -> None:
    """cblas.h and openblas_config.h as OpenBLAS's Makefile.install writes them (its lines for
    openblas_config.h: config_last.h with OPENBLAS_ prefixes, the version, the template)."""
    config = work / "config_last.h" if (work / "config_last.h").is_file() else work / "config.h"
    body = ["#ifndef OPENBLAS_CONFIG_H", "#define OPENBLAS_CONFIG_H"]
    for line in config.read_text().splitlines():
        f = line.split()
        if f:
            body.append(" ".join([f[0], "OPENBLAS_" + f[1], *f[2:3]]) if len(f) > 1 else f[0])
    version = re.search(r"^VERSION\s*=\s*(\S+)", (work / "Makefile.rule").read_text(), re.M)
    body.append(f'#define OPENBLAS_VERSION " OpenBLAS {version.group(1) if version else "unknown"} "')
    body.append((work / "openblas_config_template.h").read_text())
    body.append("#endif  /* OPENBLAS_CONFIG_H */")
    write_text(include / "openblas_config.h", "\n".join(body) + "\n")
    write_text(include / "cblas.h", (work / "cblas.h").read_text().replace("common", "openblas_config"))


# ---- linking programs and getting the source
def link_program(program_c: Path, lib: Path, include: Path, out: Path, defines: dict[str, str] | None = None) -> Path:
    """A static AArch64 ELF of `program_c` linked to `lib`; OpenBlasError with the linker's message."""
    cmd = [CROSS_GCC, "-O2", "-static", str(program_c), f"-I{include}", str(lib), "-lm", "-o", str(out),
           *(f"-D{k}={v}" for k, v in (defines or {}).items())]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise OpenBlasError(f"{program_c}: does not build/link against {lib}:\n{proc.stderr.strip()[-800:]}")
    return out


def debian_source(cache: Path) -> Path:
    """OpenBLAS's source from Debian (`apt-get source openblas`) unpacked under `cache`, fetched once.
    Needs a deb-src line for Debian main; OpenBlasError saying so when it cannot be had."""
    cache = Path(cache)
    found = sorted(p for p in cache.glob("openblas-*") if (p / "kernel" / "arm64").is_dir()) if cache.is_dir() else []
    if found:
        return found[-1]
    if shutil.which("apt-get") is None:
        raise OpenBlasError("apt-get not found: give an OpenBLAS tree with --src")
    cache.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["apt-get", "source", "-qq", "openblas"], cwd=cache, capture_output=True, text=True)
    found = sorted(p for p in cache.glob("openblas-*") if (p / "kernel" / "arm64").is_dir())
    if proc.returncode != 0 or not found:
        raise OpenBlasError("`apt-get source openblas` failed (add a deb-src line for Debian main to "
                            f"/etc/apt/sources.list.d/ and run apt-get update): {proc.stderr.strip()[-300:]}")
    return found[-1]


def default_cache() -> Path:
    """Where tests and benchmarks keep OpenBLAS's source and builds: $AXSIM_OPENBLAS_CACHE, else
    ~/.cache/axsim/openblas (outside the repository: nothing of OpenBLAS is committed)."""
    return Path(os.environ.get("AXSIM_OPENBLAS_CACHE", Path.home() / ".cache" / "axsim" / "openblas"))


def kernel_config(src: Path, cache: Path, target: str = "ARMV8") -> Path:
    """A folder with the config.h that OpenBLAS's getarch writes for `target` (its kernels include
    common.h -> config.h), made once with OpenBLAS's Makefile.prebuild in a copy of the tree."""
    cfg = Path(cache) / f"config-{target}"
    if (cfg / "config.h").is_file():
        return cfg
    tmp = Path(cache) / f".prebuild-{target}"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, symlinks=True, ignore=shutil.ignore_patterns(".git", "kernel", "driver", "interface",
                                                                             "lapack-netlib", "test", "ctest", "utest"))
    subprocess.run(["make", "-f", "Makefile.prebuild", f"TARGET={target}", "BINARY=64", f"CC={CROSS_GCC}",
                    "HOSTCC=gcc", "NOFORTRAN=1"], cwd=tmp, capture_output=True, text=True)
    if not (tmp / "config.h").is_file():
        raise OpenBlasError(f"OpenBLAS's Makefile.prebuild wrote no config.h for {target} (in {tmp})")
    cfg.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp / "config.h", cfg / "config.h")
    shutil.rmtree(tmp, ignore_errors=True)
    return cfg


CONV_PROGRAM = Path(__file__).resolve().parent / "programs" / "conv_layer.c"


@dataclass
class ConvRun:
    sparsity: float
    stdout: str
    identical: bool                   # qemu (original library) == engine SPARCE off == on (SPARCE library)
    cycles_off: int
    cycles_on: int
    gemm_cycles_off: int              # cycles in OpenBLAS's sgemm_* code (kernel, copies, beta, driver)
    gemm_cycles_on: int
    kernel_cycles_off: int
    kernel_cycles_on: int
    insts_off: int
    insts_on: int
    insts_skipped: int


def run_conv_layer(lib_dir: Path, work: Path, sparsity: float, shape: dict[str, int] | None = None,
                   seed: int = 1, order: int = 1, overrides: dict[str, str] | None = None) -> ConvRun:
    """Caffe's convolution layer (im2col + cblas_sgemm, sparce_jobs/programs/conv_layer.c) linked to
    the original library under qemu-aarch64 and to the SPARCE library on the engine, SPARCE off and on."""
    from sparce_sim.loader import load_elf
    from sparce_sim.runner import simulate
    from .kernel_verify import run_qemu
    lib_dir, work = Path(lib_dir), Path(work)
    work.mkdir(parents=True, exist_ok=True)
    defines = {k.upper(): str(v) for k, v in (shape or {}).items()}
    defines.update(SPARSITY=repr(float(sparsity)), SEED=str(seed), ORDER=str(order))
    tag = f"s{sparsity:.2f}_o{order}"
    orig = link_program(CONV_PROGRAM, lib_dir / "original" / "libopenblas.a", lib_dir / "include",
                        work / f"conv_original_{tag}", defines)
    sparce = link_program(CONV_PROGRAM, lib_dir / "sparce" / "libopenblas.a", lib_dir / "include",
                          work / f"conv_sparce_{tag}", defines)
    want = run_qemu(orig)
    gemm = tuple(n for n in load_elf(sparce).symbols if n.startswith("sgemm_"))
    from gem5_configs.params import MINOR_DEFAULT
    params = MINOR_DEFAULT.with_overrides(dict(overrides or {}))
    runs = [simulate(sparce, sparce=on, profile=gemm, params=params) for on in (False, True)]

    def prof(r, names):
        return int(sum(r.stats.get(f"system.cpu.profile.cycles::{n}", 0) for n in names))
    off, on = runs
    return ConvRun(sparsity, want.decode(), want == off.stdout == on.stdout,
                   int(off.stats["system.cpu.numCycles"]), int(on.stats["system.cpu.numCycles"]),
                   prof(off, gemm), prof(on, gemm), prof(off, ("sgemm_kernel",)), prof(on, ("sgemm_kernel",)),
                   int(off.stats["simInsts"]), int(on.stats["simInsts"]),
                   int(on.stats["system.cpu.sparce.instsSkipped"]))


def conv_reference(sparsity: float, shape: dict[str, int], seed: int = 1) -> tuple[int, float]:
    """numpy's (input zeros, sum of outputs) for conv_layer.c's layer: its generator replayed in
    Python, the convolution in float64. The independent oracle for the math."""
    import numpy as np
    c, h, w_, co, ks = (shape[k] for k in ("c_in", "h_in", "w_in", "c_out", "ksize"))
    state = 0x853C49E6748FEA9B ^ seed
    mask = (1 << 64) - 1

    def uniform() -> float:
        nonlocal state
        state ^= state >> 12
        state = (state ^ (state << 25)) & mask
        state ^= state >> 27
        return (((state * 0x2545F4914F6CDD1D) & mask) >> 11) / 9007199254740992.0
    wts = np.array([np.float32(uniform() * 2.0 - 1.0) for _ in range(co * c * ks * ks)], np.float64)
    x = np.zeros(c * h * w_)
    for i in range(x.size):
        keep, v = uniform(), uniform()
        x[i] = 0.0 if keep < sparsity else float(np.float32(v))
    x = x.reshape(c, h, w_)
    pad = ks // 2
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - ks + 1, w_ + 2 * pad - ks + 1
    cols = np.stack([xp[:, ky:ky + oh, kx:kx + ow] for ky in range(ks) for kx in range(ks)], 1)
    out = wts.reshape(co, c * ks * ks) @ cols.reshape(c * ks * ks, oh * ow)
    return int((x == 0).sum()), float(out.sum())
