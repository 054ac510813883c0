"""`axsim run` and `axsim sweep`: the SPARCE engine's command-line jobs (dissertation §4.3-§4.4)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from atomic_output import write_bytes
from gem5_configs.params import MINOR_DEFAULT, SystemParams
from kernels.build import KERNELS

from sparce_sim.engine import SimulationError
from sparce_sim.loader import LoadError
from sparce_sim.stats import write_outputs


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="simulate a kernel (built, fed and checked) or a static AArch64 ELF")
    run.add_argument("target", help=f"kernel name ({', '.join(KERNELS)}) or path to a static AArch64 ELF")
    _common(run)
    run.add_argument("--m", type=int)
    run.add_argument("--n", type=int)
    run.add_argument("--k", type=int)
    run.add_argument("--c", type=int, help="dirconv input channels")
    run.add_argument("--h", type=int, help="dirconv input height")
    run.add_argument("--w", type=int, help="dirconv input width")
    run.add_argument("--oc", type=int, help="dirconv output channels")
    run.add_argument("--sparsity", type=float, default=0.5, help="fraction of zeros in the sparse operand")
    run.add_argument("--sparce", choices=("both", "on", "off"), default="both",
                     help="kernels: both (default) runs the baseline and SPARCE and prints the ratio")
    run.add_argument("--out", type=Path, default=Path("out/run"),
                     help="stats folder (with --sparce both: OUT/baseline and OUT/sparce)")
    run.set_defaults(func=cmd_run)

    sweep = sub.add_parser("sweep", help="baseline vs SPARCE over sparsities (Fig. 4.13 analog)")
    sweep.add_argument("kernel", choices=sorted(KERNELS))
    _common(sweep)
    sweep.add_argument("--sparsity", default="0:0.9:0.1", help="START:STOP:STEP (inclusive) or a,b,c")
    sweep.add_argument("--out", type=Path, default=None)
    sweep.add_argument("--rows", type=int, help="sgemm: sample sub-GEMMs of this many rows (big shapes)")
    sweep.add_argument("--cols", type=int, default=16, help="sgemm sampling: columns per sub-GEMM")
    sweep.add_argument("--samples", type=int, default=3, help="sgemm sampling: sub-GEMMs per point")
    sweep.set_defaults(func=cmd_sweep)

    net = sub.add_parser("network", help="per-layer SPARCE on an ONNX CNN, im2col + sgemm (Figs. 4.10/4.12)")
    net.add_argument("model", nargs="?", type=Path, help="ONNX CNN (or use --shipped)")
    net.add_argument("--shipped", metavar="NAME",
                     help="a model_zoo network: digitsconv (Table 8.1 topology trained on digits) or alexnet "
                          "(seeded He-normal weights)")
    net.add_argument("--input", type=Path, help=".npy input for the model (default: a digits test image "
                     "for 28x28 or 8x8 one-channel models, else seeded uniform noise)")
    net.add_argument("--image", type=int, default=0, help="digits test image index")
    net.add_argument("--cols", type=int, default=None,
                     help="sample this many B columns per layer (default: none, every layer whole; "
                          "the sampled estimate runs about 1%% low in cycles and its interval covers sampling noise only, see README)")
    net.add_argument("--samples", type=int, default=3, help="column samples per layer")
    net.add_argument("--rows", type=int, default=None,
                     help="also sample this many output channels per layer (big layers; conservative)")
    net.add_argument("--seed", type=int, default=0)
    net.add_argument("--blas", choices=("ours", "openblas"), default="ours",
                     help="ours: the repository's sgemm kernel; openblas: OpenBLAS's own library "
                          "(original vs SPARCE, from `axsim openblas build`; needs --blas-dir)")
    net.add_argument("--blas-dir", type=Path, help="the --out folder of `axsim openblas build`")
    net.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    net.add_argument("--out", type=Path, default=Path("out/network"))
    net.set_defaults(func=cmd_network)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shape", default="small", help="shape preset: small (default) or conv4 (AlexNet conv4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sasa", choices=("hand", "compiled"), default=None,
                   help="SASA table source (default: hand for dot/dirconv, compiled for sgemm)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a system parameter (gem5_configs/params.py), e.g. l1d.size_kb=32")
    p.add_argument("--max-insts", type=int, default=None,
                   help="stop a runaway program after N committed instructions (default 10^10)")
    p.add_argument("--engine", choices=("native", "python"), default="native",
                   help="native (default, C++ core) or python (the reference model, ~100x slower)")


WHOLE_LAYER = 1 << 40      # --cols default: more columns than any layer has, i.e. no sampling


def param_overrides(pairs: list[str]) -> dict[str, str]:
    """`--param KEY=VALUE` arguments as a dict (checked against params.py by with_overrides)."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--param {pair!r}: expected KEY=VALUE")
        overrides[key.strip()] = value.strip()
    return overrides


def system_params(pairs: list[str]) -> SystemParams:
    return MINOR_DEFAULT.with_overrides(param_overrides(pairs))


def default_sasa(kernel: str, choice: str | None) -> str:
    return choice or ("compiled" if kernel == "sgemm" else "hand")


def cmd_run(args: argparse.Namespace) -> int:
    params = system_params(args.param)
    if args.max_insts is not None and args.max_insts <= 0:
        raise ValueError(f"--max-insts must be positive, got {args.max_insts}")
    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out} exists and is not a folder")
    try:
        if args.target in KERNELS:
            return _run_kernel(args, params)
        return _run_elf(args, params)
    except (SimulationError, LoadError) as exc:
        print(f"axsim run: error: {exc}", file=sys.stderr)
        return 1


def _run_elf(args, params) -> int:
    from sparce_sim.runner import simulate
    result = simulate(Path(args.target), sparce=args.sparce != "off", params=params,
                      max_insts=args.max_insts, engine=args.engine)
    write_outputs(args.out, result.stats, result.descriptions, result.json_extra())
    _save_guest_output(args.out, result.stdout, result.stderr)
    if result.stdout:
        sys.stdout.write(result.stdout.decode(errors="replace"))
    if result.stderr:
        sys.stderr.write(result.stderr.decode(errors="replace"))
    _summary(args.target, result.stats, None)
    print(f"  guest output saved as {args.out / 'simout'} and {args.out / 'simerr'}; exit code {result.exit_code}")
    return result.exit_code


def _save_guest_output(out: Path, stdout: bytes, stderr: bytes) -> None:
    """The program's stdout and stderr beside stats.txt, as gem5 SE writes simout/simerr."""
    for name, data in (("simout", stdout), ("simerr", stderr)):
        write_bytes(out / name, data)


def _run_kernel(args, params) -> int:
    from .kernel_run import dims_for
    dims = dims_for(args.target, args.shape, m=args.m, n=args.n, k=args.k, c=args.c, h=args.h,
                    w=args.w, oc=args.oc)
    modes = {"both": (False, True), "on": (True,), "off": (False,)}[args.sparce]
    print(f"{args.target} {dims} sparsity={args.sparsity} seed={args.seed} engine={args.engine}")
    ok, cycles = True, {}
    for sparce in modes:
        out = args.out / ("sparce" if sparce else "baseline") if len(modes) > 1 else args.out
        run = _one_kernel_run(args, params, dims, sparce, out)
        ok = ok and run.ok
        cycles[sparce] = run.result.stats["system.cpu.numCycles"]
    if len(modes) > 1 and cycles[False]:
        print(f"SPARCE / baseline: {cycles[True] / cycles[False]:.3f} of the baseline's cycles "
              f"({1 - cycles[True] / cycles[False]:+.1%} time saved)")
    print(f"stats written under {args.out}")
    return 0 if ok else 1


def _one_kernel_run(args, params, dims: dict, sparce: bool, out: Path):
    from .kernel_run import run_kernel
    run = run_kernel(args.target, dims, args.sparsity, args.seed, sparce=sparce,
                     sasa=default_sasa(args.target, args.sasa) if sparce else "none",
                     params=params, max_insts=args.max_insts, engine=args.engine)
    check = {"bit_exact": run.bit_exact, "within_tolerance": run.ok, "max_abs_err": run.max_abs_err}
    write_outputs(out, run.result.stats, run.result.descriptions,
                  {**run.result.json_extra(), "check": check, "kernel": args.target, "dims": dims,
                   "sparsity": args.sparsity, "seed": args.seed, "engine": args.engine})
    _summary("SPARCE  " if sparce else "baseline", run.result.stats, check)
    return run


def _summary(what: str, s: dict, check: dict | None) -> None:
    verdict = ""
    if check is not None:
        verdict = ", output " + ("bit-exact vs numpy" if check["bit_exact"] else
                                 "within tolerance of numpy" if check["within_tolerance"] else "MISMATCH vs numpy")
    print(f"  {what}: {s['system.cpu.numCycles']:,} cycles, {s['simInsts']:,} insts, "
          f"CPI {s['system.cpu.cpi']:.3f}, {s['system.cpu.sparce.regionsSkipped']:,} regions / "
          f"{s['system.cpu.sparce.instsSkipped']:,} insts skipped{verdict} "
          f"(host {s['hostInstRate'] / 1e6:.1f} M inst/s)")


def cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import parse_sparsities, run_sweep
    params = system_params(args.param)
    out = args.out or Path("out") / f"sweep-{args.kernel}-{args.shape}"
    sample = (args.rows, args.cols, args.samples) if args.rows else None
    rows = run_sweep(args.kernel, args.shape, parse_sparsities(args.sparsity), out, seed=args.seed,
                     sasa=default_sasa(args.kernel, args.sasa), params=params, max_insts=args.max_insts,
                     sample=sample)
    print(json.dumps(rows, indent=1))
    print(f"CSV and plot in {out}")
    return 0


def cmd_network(args: argparse.Namespace) -> int:
    from .network import model_input, run_network
    if (args.model is None) == (args.shipped is None):
        raise ValueError("give exactly one of MODEL.onnx or --shipped NAME")
    model = args.model
    if args.shipped:
        import model_zoo
        model = model_zoo.path(args.shipped, args.out / "models", among=model_zoo.CHAPTER4)
    x = model_input(Path(model), args.input, args.image, args.seed)
    cols = args.cols if args.cols is not None else WHOLE_LAYER
    blas = None
    if args.blas == "openblas":
        if args.blas_dir is None:
            raise ValueError("--blas openblas needs --blas-dir (the --out folder of `axsim openblas build`)")
        if args.cols is not None or args.rows is not None:
            raise ValueError("--blas openblas runs every layer whole: drop --cols/--rows")
        blas = args.blas_dir
    summary = run_network(Path(model), x, args.out, cols=cols, samples=args.samples, seed=args.seed,
                          params=system_params(args.param), rows=args.rows, blas=blas)
    print(json.dumps(summary, indent=1))
    print(f"per-layer CSV, summary.json and layers.png in {args.out}")
    return 0
