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
from .native_engine import NativeEngine
from .loader import load_elf
from .stats import collect


@dataclass
class SimResult:
    outputs: dict[str, np.ndarray]
    stats: dict[str, float]
    descriptions: dict[str, str]
    skips_by_pc: dict[int, int] = field(default_factory=dict)
    stdout: bytes = b""
    exit_code: int = 0
    stderr: bytes = b""

    def json_extra(self) -> dict:
        return {"sparce_skips_by_preceding_pc": {f"{pc:#x}": n for pc, n in sorted(self.skips_by_pc.items())}}


ENGINES = ("native", "python")


def make_engine(program, params: SystemParams, sparce: bool, max_insts: int | None,
                profile: tuple[str, ...], engine: str = "native"):
    """The native engine (default), or the Python reference model (`engine="python"`)."""
    if engine == "native":
        return NativeEngine(program, params, sparce=sparce, max_insts=max_insts, profile=profile)
    if engine == "python":
        return Engine(program, params, sparce=sparce, max_insts=max_insts, profile=profile)
    raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")


def simulate(elf: str | Path, inputs: dict[str, np.ndarray] | None = None,
             outputs: dict[str, tuple[tuple[int, ...], np.dtype]] | None = None, sparce: bool = False,
             params: SystemParams = MINOR_DEFAULT, max_insts: int | None = None,
             profile: tuple[str, ...] = (), engine: str = "native") -> SimResult:
    """Simulate `elf`. inputs: symbol -> array written before the run; outputs: symbol ->
    (shape, dtype) read after it; profile: symbols whose cycles and instructions are reported
    (system.cpu.profile.*); engine: "native" or "python" (the reference model).
    Raises LoadError / SimulationError with file, PC and cause."""
    sim = make_engine(load_elf(elf), params, sparce, max_insts, profile, engine)
    for name, array in (inputs or {}).items():
        sim.write_symbol(name, array)
    sim.run()
    result = {}
    for name, (shape, dtype) in (outputs or {}).items():
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        result[name] = np.frombuffer(sim.read_symbol(name, nbytes), dtype=dtype).reshape(shape).copy()
    snap = sim.snapshot()
    values, desc = collect(snap)
    return SimResult(result, values, desc, dict(snap.sparce.skips_by_pc), snap.stdout, snap.exit_code,
                     snap.stderr)
