"""`axsim compile`: the SASA compiler's command line (dissertation §4.2.1, Fig. 4.6c).

    axsim compile kernel.S -o out.S --listing out.json [--report out.txt] [--verify [--abi SIGNATURE]]
                  [-D NAME=VALUE] [-I DIR] [--sparse REG] [--returns none|x0,...] [--overflow reload|rank|strict]

`--verify` alone checks the kernels of kernels/build.py; with `--abi` any kernel is checked from its C
signature against qemu-aarch64 (sparce_jobs.kernel_verify, the jobs layer above compiler and engine).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

VERIFY_DIMS = {"sgemm": {"m": 32, "n": 8, "k": 13}, "dirconv": {"c": 3, "h": 5, "w": 5, "oc": 2},
               "dot": {"n": 64}}


def register(subparsers) -> None:
    p = subparsers.add_parser("compile", help="SASA compiler: annotated AArch64 kernel -> SPARCE kernel",
                              description=__doc__.splitlines()[0])
    p.add_argument("source", type=Path, help="annotated GNU as kernel (.S)")
    p.add_argument("-o", "--output", type=Path, required=True, help="instrumented .S to write")
    p.add_argument("--listing", type=Path, help="JSON listing, one row per SASA entry")
    p.add_argument("--report", type=Path, help="human-readable report")
    p.add_argument("--verify", action="store_true",
                   help="run the compiled kernel on random sparse inputs, SPARCE on vs off (bit-identical)")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE",
                   help="preprocessor define (kernel shape parameters)")
    p.add_argument("-I", dest="include_dirs", action="append", default=[], type=Path, metavar="DIR",
                   help="include directory for the preprocessor (e.g. an OpenBLAS tree's top)")
    p.add_argument("--abi", metavar="SIGNATURE",
                   help='with --verify: the kernel\'s C signature with values and array lengths, e.g. '
                        '"sgemm_kernel(long m=19, long n=6, long k=13, float alpha=1.5, float *A[m*k], '
                        'float *B[k*n] sparse, float *C[m*n], long ldc=m)"')
    p.add_argument("--sparse", action="append", default=[], metavar="REG",
                   help="extra sparse pointer register (as `// @sparse REG`)")
    p.add_argument("--returns", help="registers the caller reads at ret: none, all, or e.g. x0,v0")
    p.add_argument("--overflow", default="reload", choices=("reload", "rank", "strict"),
                   help="what to do when the SASA table is too small")
    p.add_argument("--sparsity", type=float, default=0.5, help="modelled sparsity for ranking entries")
    p.add_argument("--assume-no-negative-zero", action="store_true",
                   help="allow skipping accumulations whose accumulator is not proven != -0.0")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sasa_compiler.api import compile_file
    defines = {}
    for d in args.defines:
        name, _, value = d.partition("=")
        if not name:
            raise ValueError(f"-D {d!r}: expected NAME=VALUE")
        defines[name] = value or "1"
    result = compile_file(args.source, args.output, args.listing, report=args.report, defines=defines,
                          sparse=args.sparse, returns=args.returns, overflow=args.overflow,
                          sparsity=args.sparsity, assume_no_negzero=args.assume_no_negative_zero,
                          include_dirs=args.include_dirs)
    for w in result.warnings:
        print(w, file=sys.stderr)
    print(f"{args.output}: {result.entries} SASA entries in {len(result.listing['tables'])} table(s), "
          f"{len(result.listing['dropped'])} dropped, {result.listing['compile_seconds']:.2f} s")
    if args.verify and args.abi:
        return _verify_abi(args, defines)
    if args.verify:
        return _verify(args, result)
    if args.abi:
        raise ValueError("--abi is used by --verify; add --verify")
    return 0


def _verify_abi(args: argparse.Namespace, defines: dict[str, str]) -> int:
    # The CLI wires jobs together; the compiler's own modules never import the engine.
    from sparce_jobs.kernel_verify import KernelBuild, parse_signature, verify_kernel
    sig = parse_signature(args.abi)
    kb = KernelBuild(list(args.include_dirs), {"ASSEMBLER": "1", **defines})
    work = args.output.parent / f"{args.output.stem}.verify"
    cases = verify_kernel(sig, args.source, args.output, kb, [0.0, 0.5, 0.9], [0], work)
    for c in cases:
        print(f"  sparsity {c.sparsity:.1f} seed {c.seed}: "
              f"{'identical' if c.identical else 'MISMATCH'} (qemu original / engine SPARCE off / on), "
              f"{c.skipped} insts skipped, redundancy {'ok' if c.redundancy_ok else 'VIOLATED'}")
        if c.detail:
            print(c.detail, file=sys.stderr)
    bad = [c for c in cases if not c.ok]
    print(f"verify: {len(cases) - len(bad)}/{len(cases)} runs bit-identical with every skip shown redundant")
    return 1 if bad else 0


def _verify(args: argparse.Namespace, result) -> int:
    from .compile_verify import kernel_for_source, verify
    kernel = kernel_for_source(args.source)
    cases = verify(kernel, args.output, result.listing, VERIFY_DIMS[kernel], [0.0, 0.5, 0.9], [0, 1, 2])
    bad = [c for c in cases if not c.ok]
    for c in cases:
        red = c.redundancy
        print(f"  sparsity {c.sparsity:.1f} seed {c.seed}: {'identical' if c.identical else 'MISMATCH'}, "
              f"{c.skipped} insts skipped, cycles {c.cycles_on:.0f} vs baseline {c.cycles_off:.0f}; "
              f"redundancy: {red.skip_events} skips checked, {red.unchanged} destinations unchanged, "
              f"{red.reads_by_skipped} stale reads by skipped insts, {red.absorbed} absorbed, "
              f"{len(red.violations)} violations")
    for c in bad:
        print(c.detail, file=sys.stderr)
        for v in c.redundancy.violations[:10]:
            print(f"  redundancy violation: {v}", file=sys.stderr)
    print(f"verify: {len(cases) - len(bad)}/{len(cases)} runs bit-identical with every skip shown redundant")
    return 1 if bad else 0
