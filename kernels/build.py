"""Cross-build the AArch64 kernels into static, freestanding ELFs (dissertation §4.3.1).

Each kernel is a set of sources (minimal crt + kernel .S/.c) compiled by aarch64-linux-gnu-gcc with
its shape given as preprocessor defines, so arrays live at named symbols with their exact sizes.
A SPARCE variant adds a SASA table: the hand-written one of `kernels.tables`, or a SASA-compiled
source that replaces the kernel's own. Builds are cached by a hash of sources, defines and flags.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from atomic_output import write_with
from isa_ext.asm import INCLUDE_DIR, table_asm

KERNEL_DIR = Path(__file__).resolve().parent
CROSS_GCC = os.environ.get("AXSIM_CROSS_GCC", "aarch64-linux-gnu-gcc")
CFLAGS = ["-O2", "-static", "-nostdlib", "-ffreestanding", "-fno-pie", "-no-pie",
          "-march=armv8-a", "-fno-stack-protector", "-Wl,--build-id=none"]


class BuildError(RuntimeError):
    """The cross toolchain is missing or rejected a source; the message carries its diagnostics."""


@dataclass(frozen=True)
class KernelSpec:
    """A kernel: its sources, the shape parameters it needs, and its input/output symbols."""
    name: str
    sources: tuple[str, ...]
    params: tuple[str, ...]
    inputs: tuple[str, ...]
    output: str
    sparse_input: str


KERNELS: dict[str, KernelSpec] = {
    "dot": KernelSpec("dot", ("crt0.S", "dot.S"), ("DOT_N",), ("INP", "KER"), "OUT", "INP"),
    "dirconv": KernelSpec("dirconv", ("crt0.S", "dirconv.S"), ("C", "IH", "IW", "OC", "KH", "KW"),
                          ("INP", "KER"), "OUT", "INP"),
    "sgemm": KernelSpec("sgemm", ("crt0.S", "sgemm_driver.c", "sgemm_kernel_16x4.S"),
                        ("GEMM_M", "GEMM_N", "GEMM_K"), ("A", "B"), "C", "B"),
}


def kernel_spec(name: str) -> KernelSpec:
    if name not in KERNELS:
        raise ValueError(f"unknown kernel {name!r}; known: {', '.join(KERNELS)}")
    return KERNELS[name]


def build(name: str, params: dict[str, int], sasa: str = "none",
          replace: dict[str, Path] | None = None, cache_dir: Path | None = None) -> Path:
    """Build kernel `name` and return the ELF path.

    sasa: "none" (baseline), "hand" (the hand-written table of kernels.tables), or "source" when
    `replace` supplies a SASA-compiled source that carries its own table and SASA-LD.
    replace: maps a source file name of the kernel to another file (e.g. the compiler's output).
    """
    spec = kernel_spec(name)
    missing = [p for p in spec.params if p not in params]
    if missing:
        raise ValueError(f"kernel {name}: missing build parameter(s) {', '.join(missing)}")
    for key, value in params.items():
        if int(value) <= 0:
            raise ValueError(f"kernel {name}: parameter {key}={value} must be positive")
    sources = [Path(replace[s]) if replace and s in replace else KERNEL_DIR / s for s in spec.sources]
    defines = {k: int(v) for k, v in params.items()}
    extra_text = {}
    if sasa == "hand":
        from kernels.tables import HAND_TABLES
        if name not in HAND_TABLES:
            raise ValueError(f"kernel {name} has no hand-written SASA table")
        rows = HAND_TABLES[name]()
        extra_text["sasa_table.S"] = '#include "sparce.inc"\n' + table_asm("sasa_table", rows)
        defines["SASA_ENTRIES"] = len(rows)
    elif sasa not in ("none", "source"):
        raise ValueError(f"sasa must be none, hand or source, not {sasa!r}")
    key = _cache_key(sources, defines, extra_text)
    cache = Path(cache_dir or cache_root()) / "kernels"
    elf = cache / f"{name}-{key}.elf"
    if not elf.exists():
        _compile(sources, defines, extra_text, elf)
    return elf


def cache_root() -> Path:
    """Where built ELFs and compiled sources are cached: $AXSIM_CACHE or ~/.cache/axsim."""
    return Path(os.environ.get("AXSIM_CACHE", Path.home() / ".cache" / "axsim"))


def _cache_key(sources: list[Path], defines: dict[str, int], extra: dict[str, str]) -> str:
    h = hashlib.sha256()
    for src in sources + [INCLUDE_DIR / "sparce.inc"]:
        h.update(src.name.encode() + src.read_bytes())
    h.update(repr(sorted(defines.items())).encode() + repr(sorted(extra.items())).encode())
    h.update(" ".join(CFLAGS).encode())
    return h.hexdigest()[:16]


def _compile(sources: list[Path], defines: dict[str, int], extra: dict[str, str], elf: Path) -> None:
    if shutil.which(CROSS_GCC) is None:
        raise BuildError(f"{CROSS_GCC} not found: install gcc-aarch64-linux-gnu (see README)")
    with tempfile.TemporaryDirectory() as tmp:
        srcs = [str(s) for s in sources]
        for fname, text in extra.items():
            path = Path(tmp) / fname
            path.write_text(text)
            srcs.append(str(path))

        def link(out: Path) -> None:
            cmd = [CROSS_GCC, *CFLAGS, f"-I{INCLUDE_DIR}", f"-I{KERNEL_DIR}",
                   *(f"-D{k}={v}" for k, v in defines.items()), *srcs, "-o", str(out)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise BuildError(f"cross build failed:\n{proc.stderr.strip()}")
        write_with(elf, link, mode=0o755)  # atomic: a cached ELF is always complete (and executable)


PROGRAM_DIR = KERNEL_DIR / "programs"


def build_program(source: Path, cache_dir: Path | None = None) -> Path:
    """A C program (kernel_main, OUT, output_ptr/output_bytes) linked with crt0 at -O2: compiler
    output the engine has not been tuned on, for the identity and fidelity tests."""
    source = Path(source)
    if not source.is_file():
        raise BuildError(f"{source}: no such file")
    key = hashlib.sha256(source.read_bytes() + (KERNEL_DIR / "crt0.S").read_bytes()
                         + " ".join(CFLAGS).encode()).hexdigest()[:16]
    cache = Path(cache_dir or cache_root()) / "programs"
    elf = cache / f"{source.stem}-{key}.elf"
    if not elf.exists():
        _compile([KERNEL_DIR / "crt0.S", source], {}, {}, elf)
    return elf


def build_snippet(body: str, data: str = "", extra: str = "", cache_dir: Path | None = None) -> Path:
    """A static ELF whose _start runs `body` and exits: for timing micro-benchmarks and tests.

    `data` goes into .data (label `snippet_data` marks its start), `extra` is appended verbatim
    (e.g. a SASA table from isa_ext.asm.table_asm). sparce.inc is included."""
    text = (f'#include "sparce.inc"\n    .data\n    .balign 64\n    .global snippet_data\nsnippet_data:\n{data}\n'
            f"    .text\n    .global _start\n_start:\n{body}\n    mov x0, #0\n    mov x8, #93\n    svc #0\n{extra}\n")
    key = hashlib.sha256((text + " ".join(CFLAGS)).encode()).hexdigest()[:16]
    cache = Path(cache_dir or os.environ.get("AXSIM_CACHE", Path.home() / ".cache" / "axsim")) / "snippets"
    elf = cache / f"snippet-{key}.elf"
    if not elf.exists():
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "snippet.S"
            src.write_text(text)
            _compile([src], {}, {}, elf)
    return elf
