"""Run a static AArch64 ELF on the engine with inputs at symbols; return outputs and stats.

This is the engine's programmatic entry point (used by `axsim run`, sweeps, the SASA compiler's
--verify mode and the tests).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gem5_configs.params import MINOR_DEFAULT, SystemParams

from .engine import Engine
from .loader import load_elf
from .stats import collect


@dataclass
class SimResult:
    outputs: dict[str, np.ndarray]
    stats: dict[str, float]
    descriptions: dict[str, str]
    skips_by_pc: dict[int, int] = field(default_factory=dict)
    stdout: bytes = b""

    def json_extra(self) -> dict:
        return {"sparce_skips_by_preceding_pc": {f"{pc:#x}": n for pc, n in sorted(self.skips_by_pc.items())}}


def simulate(elf: str | Path, inputs: dict[str, np.ndarray] | None = None,
             outputs: dict[str, tuple[tuple[int, ...], np.dtype]] | None = None, sparce: bool = False,
             params: SystemParams = MINOR_DEFAULT, max_insts: int | None = None,
             profile: tuple[str, ...] = ()) -> SimResult:
    """Simulate `elf`. inputs: symbol -> array written before the run; outputs: symbol ->
    (shape, dtype) read after it; profile: symbols whose cycles and instructions are reported
    (system.cpu.profile.*). Raises LoadError / SimulationError with file, PC and cause."""
    engine = Engine(load_elf(elf), params, sparce=sparce, max_insts=max_insts, profile=profile)
    for name, array in (inputs or {}).items():
        engine.write_symbol(name, array)
    info = engine.run()
    result = {}
    for name, (shape, dtype) in (outputs or {}).items():
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        result[name] = np.frombuffer(engine.read_symbol(name, nbytes), dtype=dtype).reshape(shape).copy()
    values, desc = collect(engine)
    return SimResult(result, values, desc, dict(info.sparce.skips_by_pc), info.stdout)
