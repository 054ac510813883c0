"""How does the SASA compiler's time grow with the length of one basic block? (issue 14)

Generates a straight-line kernel of N instructions: a dot product over a sparse vector, fully
unrolled (per element: ldr of the sparse input, ldr of the weight, fmadd), with `// @sparse x0`,
compiles it with sasa_compiler.api.compile_file and prints one JSON object per N (seconds, regions
found, instructions) and a summary with the time per instruction at the largest N over the
smallest. Linear growth keeps that ratio near 1.

    python3 benchmarks/compiler_scaling.py [--sizes 500 1000 2000 5000] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from atomic_output import write_text  # noqa: E402
from sasa_compiler.api import compile_file  # noqa: E402


def kernel_source(n_insts: int) -> str:
    """A unrolled sparse dot product of about n_insts instructions in one basic block."""
    elements = max(1, (n_insts - 3) // 3)
    lines = ["// @sparse x0", "// @returns none", "    .text", "    .global kernel_main",
             "kernel_main:", "    fmov s2, wzr"]
    for e in range(elements):
        off = 4 * (e % 1024)
        if e and e % 1024 == 0:
            lines += ["    add x0, x0, #4096", "    add x1, x1, #4096"]
        lines += [f"    ldr s0, [x0, #{off}]", f"    ldr s1, [x1, #{off}]", "    fmadd s2, s0, s1, s2"]
    lines += ["    str s2, [x2]", "    ret", ""]
    return "\n".join(lines)


def measure(n_insts: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"block{n_insts}.S"
        src.write_text(kernel_source(n_insts))
        t0 = time.perf_counter()
        result = compile_file(src, Path(tmp) / "out.S")
        seconds = time.perf_counter() - t0
    insts = sum(1 for line in kernel_source(n_insts).splitlines() if line.startswith("    ") and not line.strip().startswith("."))
    return {"insts": insts, "seconds": round(seconds, 3), "us_per_inst": round(1e6 * seconds / insts, 1),
            "sasa_entries": result.entries, "segments": len(result.segments)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 5000])
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "compiler_scaling.json")
    args = ap.parse_args(argv)
    rows = []
    for n in args.sizes:
        row = measure(n)
        print(json.dumps(row), flush=True)
        rows.append(row)
    summary = {"largest_block_seconds": rows[-1]["seconds"], "largest_block_insts": rows[-1]["insts"],
               "time_per_inst_largest_over_smallest": round(rows[-1]["us_per_inst"] / rows[0]["us_per_inst"], 2)}
    print(json.dumps({"summary": summary}))
    write_text(args.out, json.dumps({"rows": rows, "summary": summary}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
