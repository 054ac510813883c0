"""SPARCE energy estimate (dissertation §4.3.2, §4.4.1): energy = execution time x power.

The baseline core is a Cortex-A35 class ARMv8 core drawing 90 mW at 1 GHz; SPARCE's hardware
(SpRF, SASA table, PSRU, SVC; synthesized in 45 nm) adds 1.74 mW, 1.9% of the core.
"""
from __future__ import annotations

CORE_MW = 90.0
SPARCE_MW = 1.74


def energy_nj(cycles: float, clock_ghz: float = 1.0, sparce: bool = False) -> float:
    """Energy in nJ of a run of `cycles` cycles: mW x ns = pJ, so divide by 1000."""
    if cycles < 0 or clock_ghz <= 0:
        raise ValueError("cycles must be >= 0 and the clock positive")
    power_mw = CORE_MW + (SPARCE_MW if sparce else 0.0)
    return power_mw * (cycles / clock_ghz) / 1000.0


def energy_ratio(sparce_cycles: float, base_cycles: float) -> float:
    """SPARCE energy normalized to the baseline's (both at the same clock)."""
    return energy_nj(sparce_cycles, sparce=True) / energy_nj(base_cycles)
