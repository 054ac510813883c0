"""Engine speed: simulated instructions per host second, the ratio to raw unicorn, peak memory.

Prints JSON. Runs sgemm 64x64x64, a larger sgemm and dirconv; for each, the same ELF is also run
under unicorn alone (no hooks) in the same process, so the ratio is measured in one run.
"""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from unicorn import UC_ARCH_ARM64, UC_HOOK_INTR, UC_MODE_ARM, Uc  # noqa: E402
from unicorn import arm64_const as A  # noqa: E402

from sparce_sim.engine import map_program  # noqa: E402
from sparce_sim.kernel_run import build_params, dims_for, kernel_elf, make_inputs, run_kernel, to_memory  # noqa: E402
from sparce_sim.loader import load_elf  # noqa: E402


def raw_unicorn(elf: Path, inputs: dict) -> tuple[float, int]:
    """Seconds for unicorn alone to run the program (exit via svc stops it)."""
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
    start = time.perf_counter()
    uc.emu_start(prog.entry, 0)
    return time.perf_counter() - start


def measure(kernel: str, dims: dict, sparce: bool) -> dict:
    inputs = make_inputs(kernel, dims, 0.5, 0)
    sasa = ("compiled" if kernel == "sgemm" else "hand") if sparce else "none"
    run = run_kernel(kernel, dims, sparce=sparce, sasa=sasa, inputs=inputs)
    s = run.result.stats
    raw = raw_unicorn(kernel_elf(kernel, dims, sasa), inputs)
    return {"kernel": kernel, "dims": dims, "sparce": sparce, "sim_insts": s["simInsts"],
            "host_seconds": s["hostSeconds"], "sim_inst_per_s": s["hostInstRate"],
            "raw_unicorn_seconds": round(raw, 4),
            "raw_unicorn_inst_per_s": round(s["simInsts"] / raw) if raw else None,
            "slowdown_vs_raw_unicorn": round(s["hostSeconds"] / raw, 1) if raw else None,
            "bit_exact": run.bit_exact}


def main() -> None:
    cases = [("sgemm", dims_for("sgemm", m=64, n=64, k=64)), ("sgemm", dims_for("sgemm", m=128, n=128, k=256)),
             ("dirconv", dims_for("dirconv"))]
    results = []
    for kernel, dims in cases:
        for sparce in (False, True):
            if sparce and kernel == "sgemm":
                try:
                    import sasa_compiler.api  # noqa: F401
                except ImportError:
                    continue
            results.append(measure(kernel, dims, sparce))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"goal_inst_per_s": 1_000_000, "results": results, "peak_rss_mb": round(peak_mb, 1)}, indent=1))


if __name__ == "__main__":
    main()
