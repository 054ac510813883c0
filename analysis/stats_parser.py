"""Read gem5 stats.txt files (from gem5 or sparce_sim) into pandas (dissertation §4.3.1 outputs).

A file may hold several dumps, each between `Begin Simulation Statistics` and `End Simulation
Statistics`. Lines are `name value [value ...] # description`; distribution rows and `nan`/`inf`
values are kept as floats. Old gem5 releases used snake_case names (sim_insts, sim_ticks,
host_inst_rate, system.cpu.num_cycles, overall_misses::total); they are mapped to the current
camelCase names so that both can be compared.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

_BEGIN = "Begin Simulation Statistics"
_END = "End Simulation Statistics"
_LINE = re.compile(r"^(\S+)\s+(\S+)(?:\s+\S+)*?\s*(?:#\s*(.*))?$")
_LEGACY = {
    "sim_seconds": "simSeconds", "sim_ticks": "simTicks", "sim_insts": "simInsts",
    "sim_ops": "simOps", "host_inst_rate": "hostInstRate", "host_seconds": "hostSeconds",
    "final_tick": "finalTick", "sim_freq": "simFreq", "host_op_rate": "hostOpRate",
}
_LEGACY_PARTS = {"num_cycles": "numCycles", "committed_insts": "committedInsts",
                 "overall_hits": "overallHits", "overall_misses": "overallMisses",
                 "overall_accesses": "overallAccesses", "overall_miss_rate": "overallMissRate",
                 "overall_miss_latency": "overallMissLatency", "demand_hits": "demandHits",
                 "demand_misses": "demandMisses"}

KEY_FIGURES = ["simInsts", "system.cpu.numCycles", "system.cpu.cpi", "simSeconds",
               "system.cpu.dcache.overallAccesses::total", "system.cpu.dcache.overallMisses::total",
               "system.cpu.icache.overallMisses::total", "system.l2.overallMisses::total",
               "system.cpu.sparce.instsSkipped", "system.cpu.sparce.regionsSkipped"]


class StatsFormatError(ValueError):
    """A stats file that is not in gem5's text format (names the file and line)."""


def canonical(name: str) -> str:
    """The current gem5 name for a possibly snake_case (old gem5) stat name."""
    if name in _LEGACY:
        return _LEGACY[name]
    parts = name.split(".")
    last, sep, tail = parts[-1].partition("::")
    parts[-1] = _LEGACY_PARTS.get(last, last) + sep + tail
    return ".".join(parts)


def parse_stats(path: str | Path) -> pd.DataFrame:
    """One row per (dump, stat): columns dump, name, value, description."""
    path = Path(path)
    if not path.is_file():
        raise StatsFormatError(f"{path}: no such stats file")
    rows, dump, inside = [], -1, False
    for lineno, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
        line = raw.strip()
        if _BEGIN in line:
            dump, inside = dump + 1, True
        elif _END in line:
            inside = False
        elif inside and line:
            rows.append(_parse_line(path, lineno, line, dump))
    if dump < 0:
        raise StatsFormatError(f"{path}: no '{_BEGIN}' marker; not a gem5 stats.txt")
    return pd.DataFrame(rows, columns=["dump", "name", "value", "description"])


def _parse_line(path: Path, lineno: int, line: str, dump: int) -> tuple:
    m = _LINE.match(line)
    if not m:
        raise StatsFormatError(f"{path}:{lineno}: cannot parse {line!r}")
    name, value, desc = m.group(1), m.group(2), (m.group(3) or "").strip()
    try:
        number = float(value.rstrip("%"))
    except ValueError:
        raise StatsFormatError(f"{path}:{lineno}: value {value!r} of {name} is not a number") from None
    return dump, canonical(name), number, desc


def last_dump(df: pd.DataFrame) -> dict[str, float]:
    last = df[df["dump"] == df["dump"].max()]
    return dict(zip(last["name"], last["value"]))


def compare(a: str | Path, b: str | Path, names: list[str] | None = None) -> pd.DataFrame:
    """Key figures of the last dump of each file and their ratio b / a."""
    sa, sb = last_dump(parse_stats(a)), last_dump(parse_stats(b))
    rows = []
    for name in names or KEY_FIGURES:
        if name in sa or name in sb:
            va, vb = sa.get(name, float("nan")), sb.get(name, float("nan"))
            rows.append({"stat": name, "A": va, "B": vb, "B/A": vb / va if va else float("nan")})
    return pd.DataFrame(rows)
