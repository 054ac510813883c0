"""SNNAP cycle and energy model (dissertation §6.2, §6.3.1, Table 6.1a), driven by counted events.

The accelerator: a scalar Leak-and-Spike (LnS) unit visits every neuron every step (read its state,
leak, compare, write back); when a neuron spikes, a 64-lane SNPE array walks its active fan-out, 64
synapses a cycle (read weight memory, read the target's state with its 3 alpha bits, add, write).
The AxSNN controller, invoked every lambda steps by the global controller, visits each neuron of an
approximated layer (read state + spike-rate counter, eq. 6.1-6.3, write the 3-bit level).

Cycles (1 GHz, no overlap between the units assumed):
    LnS visits + sum over spikes of ceil(active fan-out / 64) + controller visits.
Energy, as the paper computed it (§6.3.1: logic power x execution time, plus memory accesses x
per-access energy from CACTI):
    E = P_logic * cycles / f + sum(accesses * energy per access).

Documented assumptions (45 nm class; we have neither the RTL nor CACTI runs of the paper):
- P_logic = 175.74 mW at 1 GHz: Table 6.1a's SNNAP power, taken as the average logic power.
- State memory (SM): 64 banks, one per lane, each <= 8 KB; a 32-bit state word (16-bit potential,
  3-bit alpha, spike-rate counter) costs 5 pJ to read or write: half of the 10 pJ per 64-bit read
  of an 8 KB SRAM in M. Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm).
- Weight memory (WM): 32-bit entries (16-bit weight, target index, 3-bit fan-in tag), 32 KB-class
  banks: 10 pJ per read, half of Horowitz's 20 pJ per 64-bit read of a 32 KB SRAM.
Arithmetic (adds, compares, the controller's multiplies) is inside the logic power.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class SnnapParams:
    lanes: int = 64
    freq_hz: float = 1e9
    logic_power_w: float = 0.17574
    sm_access_pj: float = 5.0
    wm_read_pj: float = 10.0


def events(res) -> dict[str, int]:
    """The event counts of a simulate.Result, summed over its images."""
    return {"lns_visits": int(res.all_neuron_steps.sum()), "live_visits": int(res.neuron_steps.sum()),
            "synapse_reads": int(res.checks.sum()), "updates": int(res.updates.sum()),
            "snpe_cycles": int(res.snpe_cycles.sum()), "controller_visits": int(res.controller_evals.sum())}


def energy(ev: dict[str, int], p: SnnapParams = SnnapParams()) -> dict:
    """Cycles and energy (uJ) with a breakdown, from event counts."""
    cycles = ev["lns_visits"] + ev["snpe_cycles"] + ev["controller_visits"]
    sm = (ev["lns_visits"] + ev["live_visits"]            # LnS read all, write back the live ones
          + ev["synapse_reads"] + ev["updates"]           # SNPE: read each target, write the updated
          + 2 * ev["controller_visits"])                  # controller: read state, write level
    parts = {"logic_uJ": p.logic_power_w * cycles / p.freq_hz * 1e6,
             "state_memory_uJ": sm * p.sm_access_pj * 1e-6,
             "weight_memory_uJ": ev["synapse_reads"] * p.wm_read_pj * 1e-6}
    return {"cycles": int(cycles), "time_us": cycles / p.freq_hz * 1e6,
            "energy_uJ": float(sum(parts.values())), **parts, "params": asdict(p)}


def of_result(res, p: SnnapParams = SnnapParams()) -> dict:
    return energy(events(res), p)
