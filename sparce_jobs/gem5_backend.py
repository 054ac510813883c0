"""`axsim gem5`: run a kernel on gem5 (SE mode, ArmMinorCPU + the SPARCE unit of isa_ext/gem5).

The same kernel ELF as `axsim run` is built; since gem5 SE mode cannot take inputs from the host,
the inputs are written into a copy of the ELF (the kernels keep their arrays in .data, so every
input symbol has file-backed bytes) and the crt's `dump_output` flag is set, so the program writes
its output array to stdout, which gem5 stores in its outdir. The run uses
gem5_configs/se_sparce.py with the parameters of gem5_configs/params.py (a JSON dump after
--param overrides), then copies m5out/stats.txt to the output directory and checks the output
against the numpy reference bit for bit, as `axsim run` does.

gem5 itself is not part of axsim: build it with docker/Dockerfile.gem5 (gem5 v24.0.0.1 with
isa_ext/gem5 applied) and point --gem5 or $GEM5_ROOT at it (or $GEM5 at the binary).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from atomic_output import copy_file
from gem5_configs.params import SystemParams

REPO = Path(__file__).resolve().parents[1]
SE_CONFIG = REPO / "gem5_configs" / "se_sparce.py"
GEM5_BINARY = Path("build") / "ARM" / "gem5.opt"
GEM5_BINARIES = (GEM5_BINARY, Path("build") / "ARM" / "gem5.fast")
PROGRAM_OUT = "program.out"


class Gem5Error(RuntimeError):
    """gem5 ran but failed (non-zero exit, no stats)."""


def find_gem5(explicit: str | Path | None = None, env: dict | None = None) -> Path:
    """The gem5 binary: --gem5 (a binary or a gem5 checkout), else $GEM5 (a binary), else
    $GEM5_ROOT/build/ARM/gem5.opt (or gem5.fast). FileNotFoundError names every path it looked at."""
    env = os.environ if env is None else env
    candidates: list[Path] = []
    if explicit:
        path = Path(explicit)
        candidates += [path / b for b in GEM5_BINARIES] if path.is_dir() else [path]
    elif env.get("GEM5"):
        candidates.append(Path(env["GEM5"]))
    elif env.get("GEM5_ROOT"):
        candidates += [Path(env["GEM5_ROOT"]) / b for b in GEM5_BINARIES]
    else:
        raise FileNotFoundError(
            "gem5 not found: pass --gem5 PATH (gem5.opt/gem5.fast or a gem5 checkout), set GEM5 to the binary "
            f"or GEM5_ROOT to a gem5 tree with {GEM5_BINARY} (build one with docker/Dockerfile.gem5; see "
            "isa_ext/gem5/README.md)")
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"gem5 binary not found at {looked} (build gem5 v24.0.0.1 with isa_ext/gem5 "
                            "applied: docker/Dockerfile.gem5, or see isa_ext/gem5/README.md)")


def bake_elf(elf: Path, inputs: dict[str, np.ndarray], out: Path, dump_output: bool = True) -> Path:
    """Copy `elf` to `out` with each input array written at its symbol (file-backed bytes of a
    PT_LOAD segment) and `dump_output` set to 1. ValueError when a symbol has no file bytes."""
    from elftools.elf.elffile import ELFFile

    from sparce_sim.loader import load_elf

    program = load_elf(elf)
    data = bytearray(elf.read_bytes())
    with elf.open("rb") as fh:
        segments = [(s["p_vaddr"], s["p_offset"], s["p_filesz"]) for s in ELFFile(fh).iter_segments()
                    if s["p_type"] == "PT_LOAD"]

    def put(name: str, payload: bytes) -> None:
        sym = program.symbol(name)
        if len(payload) > sym.size:
            raise ValueError(f"{elf}: input {name} has {len(payload)} bytes, the symbol {sym.size}")
        for vaddr, offset, filesz in segments:
            if vaddr <= sym.addr and sym.addr + len(payload) <= vaddr + filesz:
                start = offset + sym.addr - vaddr
                data[start:start + len(payload)] = payload
                return
        raise ValueError(f"{elf}: symbol {name} at {sym.addr:#x} has no file-backed bytes (.bss?); "
                         "gem5 SE mode cannot receive it")

    for name, array in inputs.items():
        put(name, np.ascontiguousarray(array).tobytes())
    if dump_output:
        put("dump_output", (1).to_bytes(8, "little"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(bytes(data))
    out.chmod(0o755)
    return out


def gem5_command(gem5: Path | str, elf: Path, m5out: Path, params_json: Path, sparce: bool,
                 mem: str = "simple", max_insts: int | None = None,
                 skippable_rule: str = "issue") -> list[str]:
    cmd = [str(gem5), "-d", str(m5out), str(SE_CONFIG), "--binary", str(elf),
           "--sparce", "on" if sparce else "off", "--params-json", str(params_json), "--mem", mem,
           "--output", PROGRAM_OUT]
    if skippable_rule != "issue":
        cmd += ["--skippable-rule", skippable_rule]
    if max_insts:
        cmd += ["--max-insts", str(max_insts)]
    return cmd


def run_gem5(cmd: list[str], m5out: Path, out_dir: Path, timeout: float | None = None) -> Path:
    """Run gem5; copy m5out/stats.txt to out_dir/stats.txt (atomically) and return that path."""
    log = out_dir / "gem5.log"
    with log.open("w") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout)
    stats = m5out / "stats.txt"
    if proc.returncode != 0 or not stats.is_file() or stats.stat().st_size == 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise Gem5Error(f"gem5 exited with {proc.returncode} (log {log}):\n" + "\n".join(tail))
    return copy_file(stats, out_dir / "stats.txt")


def register(sub: argparse._SubParsersAction) -> None:
    from kernels.build import KERNELS

    p = sub.add_parser("gem5", help="run a kernel on gem5 (SE, ArmMinorCPU + SPARCE unit) -> stats.txt")
    p.add_argument("kernel", choices=sorted(KERNELS))
    p.add_argument("--gem5", default=None, metavar="PATH",
                   help="gem5.opt/gem5.fast, or a gem5 checkout with build/ARM/gem5.opt "
                        "(default: $GEM5, then $GEM5_ROOT)")
    p.add_argument("--shape", default="small", help="shape preset: small (default) or conv4")
    for dim in ("m", "n", "k", "c", "h", "w", "oc"):
        p.add_argument(f"--{dim}", type=int)
    p.add_argument("--sparsity", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sasa", choices=("hand", "compiled"), default=None,
                   help="SASA table source (default: hand for dot/dirconv, compiled for sgemm)")
    p.add_argument("--sparce", choices=("on", "off"), default="on")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a system parameter (gem5_configs/params.py)")
    p.add_argument("--mem", choices=("simple", "ddr3"), default="simple",
                   help="main memory: fixed dram_latency (as sparce_sim) or gem5's DDR3 model")
    p.add_argument("--skippable-rule", choices=("issue", "fetch"), default="issue",
                   help="gem5 unit: a skippable region resolving true is skipped while none of its "
                        "instructions has issued (issue, default) or only while fetch is inside it "
                        "(fetch, sparce_sim's rule); see isa_ext/gem5/README.md")
    p.add_argument("--max-insts", type=int, default=None)
    p.add_argument("--timeout", type=float, default=None, help="seconds before gem5 is stopped")
    p.add_argument("--dry-run", action="store_true",
                   help="build the ELF, params.json and the gem5 command line, but do not run gem5")
    p.add_argument("--out", type=Path, default=Path("out/gem5"))
    p.set_defaults(func=cmd_gem5)


def cmd_gem5(args: argparse.Namespace) -> int:
    from .run_cli import default_sasa, system_params
    from .kernel_run import dims_for, kernel_elf, make_inputs, reference, to_memory
    from kernels.build import kernel_spec

    params: SystemParams = system_params(args.param)
    if args.max_insts is not None and args.max_insts <= 0:
        raise ValueError(f"--max-insts must be positive, got {args.max_insts}")
    gem5 = "gem5.opt" if args.dry_run else find_gem5(args.gem5)   # fail before any build
    dims = dims_for(args.kernel, args.shape, m=args.m, n=args.n, k=args.k, c=args.c, h=args.h,
                    w=args.w, oc=args.oc)
    sparce = args.sparce == "on"
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    elf = kernel_elf(args.kernel, dims, default_sasa(args.kernel, args.sasa) if sparce else "none")
    inputs = make_inputs(args.kernel, dims, args.sparsity, args.seed)
    ref = reference(args.kernel, inputs)
    baked = bake_elf(elf, {k: to_memory(v) for k, v in inputs.items()}, out / f"{args.kernel}.elf")
    params_json = out / "params.json"
    params_json.write_text(json.dumps(params.as_dict(), indent=1))
    m5out = out / "m5out"
    cmd = gem5_command(gem5, baked, m5out, params_json, sparce, args.mem, args.max_insts,
                       args.skippable_rule)
    (out / "command.txt").write_text(" ".join(cmd) + "\n")
    meta = {"kernel": args.kernel, "dims": dims, "sparsity": args.sparsity, "seed": args.seed,
            "sparce": sparce, "mem": args.mem, "skippable_rule": args.skippable_rule, "command": cmd}
    if args.dry_run:
        (out / "run.json").write_text(json.dumps(meta, indent=1))
        print(" ".join(cmd))
        return 0
    stats = run_gem5(cmd, m5out, out, args.timeout)
    spec = kernel_spec(args.kernel)
    raw = (m5out / PROGRAM_OUT).read_bytes() if (m5out / PROGRAM_OUT).is_file() else b""
    output = np.frombuffer(raw[:ref.nbytes], dtype=np.float32)
    exact = output.size == ref.size and bool(np.array_equal(output.view(np.uint32), ref.view(np.uint32)))
    meta["check"] = {"output": spec.output, "bytes": len(raw), "bit_exact": exact}
    (out / "run.json").write_text(json.dumps(meta, indent=1))
    print(f"gem5 stats in {stats}; output vs numpy: {'bit-exact' if exact else 'MISMATCH'}")
    return 0 if exact else 1


if __name__ == "__main__":   # python3 -m sparce_jobs.gem5_backend KERNEL ... (before cli.py wires it)
    parser = argparse.ArgumentParser(prog="axsim")
    register(parser.add_subparsers(dest="command", required=True))
    ns = parser.parse_args(["gem5"] + sys.argv[1:])
    try:
        sys.exit(ns.func(ns))
    except (ValueError, FileNotFoundError) as exc:
        print(f"axsim gem5: error: {exc}", file=sys.stderr)
        sys.exit(2)
