"""SPARCE with OpenBLAS's own sgemm kernel, packing and driver code: a Caffe-style convolution layer
(im2col + cblas_sgemm) at 0-90% input sparsity (dissertation §4.3.1 / Fig. 4.13's OpenBLAS-SIMD4 curve;
the paper's application-level result is an 8-15% reduction in execution time).

    python benchmarks/openblas_conv.py --lib-dir DIR [--sparsity 0:0.9:0.1] [--c-in 64 --h-in 13 ...]
        [--order 1] [--out benchmarks/results/openblas]

DIR is the output of `axsim openblas build` (original/ and sparce/ libraries, include/). Every point
checks: qemu-aarch64 with the original library == engine SPARCE off == engine SPARCE on (stdout, which
carries a hash of every output bit), and numpy's convolution (input zeros exactly, output sum within
1e-4 relative). Prints JSON rows and writes rows.json + rows.csv atomically.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from atomic_output import write_csv, write_text  # noqa: E402
from sparce_jobs.openblas import conv_reference, run_conv_layer  # noqa: E402


def parse_sparsities(text: str) -> list[float]:
    if ":" in text:
        a, b, c = (float(x) for x in text.split(":"))
        n = int(round((b - a) / c)) + 1
        return [round(a + i * c, 6) for i in range(n)]
    return [float(x) for x in text.split(",")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib-dir", type=Path, required=True)
    ap.add_argument("--sparsity", default="0:0.9:0.1")
    ap.add_argument("--c-in", type=int, default=64)
    ap.add_argument("--h-in", type=int, default=13)
    ap.add_argument("--w-in", type=int, default=13)
    ap.add_argument("--c-out", type=int, default=64)
    ap.add_argument("--ksize", type=int, default=3)
    ap.add_argument("--order", type=int, default=1, help="1: Activations x Weights (activations = kernel B)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="engine parameter (the same as the library's build, e.g. sasa_entries=64)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/openblas"))
    ap.add_argument("--work", type=Path, default=Path("out/openblas-conv"), help="where the ELFs go")
    args = ap.parse_args()
    shape = {"c_in": args.c_in, "h_in": args.h_in, "w_in": args.w_in, "c_out": args.c_out, "ksize": args.ksize}
    rows = []
    for s in parse_sparsities(args.sparsity):
        t0 = time.time()
        overrides = dict(p.split("=", 1) for p in args.param)
        r = run_conv_layer(args.lib_dir, args.work, s, shape, args.seed, args.order, overrides)
        zeros, ref_sum = conv_reference(s, shape, args.seed)
        m = re.search(r"input zeros (\d+)/\d+.*sum=(\S+)", r.stdout, re.S)
        numpy_ok = bool(m) and int(m.group(1)) == zeros and abs(float(m.group(2)) - ref_sum) <= 1e-4 * max(1.0, abs(ref_sum))
        row = {**asdict(r), "numpy_ok": numpy_ok, "shape": shape, "order": args.order, "params": overrides,
               "time_saved_program": 1 - r.cycles_on / r.cycles_off,
               "time_saved_gemm": 1 - r.gemm_cycles_on / r.gemm_cycles_off,
               "time_saved_kernel": 1 - r.kernel_cycles_on / r.kernel_cycles_off,
               "insts_ratio": r.insts_on / r.insts_off, "host_seconds": round(time.time() - t0, 1)}
        row.pop("stdout")
        rows.append(row)
        print(json.dumps(row), flush=True)
        if not (r.identical and numpy_ok):
            print(f"MISMATCH at sparsity {s}: {r.stdout}", file=sys.stderr)
    write_text(args.out / "rows.json", json.dumps(rows, indent=1))
    write_csv(args.out / "rows.csv", [{k: v for k, v in row.items() if k not in ("shape", "params")} for row in rows])
    return 0 if all(r["identical"] and r["numpy_ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
