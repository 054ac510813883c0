"""Engine speed: simulated instructions per second of the native engine, the Python reference model
and raw unicorn on the same ELFs, SPARCE on and off, plus peak memory as a run grows (issue 10).

Prints JSON (and writes it with --out). Every figure of one case comes from the same process and
the same inputs, so the ratios are measured in one run. The native engine is timed REPEATS times and the
fastest run is reported with the median beside it (raw unicorn: the fastest too); the load average
at the start is recorded. CPU time is the process's (or, for the native engine, the emulating
thread's) CPU clock; wall time is reported beside it.

    python3 benchmarks/engine_speed.py [--quick] [--out benchmarks/results/engine_speed.json]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 5      # timed native runs per case: the fastest is reported (the machine may be shared), the median beside it
sys.path.insert(0, str(ROOT))

from unicorn import UC_ARCH_ARM64, UC_HOOK_INTR, UC_MODE_ARM, Uc  # noqa: E402
from unicorn import arm64_const as A  # noqa: E402

from sparce_sim.engine import map_program  # noqa: E402
from sparce_jobs.kernel_run import dims_for, kernel_elf, make_inputs, run_kernel, to_memory  # noqa: E402
from sparce_sim.loader import load_elf  # noqa: E402
from atomic_output import write_text  # noqa: E402


def raw_unicorn(elf: Path, inputs: dict) -> tuple[float, float]:
    """(CPU seconds, wall seconds) for unicorn alone, no hooks but the exit/SASA-LD one."""
    prog = load_elf(elf)
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    uc.reg_write(A.UC_ARM64_REG_CPACR_EL1, 3 << 20)
    map_program(uc, prog)
    for name, arr in inputs.items():
        uc.mem_write(prog.symbol(name).addr, to_memory(arr).tobytes())

    def on_intr(u, intno, _d):          # svc: the exit syscall; SASA-LD (undefined): step over
        if intno == 2:
            u.emu_stop()
        else:
            u.reg_write(A.UC_ARM64_REG_PC, u.reg_read(A.UC_ARM64_REG_PC) + 4)
    uc.hook_add(UC_HOOK_INTR, on_intr)
    cpu, wall = time.process_time(), time.perf_counter()
    uc.emu_start(prog.entry, 0)
    return time.process_time() - cpu, time.perf_counter() - wall


def timed_run(kernel: str, dims: dict, sparce: bool, inputs: dict, engine: str) -> dict:
    sasa = "compiled" if sparce else "none"
    run = run_kernel(kernel, dims, sparce=sparce, sasa=sasa, inputs=inputs, engine=engine)
    s = run.result.stats
    wall = s["hostSeconds"]
    sim_cpu = s["hostCpuSeconds"]           # the whole simulation, Python-side SASA-LD handling included
    return {"insts": s["simInsts"], "cycles": s["system.cpu.numCycles"], "cpu_seconds": round(sim_cpu, 4),
            "wall_seconds": round(wall, 4), "inst_per_cpu_s": round(s["simInsts"] / sim_cpu) if sim_cpu else None,
            "inst_per_wall_s": round(s["simInsts"] / wall), "bit_exact": run.bit_exact}


def measure(kernel: str, dims: dict, sparce: bool, with_python: bool) -> dict:
    inputs = make_inputs(kernel, dims, 0.5, 0)
    timed_run(kernel, dims, sparce, inputs, "native")            # build and compile caches warm
    runs = [timed_run(kernel, dims, sparce, inputs, "native") for _ in range(REPEATS)]
    native = min(runs, key=lambda r: r["cpu_seconds"])           # the least disturbed of the runs
    native["inst_per_cpu_s_median"] = round(statistics.median(r["inst_per_cpu_s"] for r in runs))
    native["repeats"] = REPEATS
    elf = kernel_elf(kernel, dims, "compiled" if sparce else "none")
    raw_cpu, raw_wall = min(raw_unicorn(elf, inputs) for _ in range(REPEATS))
    out = {"kernel": kernel, "dims": dims, "sparsity": 0.5, "sparce": sparce, "native": native,
           "raw_unicorn": {"cpu_seconds": round(raw_cpu, 4), "wall_seconds": round(raw_wall, 4),
                           "inst_per_cpu_s": round(native["insts"] / raw_cpu) if raw_cpu else None},
           "native_slowdown_vs_raw_unicorn_cpu": round(native["cpu_seconds"] / raw_cpu, 2) if raw_cpu else None}
    if with_python:
        python = timed_run(kernel, dims, sparce, inputs, "python")
        out["python_reference"] = python
        out["native_speedup_vs_python_cpu"] = round(python["cpu_seconds"] / native["cpu_seconds"], 1)
        out["identical_cycles"] = python["cycles"] == native["cycles"]
    return out


def peak_rss_mb(kernel: str, dims: dict) -> dict:
    """Insts and peak RSS of one native SPARCE run in a fresh process."""
    code = ("import json,resource,sys; sys.path.insert(0, %r)\n"
            "from sparce_jobs.kernel_run import run_kernel\n"
            "r = run_kernel(%r, %r, sparsity=0.5, sparce=True, sasa='compiled')\n"
            "print(json.dumps({'insts': r.result.stats['simInsts'], "
            "'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))"
            % (str(ROOT), kernel, dims))
    return json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                     check=True).stdout)


LOAD_AT_START = os.getloadavg()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small shapes, no memory-growth runs")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.quick:
        cases = [("sgemm", dims_for("sgemm", m=64, n=64, k=64)), ("dirconv", dims_for("dirconv"))]
    else:
        cases = [("sgemm", dims_for("sgemm", m=128, n=128, k=256)), ("dirconv", dims_for("dirconv"))]
    results = [measure(k, d, sparce, with_python=True) for k, d in cases for sparce in (False, True)]
    report = {"goal_inst_per_cpu_s": {"sparce_off": 10_000_000, "sparce_on": 10_000_000},
              "aim_inst_per_cpu_s": {"sparce_off": 30_000_000, "sparce_on": 15_000_000},
              "load_average_at_start": [round(x, 2) for x in LOAD_AT_START],
              "results": results,
              "peak_rss_mb_this_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if not args.quick:       # memory stays flat as the run grows (10x more instructions)
        report["memory_growth"] = [peak_rss_mb("sgemm", dims_for("sgemm", m=m, n=n, k=k))
                                   for m, n, k in ((128, 128, 256), (384, 169, 3456))]
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        write_text(args.out, text + "\n")


if __name__ == "__main__":
    main()
