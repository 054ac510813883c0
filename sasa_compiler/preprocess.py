"""Stage 1 of the SASA compiler: run the cross toolchain's C preprocessor (dissertation §4.2.1).

Kernels are written as GNU as `.S` files: `#define` register aliases, `#include`, `#if`. The
preprocessor (`aarch64-linux-gnu-gcc -E -x assembler-with-cpp`) removes comments, so annotations
written as comments (`// @sparse pB`, `// @sasa_reload`) are first rewritten, in place and on the same
line, into pseudo-directives (`.sparse pB`, `.sasa_reload`, `.returns none`) that cpp then macro-expands like any other
text: `pB` becomes the register it aliases. The `# N "file"` line markers that cpp keeps map every
output line back to its original file and line.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from .errors import CompileError, Origin, SourceLine

CROSS_GCC = os.environ.get("AXSIM_CROSS_GCC", "aarch64-linux-gnu-gcc")
ISA_INCLUDE = Path(__file__).resolve().parent.parent / "isa_ext"
_ANNOTATION = re.compile(r"^(\s*)//\s*@(sparse|sasa_reload|returns)\b(.*)$")
_MARKER = re.compile(r'^# (\d+) "((?:[^"\\]|\\.)*)"')
_CPP_DIAG = re.compile(r"^(<stdin>|[^:\s]+):(\d+):(?:\d+:)?\s*(?:fatal )?error:\s*(.*)$")


def rewrite_annotations(text: str) -> str:
    """Turn `// @sparse REGS (free text)` and `// @sasa_reload` comments into pseudo-directives.

    The register list ends at the first '(' or at end of line; the line count never changes."""
    out = []
    for line in text.split("\n"):
        m = _ANNOTATION.match(line)
        if m:
            rest = m.group(3).split("(", 1)[0].strip()
            line = f"{m.group(1)}.{m.group(2)} {rest}".rstrip()
        out.append(line)
    return "\n".join(out)


def preprocess(src: Path, defines: dict[str, str] | None = None,
               include_dirs: list[Path] | None = None) -> list[SourceLine]:
    """Preprocess `src`; return its lines, each with the original file:line it came from."""
    if shutil.which(CROSS_GCC) is None:
        raise CompileError(None, f"{CROSS_GCC} not found: install gcc-aarch64-linux-gnu")
    src = Path(src)
    try:
        text = src.read_text()
    except UnicodeDecodeError as exc:
        raise CompileError(f"{src}:1", f"not a text file ({exc.reason})") from None
    dirs = [src.resolve().parent, ISA_INCLUDE, *(include_dirs or [])]
    cmd = [CROSS_GCC, "-E", "-x", "assembler-with-cpp", *(f"-I{d}" for d in dirs),
           *(f"-D{k}={v}" for k, v in (defines or {}).items()), "-"]
    proc = subprocess.run(cmd, input=rewrite_annotations(text), capture_output=True, text=True)
    if proc.returncode != 0:
        raise _cpp_error(src, proc.stderr)
    return _map_lines(proc.stdout, str(src))


def _cpp_error(src: Path, stderr: str) -> CompileError:
    for line in stderr.splitlines():
        m = _CPP_DIAG.match(line)
        if m:
            file = str(src) if m.group(1) == "<stdin>" else m.group(1)
            return CompileError(f"{file}:{m.group(2)}", f"preprocessor: {m.group(3)}")
    return CompileError(f"{src}:1", f"preprocessor failed: {stderr.strip()}")


def _map_lines(output: str, src_name: str) -> list[SourceLine]:
    lines: list[SourceLine] = []
    file, line = src_name, 1
    for raw in output.split("\n"):
        m = _MARKER.match(raw)
        if m:
            line, file = int(m.group(1)), m.group(2)
            file = src_name if file == "<stdin>" else file
            continue
        if raw.strip() and not file.startswith("<"):
            lines.append(SourceLine(raw, Origin(file, line)))
        line += 1
    return lines
