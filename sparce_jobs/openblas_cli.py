"""`axsim openblas build`: the command line of sparce_jobs.openblas (dissertation §4.3.1)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("openblas", help="SPARCE libopenblas from OpenBLAS's own source (§4.3.1)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    b = actions.add_parser("build", help="cross-build the original and the SPARCE static libopenblas")
    b.add_argument("--src", type=Path, required=True, help="OpenBLAS source tree (e.g. from `apt-get source openblas`)")
    b.add_argument("--out", type=Path, required=True, help="output folder (resumable)")
    b.add_argument("--target", default="ARMV8", help="OpenBLAS TARGET: ARMV8 (sgemm_kernel_16x4.S) or "
                   "CORTEXA53 (sgemm_kernel_8x8_cortexa53.S)")
    b.add_argument("--jobs", type=int, default=2, help="parallel make jobs")
    b.add_argument("--sparse-operand", choices=("B", "A"), default="B",
                   help="which sgemm kernel operand is sparse: B (shared across SIMD lanes; a program "
                        "computing Activations x Weights puts activations there, §4.4.3) or A")
    b.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="system parameter for the compiler and the verification, e.g. sasa_entries=64 "
                        "(run programs linked to this library with the same --param)")
    b.add_argument("--no-verify", action="store_true", help="skip the qemu vs engine check of the kernel")
    b.set_defaults(func=cmd_build)


def cmd_build(args: argparse.Namespace) -> int:
    from .openblas import OpenBlasError, build
    from .run_cli import param_overrides
    try:
        r = build(args.src, args.out, args.target, jobs=args.jobs, verify=not args.no_verify,
                  sparse_operand=args.sparse_operand, overrides=param_overrides(args.param))
    except OpenBlasError as exc:
        print(f"axsim openblas: error: {exc}", file=sys.stderr)
        return 1
    print(f"{r.target}: {r.kernel}, {r.entries} SASA entries")
    print(f"  original: {r.original}\n  SPARCE:   {r.sparce}\n  headers:  {r.include}")
    print(f"  link: aarch64-linux-gnu-gcc -static prog.c -I{r.include} {r.sparce} -lm")
    return 0
