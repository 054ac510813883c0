"""gem5-format statistics: stats.txt (Begin/End markers, `name value # description`) and JSON.

Names follow gem5 (v23+) where the concept exists: simInsts, simTicks, simSeconds, hostInstRate,
system.cpu.numCycles/cpi/ipc, system.cpu.commitStats0.committedInstType::<OpClass>,
system.cpu.{icache,dcache}.* and system.l2.* (overallHits::total, overallMisses::total,
overallMissRate::total, overallAccesses::total). SPARCE counters live under system.cpu.sparce.*.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from atomic_output import write_text

from .snapshot import RunSnapshot

TICKS_PER_SECOND = 10 ** 12          # gem5's default tick: 1 ps


def collect(snap: RunSnapshot) -> tuple[dict[str, float], dict[str, str]]:
    """(values, descriptions) for one finished run's snapshot."""
    p = snap.params
    cycles = snap.cycles
    insts = snap.committed
    period_ticks = int(round(TICKS_PER_SECOND / (p.clock_ghz * 1e9)))
    v: dict[str, float] = {}
    d: dict[str, str] = {}

    def put(name: str, value: float, desc: str) -> None:
        v[name] = value
        d[name] = desc

    put("simSeconds", cycles * period_ticks / TICKS_PER_SECOND, "Number of seconds simulated (Second)")
    put("simTicks", cycles * period_ticks, "Number of ticks simulated (Tick)")
    put("simInsts", insts, "Number of instructions simulated (Count)")
    put("simOps", insts, "Number of ops (including micro ops) simulated (Count)")
    put("hostSeconds", round(snap.host_seconds, 4), "Real time elapsed on the host (Second)")
    put("hostInstRate", round(insts / snap.host_seconds) if snap.host_seconds else 0,
        "Simulator instruction rate (inst/s) ((Count/Second))")
    put("hostCpuSeconds", round(snap.host_cpu_seconds, 4),
        "CPU time of the simulating thread (Second)")
    put("hostCpuInstRate", round(insts / snap.host_cpu_seconds) if snap.host_cpu_seconds else 0,
        "Simulator instruction rate per CPU second (inst/s) ((Count/Second))")
    put("system.clk_domain.clock", period_ticks, "Clock period in ticks (Tick)")
    put("system.cpu.numCycles", cycles, "Number of cpu cycles simulated (Cycle)")
    put("system.cpu.cpi", cycles / insts if insts else 0, "CPI: cycles per instruction ((Cycle/Count))")
    put("system.cpu.ipc", insts / cycles if cycles else 0, "IPC: instructions per cycle ((Count/Cycle))")
    put("system.cpu.committedInsts", insts, "Number of instructions committed (Count)")
    put("system.cpu.branchPred.condPredicted", snap.cond_branches,
        "Number of conditional branches predicted (Count)")
    put("system.cpu.branchPred.condIncorrect", snap.mispredicts,
        "Number of conditional branches incorrect (Count)")
    put("system.cpu.exitCode", snap.exit_code, "Exit code of the simulated program (Count)")
    for op_class, count in sorted(snap.op_classes.items()):
        put(f"system.cpu.commitStats0.committedInstType::{op_class}", count,
            "Class of committed instruction. (Count)")
    put("system.cpu.commitStats0.committedInstType::total", insts, "Class of committed instruction. (Count)")
    for prefix, cache in (("system.cpu.icache", snap.l1i), ("system.cpu.dcache", snap.l1d),
                          ("system.l2", snap.l2)):
        _cache_stats(put, prefix, cache)
    put("system.cpu.dcache.prefetches", snap.l1d.prefetches,
        "Lines brought in by software prefetch (prfm) (Count)")
    put("system.cpu.dcache.overallMshrHits::total", snap.l1d.mshr_hits,
        "Accesses to a line whose fill was outstanding, counted in overallMisses (Count)")
    _sparce_stats(put, snap.sparce, snap.sparce_on)
    for name, cycles in snap.profile_cycles.items():
        put(f"system.cpu.profile.cycles::{name}", cycles,
            "Cycles (commit-time advance) while committing this symbol's instructions (Cycle)")
        put(f"system.cpu.profile.insts::{name}", snap.profile_insts[name],
            "Instructions committed from this symbol's code (Count)")
    return v, d


def _cache_stats(put, prefix: str, s) -> None:
    put(f"{prefix}.overallHits::total", s.hits, "number of overall hits (Count)")
    put(f"{prefix}.overallMisses::total", s.misses, "number of overall misses (Count)")
    put(f"{prefix}.overallAccesses::total", s.accesses, "number of overall (read+write) accesses (Count)")
    put(f"{prefix}.overallMissRate::total", s.misses / s.accesses if s.accesses else 0,
        "miss rate for overall accesses ((Count/Count))")
    put(f"{prefix}.ReadReq.hits::total", s.read_hits, "number of ReadReq hits (Count)")
    put(f"{prefix}.ReadReq.misses::total", s.read_misses, "number of ReadReq misses (Count)")
    put(f"{prefix}.WriteReq.hits::total", s.write_hits, "number of WriteReq hits (Count)")
    put(f"{prefix}.WriteReq.misses::total", s.write_misses, "number of WriteReq misses (Count)")


def _sparce_stats(put, s, enabled: bool) -> None:
    base = "system.cpu.sparce"
    put(f"{base}.enabled", int(enabled), "SPARCE extensions enabled (Count)")
    put(f"{base}.sasaLoads", s.sasa_loads, "SASA-LD instructions executed (Count)")
    put(f"{base}.sasaLookups", s.lookups, "SASA table lookups (fetched PCs while loaded) (Count)")
    put(f"{base}.sasaHits", s.hits, "SASA table hits that led into their region (Count)")
    put(f"{base}.regionsSkipped", s.regions_skipped, "redundant regions skipped (Count)")
    put(f"{base}.regionsSkippable", s.regions_skippable,
        "regions marked skippable (condition register update in flight) (Count)")
    put(f"{base}.skippableResolvedTrue", s.skippable_resolved_true,
        "skippable regions whose condition resolved true in time (Count)")
    put(f"{base}.instsSkipped", s.insts_skipped, "instructions skipped before fetch (Count)")
    put(f"{base}.squashedInsts", s.squashed_insts,
        "region instructions fetched, then squashed when the region resolved (Count)")


def format_stats(values: dict[str, float], descriptions: dict[str, str]) -> str:
    lines = ["", "---------- Begin Simulation Statistics ----------"]
    for name, value in values.items():
        text = f"{value:.12g}" if isinstance(value, float) and not float(value).is_integer() else f"{int(value)}"
        lines.append(f"{name:<60} {text:>20}   # {descriptions.get(name, '')}")
    lines += ["", "---------- End Simulation Statistics   ----------", ""]
    return "\n".join(lines)


def read_csv(path: Path) -> list[dict]:
    """The rows of a CSV (as atomic_output.write_csv writes it); [] if the file does not exist yet."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open() as fh:
        return list(csv.DictReader(fh))


def write_outputs(out_dir: Path, values: dict, descriptions: dict, extra: dict | None = None) -> None:
    """stats.txt and stats.json (the same values, plus `extra` such as skips by precedingPC)."""
    write_text(Path(out_dir) / "stats.txt", format_stats(values, descriptions))
    payload = {"stats": values, **(extra or {})}
    write_text(Path(out_dir) / "stats.json", json.dumps(payload, indent=1, sort_keys=False))
