"""The simulated system of dissertation Table 4.1(a), as one parameter set for both backends.

The core parameters are gem5's BaseMinorCPU defaults (src/cpu/minor/BaseMinorCPU.py) and the
latencies of MinorDefaultFUPool; the caches and SPARCE sizes are Table 4.1(a). sparce_sim reads
this module directly; gem5_configs/se_sparce.py passes the same numbers to gem5's objects.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace


@dataclass(frozen=True)
class CacheParams:
    size_kb: int
    assoc: int
    latency: int          # cycles per access (hit)
    line_bytes: int = 64


@dataclass(frozen=True)
class SystemParams:
    # BaseMinorCPU pipeline
    clock_ghz: float = 1.0
    fetch1_to_fetch2_delay: int = 1        # fetch1ToFetch2ForwardDelay
    fetch2_to_decode_delay: int = 1        # fetch2ToDecodeForwardDelay
    decode_to_execute_delay: int = 1       # decodeToExecuteForwardDelay
    fetch1_to_fetch2_backward_delay: int = 1
    decode_width: int = 2                  # decodeInputWidth
    issue_limit: int = 2                   # executeIssueLimit
    mem_issue_limit: int = 1               # executeMemoryIssueLimit
    commit_limit: int = 2                  # executeCommitLimit
    execute_input_buffer: int = 7          # executeInputBufferSize (bundles)
    execute_input_width: int = 2           # executeInputWidth (instructions a bundle)
    branch_delay: int = 1                  # executeBranchDelay
    # MinorDefaultFUPool operation latencies
    lat_int_alu: int = 3
    lat_int_mult: int = 3
    lat_int_div: int = 9
    lat_float_simd: int = 6
    lat_mem: int = 1
    lat_mem_extra_assumed: int = 2         # extraAssumedLat of MinorDefaultMemFU
    lat_misc: int = 1
    int_alu_units: int = 2                 # MinorDefaultIntFU x 2
    # srcRegsRelativeLats of the FUs' timings: sources are read this many cycles after issue
    src_rel_int: int = 2
    src_rel_float: int = 2
    src_rel_mem: int = 1
    # branch prediction: a bimodal predictor with a BTB (gem5's default is a TournamentBP)
    bp_entries: int = 2048
    btb_entries: int = 4096
    # memory system, Table 4.1(a)
    l1i: CacheParams = CacheParams(32, 2, 3)
    l1d: CacheParams = CacheParams(64, 2, 3)
    l2: CacheParams = CacheParams(2048, 8, 12)
    dram_latency: int = 100                # cycles to DRAM after an L2 miss (SimpleMemory 100 ns at 1 GHz)
    # the paths between the caches (gem5's L2XBar, SystemXBar and the caches' response latencies),
    # calibrated so that an L2 miss costs gem5's measured 139 cycles beyond an L1D hit (issue 16)
    l2_path_cycles: int = 7                # an L1 miss, besides the L2 lookup
    mem_path_cycles: int = 20              # an L2 miss, besides DRAM
    # Minor's LSQ
    mem_accesses_limit: int = 2            # executeMaxAccessesInMemory
    store_buffer: int = 5                  # executeLSQStoreBufferSize
    lsq_transfers: int = 2                 # executeLSQTransfersQueueSize
    # cycles from an L1D response to the load's commit: Minor's code gives 0 (the response is
    # committed in the cycle it arrives; micro-benchmarks agree); 1 is fitted (issue 16, session 6):
    # it stands in for the unmodelled cost of loads whose address writer commits behind other loads
    load_commit_extra: int = 1
    # SPARCE, Table 4.1(a)
    sasa_entries: int = 20
    sprf_entries: int = 32

    def with_overrides(self, overrides: dict[str, str]) -> "SystemParams":
        """Apply `key=value` overrides (from --param); cache fields use l1d.size_kb style keys."""
        params = self
        for key, text in overrides.items():
            params = _override(params, key, text)
        return params

    def frontend_depth(self) -> int:
        """Cycles from fetch to the earliest issue: Fetch1 -> Fetch2 -> Decode -> Execute."""
        return self.fetch1_to_fetch2_delay + self.fetch2_to_decode_delay + self.decode_to_execute_delay

    def in_flight_window(self) -> int:
        """The model's in-flight window in instructions: Execute's input buffer holds
        executeInputBufferSize bundles of up to executeInputWidth instructions."""
        return max(1, self.execute_input_buffer * self.execute_input_width)

    def sparce_min_distance(self) -> int:
        """D, the instructions a condition producer must precede its region's precedingPC by so that
        its SpRF bit is settled when precedingPC is fetched (§4.2.1: 3 in the paper's 4-stage
        pipeline). Here a load's value is written at its commit: the front end, the Mem FU, the
        LSQ's send a cycle later, the L1D hit and the response-to-commit cycles, at decode_width
        instructions per cycle."""
        cycles = self.frontend_depth() + self.lat_mem + 1 + self.l1d.latency + self.load_commit_extra
        return cycles * self.decode_width

    def as_dict(self) -> dict:
        return asdict(self)


MINOR_DEFAULT = SystemParams()


# overrides refused because the models cannot honour them (say why, rather than ignore them)
REFUSED = {
    "l1d.latency": "a load's L1D hit time is Minor's Mem FU latency: set lat_mem / lat_mem_extra_assumed",
    "l1i.line_bytes": "all caches share one line size in both backends",
    "l1d.line_bytes": "all caches share one line size in both backends",
    "l2.line_bytes": "all caches share one line size in both backends",
}
POWER_OF_TWO = ("bp_entries", "btb_entries")


def _override(params: SystemParams, key: str, text: str) -> SystemParams:
    if key in REFUSED:
        raise ValueError(f"parameter {key} cannot be set: {REFUSED[key]}")
    head, _, sub = key.partition(".")
    names = {f.name: f for f in fields(params)}
    if head not in names:
        raise ValueError(f"unknown parameter {key!r}; known: {', '.join(names)}")
    current = getattr(params, head)
    if isinstance(current, CacheParams):
        cache_fields = {f.name for f in fields(current)}
        if sub not in cache_fields:
            raise ValueError(f"unknown cache parameter {key!r}; use {head}.<{'|'.join(cache_fields)}>")
        return replace(params, **{head: replace(current, **{sub: _positive_int(key, text)})})
    if sub:
        raise ValueError(f"parameter {head!r} has no field {sub!r}")
    value = float(text) if isinstance(current, float) else _positive_int(key, text)
    if value <= 0:
        raise ValueError(f"parameter {key}={text} must be positive")
    if head in POWER_OF_TWO and value & (value - 1):
        raise ValueError(f"parameter {key}={text} must be a power of two (a PC-indexed table)")
    return replace(params, **{head: value})


def _positive_int(key: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"parameter {key}={text!r} is not an integer") from None
    if value <= 0:
        raise ValueError(f"parameter {key}={text} must be positive")
    return value


def params_from_dict(data: dict) -> SystemParams:
    """The inverse of SystemParams.as_dict() (a JSON dump read back, e.g. by gem5_configs/se_sparce.py).
    Unknown keys are rejected, missing ones keep MINOR_DEFAULT's value."""
    names = {f.name: f for f in fields(SystemParams)}
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}")
    values = {}
    for key, value in data.items():
        default = getattr(MINOR_DEFAULT, key)
        values[key] = CacheParams(**value) if isinstance(default, CacheParams) else type(default)(value)
    return replace(MINOR_DEFAULT, **values)
