"""`--verify` for any kernel: the soundness oracle of §4.1 (skipping must not change results) for a
kernel the project has never seen, given its C signature.

The user states the signature with sizes, for example

    sgemm_kernel(long m=16, long n=8, long k=13, float alpha=1.5, float *A[m*k], float *B[k*n] sparse,
                 float *C[m*n], long ldc=m)

Scalars take the given value; every pointer gets an array of the given length (an expression in the
scalars) filled with seeded random values in [-1, 1), and `sparse` arrays get that fraction of exact
zeros. A C driver is generated with those inputs as initialised data; it calls the kernel once and
prints every array (and the return value) as hex bit patterns. Three runs must print the same bytes:

1. the *original* kernel, under qemu-aarch64 (an independent emulator, the plain-execution oracle);
2. the SASA-instrumented kernel on the engine with SPARCE off;
3. the same ELF on the engine with SPARCE on.

Then `sparce_jobs.redundancy_check` replays run 2 and checks every would-be skip dynamically.
"""
from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sparce_jobs.compile_verify import VerifyCase

CROSS_GCC = os.environ.get("AXSIM_CROSS_GCC", "aarch64-linux-gnu-gcc")
QEMU = os.environ.get("AXSIM_QEMU", "qemu-aarch64")
_C_TYPES = {"long": "long", "int": "int", "unsigned long": "unsigned long", "float": "float",
            "double": "double", "size_t": "unsigned long", "BLASLONG": "long"}
_ELEM = {"float": ("float", np.float32, "uint32_t", 8), "double": ("double", np.float64, "uint64_t", 16),
         "int": ("int", np.int32, "uint32_t", 8), "long": ("long", np.int64, "uint64_t", 16)}


class AbiError(ValueError):
    """The signature cannot be parsed or does not match the kernel."""


class VerifyError(ValueError):
    """The kernel does not assemble with its driver, or the original fails under qemu."""


@dataclass
class Param:
    name: str
    ctype: str
    pointer: bool
    value: str = ""               # scalars: value expression; pointers: length expression
    sparse: bool = False


@dataclass
class Signature:
    name: str
    ret: str
    params: list[Param]

    def scalars(self) -> dict[str, float]:
        env: dict[str, float] = {}
        for p in self.params:
            if not p.pointer:
                env[p.name] = _eval(p.value, env, f"{p.name}={p.value}")
        return env

    def lengths(self) -> dict[str, int]:
        env = self.scalars()
        out = {}
        for p in self.params:
            if p.pointer:
                n = _eval(p.value, env, f"{p.name}[{p.value}]")
                if n != int(n) or n <= 0:
                    raise AbiError(f"array {p.name}[{p.value}] has length {n}: must be a positive integer")
                out[p.name] = int(n)
        return out


def parse_signature(text: str) -> Signature:
    """Parse `[ret] name(type a=VALUE, type *B[LEN] sparse, ...)`; AbiError naming what is wrong."""
    m = re.fullmatch(r"\s*(?:(void|int|long|float|double)\s+)?([A-Za-z_]\w*)\s*\((.*)\)\s*;?\s*", text, re.S)
    if not m:
        raise AbiError(f"--abi {text!r}: expected NAME(TYPE ARG=VALUE, TYPE *ARRAY[LENGTH] [sparse], ...)")
    params = []
    for part in filter(None, (p.strip() for p in m.group(3).split(","))):
        pm = re.fullmatch(r"(?:const\s+)?([A-Za-z_][\w ]*?)\s*(\*?)\s*([A-Za-z_]\w*)\s*"
                          r"(?:\[([^\]]+)\]|=\s*([^\s]+))?\s*(sparse)?", part)
        if not pm:
            raise AbiError(f"--abi: cannot read parameter {part!r}")
        ctype, star, name, length, value, sparse = pm.groups()
        ctype = " ".join(ctype.split())
        if ctype not in _C_TYPES:
            raise AbiError(f"--abi: parameter {name}: type {ctype!r} not supported "
                           f"({', '.join(sorted(_C_TYPES))})")
        ctype = _C_TYPES[ctype]
        if star:
            if ctype not in _ELEM:
                raise AbiError(f"--abi: array {name}: element type {ctype} not supported")
            if not length:
                raise AbiError(f"--abi: array {name} needs its length, e.g. {ctype} *{name}[m*k]")
            params.append(Param(name, ctype, True, length, bool(sparse)))
        else:
            if value is None:
                raise AbiError(f"--abi: scalar {name} needs a value, e.g. {ctype} {name}=16")
            if sparse:
                raise AbiError(f"--abi: only arrays can be sparse ({name} is a scalar)")
            params.append(Param(name, ctype, False, value))
    if not any(p.sparse for p in params):
        raise AbiError("--abi: mark the sparse array with `sparse`, e.g. float *B[k*n] sparse")
    return Signature(m.group(2), m.group(1) or "void", params)


def _eval(expr: str, env: dict[str, float], what: str) -> float:
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise AbiError(f"--abi: cannot evaluate {what!r}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in env:
            raise AbiError(f"--abi: {what}: {node.id!r} is not an earlier scalar parameter")
        if not isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Load,
                                 ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.USub, ast.UAdd)):
            raise AbiError(f"--abi: {what}: only numbers, scalar names and + - * / are allowed")
    return float(eval(compile(tree, "<abi>", "eval"), {"__builtins__": {}}, dict(env)))


def make_inputs(sig: Signature, sparsity: float, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for p in sig.params:
        if not p.pointer:
            continue
        n = sig.lengths()[p.name]
        dtype = _ELEM[p.ctype][1]
        if dtype in (np.float32, np.float64):
            a = rng.uniform(-1, 1, n).astype(dtype)
        else:
            a = rng.integers(-100, 100, n).astype(dtype)
        if p.sparse:
            a[rng.random(n) < sparsity] = 0
        out[p.name] = a
    return out


def driver_source(sig: Signature, inputs: dict[str, np.ndarray]) -> str:
    """C: the inputs as initialised arrays (bit patterns), one call, every array printed in hex."""
    lines = ["#include <stdio.h>", "#include <stdint.h>", "#include <string.h>"]
    proto = ", ".join(f"{p.ctype} {'*' if p.pointer else ''}{p.name}" for p in sig.params)
    lines.append(f"{sig.ret} {sig.name}({proto});")
    for p in sig.params:
        if p.pointer:
            ctype, _, utype, width = _ELEM[p.ctype]
            words = inputs[p.name].view(np.uint32 if width == 8 else np.uint64)
            body = ",".join(f"0x{int(w):x}" for w in words)
            lines.append(f"static {utype} {p.name}_bits[{len(words)}] __attribute__((aligned(64))) = {{{body}}};")
    lines.append("static char hexbuf[1 << 16];")
    lines.append("static void dump(const char *name, const void *p, size_t bytes) {")
    lines.append("  const unsigned char *b = p; size_t n = 0; fputs(name, stdout);")
    lines.append("  for (size_t i = 0; i < bytes; i++) {")
    lines.append("    if (i % 32 == 0) hexbuf[n++] = '\\n';")
    lines.append("    hexbuf[n++] = \"0123456789abcdef\"[b[i] >> 4]; hexbuf[n++] = \"0123456789abcdef\"[b[i] & 15];")
    lines.append("    if (n > sizeof hexbuf - 8) { fwrite(hexbuf, 1, n, stdout); n = 0; }")
    lines.append("  }")
    lines.append("  hexbuf[n++] = '\\n'; fwrite(hexbuf, 1, n, stdout); }")
    lines.append("int main(void) {")
    scal = sig.scalars()
    args = [f"({p.ctype} *){p.name}_bits" if p.pointer else f"({p.ctype}){_c_literal(scal[p.name], p.ctype)}"
            for p in sig.params]
    call = f"{sig.name}({', '.join(args)})"
    if sig.ret == "void":
        lines.append(f"  {call};")
    else:
        lines.append(f"  {sig.ret} r = {call}; dump(\"return\", &r, sizeof r);")
    for p in sig.params:
        if p.pointer:
            lines.append(f"  dump(\"{p.name}\", {p.name}_bits, sizeof {p.name}_bits);")
    lines.append("  return 0;\n}")
    return "\n".join(lines) + "\n"


def _c_literal(v: float, ctype: str) -> str:
    if ctype in ("float", "double"):
        return f"{float(v).hex()}"          # exact
    return str(int(v))


@dataclass
class KernelBuild:
    """How to assemble the kernel sources: include dirs and defines (e.g. an OpenBLAS tree)."""
    include_dirs: list[Path] = field(default_factory=list)
    defines: dict[str, str] = field(default_factory=dict)


def build_driver(sig: Signature, inputs: dict[str, np.ndarray], kernel_s: Path, out: Path,
                 kb: KernelBuild) -> Path:
    """Compile the driver with `kernel_s` into a static ELF; AbiError/RuntimeError with the tool's message."""
    from isa_ext import __file__ as isa_init
    isa_dir = Path(isa_init).parent
    with tempfile.TemporaryDirectory(prefix="axsim-verify-") as tmp:
        driver = Path(tmp) / "driver.c"
        driver.write_text(driver_source(sig, inputs))
        cmd = [CROSS_GCC, "-O1", "-static", "-o", str(out), str(driver), "-x", "assembler-with-cpp",
               str(kernel_s), f"-I{isa_dir}", f"-I{Path(kernel_s).resolve().parent}",
               *(f"-I{d}" for d in kb.include_dirs), *(f"-D{k}={v}" for k, v in kb.defines.items())]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        msg = "\n".join(proc.stderr.strip().splitlines()[-6:])
        undefined = re.search(r"undefined reference to `([^']+)'", proc.stderr)
        if undefined:
            raise AbiError(f"{kernel_s}: link error: undefined reference to {undefined.group(1)!r} "
                           f"(does the kernel define the signature's function {sig.name!r}?)")
        raise VerifyError(f"{kernel_s}: the kernel and its driver do not build:\n{msg}")
    return out


def run_qemu(elf: Path, timeout: float = 120) -> bytes:
    if shutil.which(QEMU) is None:
        raise VerifyError(f"{QEMU} not found: install qemu-user")
    proc = subprocess.run([QEMU, str(elf)], capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise VerifyError(f"{elf}: the original kernel fails under qemu-aarch64 (exit {proc.returncode}): "
                           f"{proc.stderr.decode(errors='replace').strip()[-300:]}")
    return proc.stdout


def verify_kernel(sig: Signature, original: Path, compiled: Path, kb: KernelBuild,
                  sparsities: list[float], seeds: list[int], workdir: Path,
                  redundancy: bool = True, params=None) -> list[VerifyCase]:
    """The three-way comparison (and the dynamic redundancy check) for every (sparsity, seed).
    params: the engine's SystemParams (default MINOR_DEFAULT), e.g. a larger sasa_entries."""
    from gem5_configs.params import MINOR_DEFAULT
    from sparce_sim.runner import simulate
    params = params or MINOR_DEFAULT
    from sparce_jobs.redundancy_check import check_elf
    from sparce_jobs.compile_verify import VerifyCase, table_entries
    workdir.mkdir(parents=True, exist_ok=True)
    cases = []
    for s in sparsities:
        for seed in seeds:
            inputs = make_inputs(sig, s, seed)
            tag = f"s{s:.2f}_seed{seed}"
            orig_elf = build_driver(sig, inputs, original, workdir / f"original_{tag}.elf", kb)
            sasa_elf = build_driver(sig, inputs, compiled, workdir / f"sparce_{tag}.elf", kb)
            want = run_qemu(orig_elf)
            off = simulate(sasa_elf, sparce=False, params=params)
            on = simulate(sasa_elf, sparce=True, params=params)
            same = want == off.stdout == on.stdout
            detail = "" if same else _diff(want, off.stdout, on.stdout, s, seed)
            rep = check_elf(sasa_elf, {}, table_entries(sasa_elf)) if redundancy else None
            if rep is not None and not rep.ok:
                detail += f"\n  redundancy violations: {rep.violations[:5]}"
            cases.append(VerifyCase(s, seed, same, int(on.stats["system.cpu.sparce.instsSkipped"]),
                                    on.stats["system.cpu.numCycles"], off.stats["system.cpu.numCycles"], detail, rep))
    return cases


def _diff(want: bytes, off: bytes, on: bytes, s: float, seed: int) -> str:
    for label, got in (("engine SPARCE off", off), ("engine SPARCE on", on)):
        if got != want:
            a, b = want.decode().splitlines(), got.decode().splitlines()
            k = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            return (f"sparsity {s} seed {seed}: {label} differs from qemu (original kernel) at output "
                    f"line {k}: {a[k] if k < len(a) else '<end>'!r} vs {b[k] if k < len(b) else '<end>'!r}")
    return ""
