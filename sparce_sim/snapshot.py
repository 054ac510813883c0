"""What one finished simulation measured, as plain values: the engines' common result.

Both engines (the native C++ core and the Python reference model) return a RunSnapshot; the
statistics writer (stats.py), the runner and the tests read only this, never engine internals.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from gem5_configs.params import SystemParams

from .cache import CacheStats
from .sparce import SparceStats


@dataclass
class RunSnapshot:
    params: SystemParams
    sparce_on: bool
    cycles: int
    committed: int
    branches: int
    cond_branches: int
    mispredicts: int
    loads: int
    stores: int
    prefetches: int
    by_pc: dict[int, int]                  # PC -> committed count
    op_classes: dict[str, int]             # gem5 OpClass -> committed count
    l1i: CacheStats
    l1d: CacheStats
    l2: CacheStats
    sparce: SparceStats
    exit_code: int = 0
    stdout: bytes = b""
    stderr: bytes = b""
    host_seconds: float = 0.0              # wall clock of the run (gem5's hostSeconds)
    host_cpu_seconds: float = 0.0          # CPU time of the simulating thread
    profile_cycles: dict[str, int] = field(default_factory=dict)
    profile_insts: dict[str, int] = field(default_factory=dict)


def op_class_counts(by_pc: dict[int, int], op_class_of) -> dict[str, int]:
    """Committed instructions per gem5 OpClass; op_class_of(pc) names a decoded PC's class."""
    counts: dict[str, int] = {}
    for pc, n in by_pc.items():
        cls = op_class_of(pc)
        counts[cls] = counts.get(cls, 0) + n
    return counts
