"""How close is sparce_sim to gem5's MinorCPU? (issue 16)

Prints one JSON object per case, then a summary line, and writes them all to
benchmarks/results/fidelity.json (--out). A case is one program that gem5 ran:

- the kernel runs of ../shared/gem5_reference (when that folder exists; $AXSIM_GEM5_REFERENCE overrides
  the path): the baked ELF gem5 ran, its stats.txt, and run.json (SPARCE on or off);
- benchmarks/results/fidelity_gem5/<kernel>-<on|off>: `axsim gem5` runs of the kernels with the gem5
  backend of issue 16 (stats.txt, command.txt, run.json); the baked ELF is rebuilt with
  `axsim gem5 --dry-run`, which is deterministic for a kernel, shape, sparsity and seed;
- benchmarks/results/gem5_reference_extra/<program>: further C programs (src/*.c, built at -O2 with
  aarch64-linux-gnu-gcc -static, freestanding), run on gem5 with SPARCE off;
- benchmarks/results/fidelity_openblas/<case>: OpenBLAS's own arm64 sgemm kernel (issue 11), the
  static verification program `axsim openblas build` links (glibc, the kernel called on 35x9x64,
  50% sparsity): the original kernel with SPARCE off and the SASA-compiled one with SPARCE on. The
  ELF holds OpenBLAS code and is never committed: it is taken from the OpenBLAS build cache
  (sparce_jobs.openblas.default_cache()), and the case is skipped when that build is absent.

For each case sparce_sim runs the same ELF (the same SPARCE setting) and the two stats are compared:
cycles, committed instructions, L1I/L1D/L2 accesses and misses, conditional mispredicts, and the
SPARCE counters. "ratio" is sparce_sim / gem5. When $GEM5 (or --gem5) names a gem5 binary built with
isa_ext/gem5, gem5 also runs the case now ("gem5_live"), and --record rewrites the stored gem5 results
from those live runs.

Stored stats.txt files keep gem5's lines except those whose value is 0 or nan (to stay small).

    python3 benchmarks/fidelity.py                       # stored gem5 stats vs sparce_sim
    GEM5=/path/gem5.fast python3 benchmarks/fidelity.py  # ... and gem5 run live
    GEM5=... python3 benchmarks/fidelity.py --record     # refresh the stored gem5 results
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from analysis.stats_parser import last_dump, parse_stats  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
SHARED_REFERENCE = Path(os.environ.get("AXSIM_GEM5_REFERENCE", REPO.parent / "shared" / "gem5_reference"))
KERNEL_RUNS = RESULTS / "fidelity_gem5"
OPENBLAS_RUNS = RESULTS / "fidelity_openblas"
# (case, ELF in the OpenBLAS build cache, SPARCE on)
OPENBLAS_CASES = [("sgemm-kernel-off", "build-ARMV8/kernel/verify/original_s0.50_seed0.elf", False),
                  ("sgemm-kernel-sparce-on", "build-ARMV8/kernel/verify/sparce_s0.50_seed0.elf", True)]
EXTRA = RESULTS / "gem5_reference_extra"
EXTRA_SRC = EXTRA / "src"
CROSS_GCC = os.environ.get("AXSIM_CROSS_GCC", "aarch64-linux-gnu-gcc")
CFLAGS = ["-O2", "-static", "-nostdlib", "-ffreestanding", "-fno-pie", "-no-pie"]
# the kernel runs recorded by --record (default shapes, seed 0, --mem simple): SPARCE off, on, and on
# under sparce_sim's rule for skippable regions (--skippable-rule fetch)
KERNEL_CASES = [(k, mode, rule) for k in ("sgemm", "dirconv", "dot")
                for mode, rule in (("off", "issue"), ("on", "issue"), ("on", "fetch"))]

METRICS = {
    "cycles": "system.cpu.numCycles",
    "insts": "simInsts",
    "l1i_accesses": "system.cpu.icache.overallAccesses::total",
    "l1i_misses": "system.cpu.icache.overallMisses::total",
    "l1d_accesses": "system.cpu.dcache.overallAccesses::total",
    "l1d_misses": "system.cpu.dcache.overallMisses::total",
    "l1d_write_misses": "system.cpu.dcache.WriteReq.misses::total",
    "l1d_mshr_hits": "system.cpu.dcache.overallMshrHits::total",
    "l2_accesses": "system.l2.overallAccesses::total",
    "l2_misses": "system.l2.overallMisses::total",
    "cond_mispredicts": "system.cpu.branchPred.condIncorrect",
}
SPARCE_METRICS = {
    "sasaHits": "system.cpu.sparce.sasaHits",
    "regionsSkipped": "system.cpu.sparce.regionsSkipped",
    "regionsSkippable": "system.cpu.sparce.regionsSkippable",
    "skippableResolvedTrue": "system.cpu.sparce.skippableResolvedTrue",
    "instsSkipped": "system.cpu.sparce.instsSkipped",
    "squashedInsts": "system.cpu.sparce.squashedInsts",
    "skippableTooLate": "system.cpu.sparce.skippableTooLate",
    "fetchRedirects": "system.cpu.sparce.fetchRedirects",
}
GEM5_ONLY = {"skippableTooLate", "fetchRedirects"}


class FidelityError(RuntimeError):
    pass


class CaseSkipped(Exception):
    """A case whose program cannot be built on this machine (it is reported, not failed)."""


@dataclass
class Case:
    name: str
    origin: str                    # "shared", "kernel", "program", "openblas"
    folder: Path
    sparce: bool
    meta: dict = field(default_factory=dict)


def discover(only: set[str] | None = None) -> list[Case]:
    cases: list[Case] = []
    if SHARED_REFERENCE.is_dir():
        for d in sorted(p for p in SHARED_REFERENCE.iterdir() if (p / "stats.txt").is_file()):
            meta = json.loads((d / "run.json").read_text())
            cases.append(Case(f"shared/{d.name}", "shared", d, bool(meta["sparce"]), meta))
    if KERNEL_RUNS.is_dir():
        # the -fetchrule runs used gem5's other rule for skippable regions, which sparce_sim no longer
        # models (it resolves them as gem5's default does): kept as gem5 results, not compared
        for d in sorted(p for p in KERNEL_RUNS.iterdir() if (p / "run.json").is_file()
                        and not p.name.endswith("-fetchrule")):
            meta = json.loads((d / "run.json").read_text())
            cases.append(Case(f"kernel/{d.name}", "kernel", d, bool(meta["sparce"]), meta))
    if EXTRA.is_dir():
        for d in sorted(p for p in EXTRA.iterdir() if (p / "case.json").is_file()):
            meta = json.loads((d / "case.json").read_text())
            cases.append(Case(f"program/{d.name}", "program", d, False, meta))
    if OPENBLAS_RUNS.is_dir():
        for d in sorted(p for p in OPENBLAS_RUNS.iterdir() if (p / "case.json").is_file()):
            meta = json.loads((d / "case.json").read_text())
            cases.append(Case(f"openblas/{d.name}", "openblas", d, bool(meta["sparce"]), meta))
    if only:
        cases = [c for c in cases if c.name in only or c.name.split("/", 1)[1] in only]
    return cases


# ---------------------------------------------------------------- building the ELF of a case

def build_program(source: Path, out: Path) -> Path:
    """A freestanding static program; it includes rt.h (gem5_reference_extra/src)."""
    if shutil.which(CROSS_GCC) is None:
        raise FidelityError(f"{CROSS_GCC} not found: install gcc-aarch64-linux-gnu to build {source.name}")
    r = subprocess.run([CROSS_GCC, *CFLAGS, "-I", str(source.parent), "-I", str(EXTRA_SRC), "-o", str(out),
                        str(source)], capture_output=True, text=True)
    if r.returncode:
        raise FidelityError(f"{source}: {CROSS_GCC} failed: {r.stderr.strip().splitlines()[-1:]}")
    return out


def baked_kernel(meta: dict, out: Path) -> Path:
    """The baked ELF `axsim gem5` hands gem5 for this run.json (rebuilt with --dry-run)."""
    argv = [sys.executable, "-m", "sparce_jobs.gem5_backend", meta["kernel"], "--dry-run", "--out", str(out),
            "--sparsity", str(meta["sparsity"]), "--seed", str(meta["seed"]),
            "--sparce", "on" if meta["sparce"] else "off", "--mem", meta.get("mem", "simple")]
    for dim, value in meta["dims"].items():
        argv += [f"--{dim}", str(value)]
    r = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    if r.returncode:
        raise FidelityError(f"axsim gem5 --dry-run {meta['kernel']} failed: {r.stderr.strip()[-300:]}")
    return out / f"{meta['kernel']}.elf"


def case_elf(case: Case, work: Path) -> Path:
    if case.origin == "shared":
        elfs = sorted(case.folder.glob("*.elf"))
        if len(elfs) != 1:
            raise FidelityError(f"{case.folder}: expected one *.elf, found {len(elfs)}")
        return elfs[0]
    if case.origin == "kernel":
        return baked_kernel(case.meta, work / case.name.replace("/", "_"))
    if case.origin == "openblas":
        return openblas_elf(case.meta["elf"])
    source = EXTRA_SRC / case.meta["source"]
    return build_program(source, work / Path(case.meta["source"]).stem)


def openblas_elf(rel: str) -> Path:
    from sparce_jobs.openblas import default_cache
    elf = default_cache() / rel
    if not elf.is_file():
        raise CaseSkipped(f"{elf} not found: build OpenBLAS first (axsim openblas build)")
    return elf


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- running both simulators

def pick(stats: dict[str, float], sparce: bool) -> dict[str, float | None]:
    names = dict(METRICS)
    if sparce:
        names.update(SPARCE_METRICS)
    return {k: stats.get(n, 0.0) for k, n in names.items()}   # gem5 omits some zero-valued stats


ENGINE = "native"     # --engine: sparce_sim's native engine or its Python reference model


def run_sparce_sim(elf: Path, sparce: bool) -> tuple[dict, bytes]:
    from sparce_sim.runner import simulate
    r = simulate(elf, sparce=sparce, engine=ENGINE)
    return dict(r.stats), r.stdout


def run_gem5_live(gem5: Path, elf: Path, sparce: bool, out: Path) -> tuple[dict, bytes, list[str]]:
    from gem5_configs.params import MINOR_DEFAULT
    from sparce_jobs.gem5_backend import PROGRAM_OUT, gem5_command, run_gem5
    out.mkdir(parents=True, exist_ok=True)
    params_json = out / "params.json"
    params_json.write_text(json.dumps(MINOR_DEFAULT.as_dict(), indent=1))
    cmd = gem5_command(gem5, elf, out / "m5out", params_json, sparce)
    stats = run_gem5(cmd, out / "m5out", out)
    raw = out / "m5out" / PROGRAM_OUT
    return last_dump(parse_stats(stats)), raw.read_bytes() if raw.is_file() else b"", cmd


def detail(g: dict[str, float], rec: dict) -> dict[str, float | None]:
    """gem5 figures that explain where sparce_sim parts from it (see notes/issue16.md)."""
    clock = g.get("system.clk_domain.clock", 1000.0)        # ticks per cycle
    taken = g.get("system.cpu.branchPred.condPredictedTaken", 0.0)
    lat = g.get("system.cpu.dcache.demandAvgMissLatency::total")
    l2lat = g.get("system.l2.demandAvgMissLatency::total")
    return {
        "l1d_mshr_hits": g.get("system.cpu.dcache.overallMshrHits::total", 0.0),
        "l1d_mshr_misses": g.get("system.cpu.dcache.overallMshrMisses::total", 0.0),
        "l1d_soft_prefetch_accesses": g.get("system.cpu.dcache.SoftPFReq.accesses::total", 0.0),
        "l1d_write_accesses": g.get("system.cpu.dcache.WriteReq.accesses::total", 0.0),
        "l1d_avg_miss_latency_cycles": round(lat / clock, 1) if lat else None,
        "l2_avg_miss_latency_cycles": round(l2lat / clock, 1) if l2lat else None,
        "cond_predicted": g.get("system.cpu.branchPred.condPredicted", 0.0),
        "cond_predicted_taken": taken,
        "discarded_ops": g.get("system.cpu.executeStats0.numDiscardedOps", 0.0),
        "l1i_extra_accesses_per_taken_branch":
            round((rec["gem5"]["l1i_accesses"] - rec["sparce_sim"]["l1i_accesses"]) / taken, 3) if taken else None,
    }


def ratios(ours: dict, ref: dict) -> dict[str, float | None]:
    out = {}
    for k, v in ref.items():
        o = ours.get(k)
        out[k] = round(o / v, 4) if (o is not None and v) else None
    return out


def evaluate(case: Case, work: Path, gem5: Path | None) -> dict:
    elf = case_elf(case, work)
    stored = last_dump(parse_stats(case.folder / "stats.txt"))
    ss_stats, ss_out = run_sparce_sim(elf, case.sparce)
    rec: dict = {"case": case.name, "sparce": case.sparce,
                 "elf": str(elf.relative_to(REPO.parent)) if elf.is_relative_to(REPO.parent) else elf.name}
    if case.origin in ("program", "openblas"):
        rec["elf_matches_gem5_run"] = sha256(elf) == case.meta["sha256"]
        rec["output_matches_gem5"] = ss_out.decode(errors="replace") == case.meta["output"]
    else:
        from sparce_jobs.kernel_run import dims_for, make_inputs, reference
        m = case.meta
        ref = reference(m["kernel"], make_inputs(m["kernel"], dims_for(m["kernel"], "small", **m["dims"]),
                                                 m["sparsity"], m["seed"]))
        rec["gem5_bit_exact"] = bool(m.get("check", {}).get("bit_exact"))
        rec["sparce_sim_bit_exact"] = ss_out[:ref.nbytes] == ref.tobytes()
    rec["gem5"] = pick(stored, case.sparce)
    rec["sparce_sim"] = pick(ss_stats, case.sparce)
    for k in GEM5_ONLY:
        rec["sparce_sim"].pop(k, None)
    rec["ratio"] = ratios(rec["sparce_sim"], rec["gem5"])
    rec["gem5_detail"] = detail(stored, rec)
    if gem5 is not None:
        live, live_out, cmd = run_gem5_live(gem5, elf, case.sparce, work / ("gem5_" + case.name.replace("/", "_")))
        rec["gem5_live"] = pick(live, case.sparce)
        rec["gem5_live_command"] = " ".join(cmd)
        rec["_live_stats_path"] = str(work / ("gem5_" + case.name.replace("/", "_")) / "stats.txt")
        rec["_live_output"] = live_out.decode(errors="replace")
        rec["ratio_live"] = ratios(rec["sparce_sim"], rec["gem5_live"])
    return rec


# ---------------------------------------------------------------- recording gem5 results

def small_stats(text: str) -> str:
    """gem5's stats.txt without the lines whose value is 0 or nan."""
    keep = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith("-"):
            try:
                v = float(parts[1].rstrip("%"))
                if v == 0 or math.isnan(v):
                    continue
            except ValueError:
                pass
        keep.append(line)
    return "\n".join(keep) + "\n"


def portable(cmd: list[str], gem5: Path, out: Path) -> list[str]:
    """The gem5 command line with the machine's paths taken out (gem5 binary by name, the rest
    relative to the run folder or the repository)."""
    def one(c: str) -> str:
        if c == str(gem5):
            return gem5.name
        p = Path(c)
        for base in (out, REPO):
            if p.is_absolute() and p.is_relative_to(base):
                return str(p.relative_to(base)) or "."
        return p.name if p.is_absolute() else c
    return [one(c) for c in cmd]


def record_programs(gem5: Path, work: Path) -> None:
    for source in sorted(EXTRA_SRC.glob("*.c")):
        elf = build_program(source, work / source.stem)
        out = work / f"rec_{source.stem}"
        _, output, cmd = run_gem5_live(gem5, elf, False, out)
        dest = EXTRA / source.stem
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "stats.txt").write_text(small_stats((out / "stats.txt").read_text()))
        shutil.copyfile(out / "m5out" / "config.ini", EXTRA / "config.ini")
        build = " ".join([CROSS_GCC, *CFLAGS, "-I", "src", "-o", source.stem, f"src/{source.name}"])
        (dest / "command.txt").write_text(build + "\n" + " ".join(portable(cmd, gem5, out)) + "\n")
        (dest / "case.json").write_text(json.dumps({
            "source": source.name, "cflags": CFLAGS, "compiler": CROSS_GCC, "sha256": sha256(elf),
            "output": output.decode(errors="replace"), "sparce": False}, indent=1) + "\n")
        print(f"recorded {dest.relative_to(REPO)}", file=sys.stderr)


def record_openblas(gem5: Path, work: Path) -> None:
    for name, rel, sparce in OPENBLAS_CASES:
        try:
            elf = openblas_elf(rel)
        except CaseSkipped as exc:
            print(f"not recorded: openblas/{name}: {exc}", file=sys.stderr)
            continue
        out = work / f"rec_openblas_{name}"
        _, output, cmd = run_gem5_live(gem5, elf, sparce, out)
        dest = OPENBLAS_RUNS / name
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "stats.txt").write_text(small_stats((out / "stats.txt").read_text()))
        shutil.copyfile(out / "m5out" / "config.ini", OPENBLAS_RUNS / "config.ini")
        (dest / "command.txt").write_text(" ".join(portable(cmd, gem5, out)) + "\n")
        (dest / "case.json").write_text(json.dumps({
            "elf": rel, "built_by": "axsim openblas build (OpenBLAS 0.3.21, Debian source)",
            "sha256": sha256(elf), "output": output.decode(errors="replace"), "sparce": sparce}, indent=1) + "\n")
        print(f"recorded {dest.relative_to(REPO)}", file=sys.stderr)


def record_kernels(gem5: Path, work: Path) -> None:
    for kernel, sparce, rule in KERNEL_CASES:
        name = f"{kernel}-{sparce}" + ("" if rule == "issue" else f"-{rule}rule")
        out = work / f"rec_{name}"
        argv = [kernel, "--gem5", str(gem5), "--sparce", sparce, "--sparsity", "0.5", "--skippable-rule", rule]
        r = subprocess.run([sys.executable, "-m", "sparce_jobs.gem5_backend", *argv, "--out", str(out)],
                           cwd=REPO, capture_output=True, text=True)
        if r.returncode:
            raise FidelityError(f"axsim gem5 {' '.join(argv)} failed: {r.stderr.strip()[-400:]}"
                                f"{r.stdout.strip()[-400:]}")
        dest = KERNEL_RUNS / name
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "stats.txt").write_text(small_stats((out / "stats.txt").read_text()))
        meta = json.loads((out / "run.json").read_text())
        meta["command"] = ["axsim", "gem5", *argv[:2], "GEM5", *argv[3:]]
        (dest / "run.json").write_text(json.dumps(meta, indent=1) + "\n")
        shutil.copyfile(out / "m5out" / "config.ini", KERNEL_RUNS / "config.ini")
        print(f"recorded {dest.relative_to(REPO)}", file=sys.stderr)


# ---------------------------------------------------------------- main

def summary(records: list[dict]) -> dict:
    def span(key: str) -> list[float] | None:
        vals = [r["ratio"][key] for r in records if r["ratio"].get(key) is not None]
        return [min(vals), max(vals)] if vals else None
    within = [r["case"] for r in records if r["ratio"]["cycles"] is not None and abs(r["ratio"]["cycles"] - 1) <= 0.10]
    return {"cases": len(records), "cycle_ratio_range": span("cycles"), "l1i_access_ratio_range": span("l1i_accesses"),
            "l1d_access_ratio_range": span("l1d_accesses"), "cases_within_10pct_cycles": within}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gem5", default=os.environ.get("GEM5"), help="gem5 binary (default: $GEM5)")
    ap.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--out", type=Path, default=RESULTS / "fidelity.json")
    ap.add_argument("--record-only", default="", help="with --record: only these groups "
                    "(comma-separated: programs, kernels, openblas)")
    ap.add_argument("--record", action="store_true",
                    help="with --gem5: rerun gem5 and store its results under benchmarks/results first")
    ap.add_argument("--engine", choices=("native", "python"), default="native",
                    help="sparce_sim engine (python: the reference model, slower)")
    args = ap.parse_args(argv)
    global ENGINE
    ENGINE = args.engine
    gem5 = Path(args.gem5) if args.gem5 else None
    if gem5 is not None and not (gem5.is_file() and os.access(gem5, os.X_OK)):
        print(f"fidelity.py: error: gem5 binary {gem5} not found or not executable", file=sys.stderr)
        return 2
    if args.record and gem5 is None:
        print("fidelity.py: error: --record needs a gem5 binary ($GEM5 or --gem5)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="axsim_fidelity_") as tmp:
        work = Path(tmp)
        try:
            if args.record:
                groups = set(filter(None, args.record_only.split(","))) or {"programs", "kernels", "openblas"}
                if "programs" in groups:
                    record_programs(gem5, work)
                if "kernels" in groups:
                    record_kernels(gem5, work)
                if "openblas" in groups:
                    record_openblas(gem5, work)
            cases = discover(set(filter(None, args.cases.split(","))) or None)
            if not cases:
                raise FidelityError("no cases found (none stored, or --cases matched nothing)")
            records = []
            for case in cases:
                try:
                    rec = evaluate(case, work, None if args.record else gem5)
                except CaseSkipped as exc:
                    print(json.dumps({"case": case.name, "skipped": str(exc)}), flush=True)
                    continue
                for k in [k for k in rec if k.startswith("_")]:
                    rec.pop(k)
                print(json.dumps(rec), flush=True)
                records.append(rec)
        except (FidelityError, OSError, ValueError) as exc:
            print(f"fidelity.py: error: {exc}", file=sys.stderr)
            return 1
    summ = summary(records)
    print(json.dumps({"summary": summ}))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"cases": records, "summary": summ}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
