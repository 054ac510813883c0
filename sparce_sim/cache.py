"""Set-associative LRU caches: L1I, L1D and a unified L2 before DRAM (Table 4.1(a)), with the
timing of gem5's classic caches as MinorCPU's LSQ sees them.

What is modelled after gem5 (calibrated on ../shared/gem5_reference, issue 16):
- an L1 miss costs the L2 lookup plus `l2_path_cycles` (the L2 crossbar and the L1's fill
  response); an L2 miss adds DRAM plus `mem_path_cycles` (the memory bus and the L2's fill
  response): 139 cycles beyond an L1D hit by default, gem5's measured MSHR miss latency;
- an L1D line being filled is an outstanding MSHR: another access to it waits for the fill and
  counts as a miss (gem5's `overallMisses` include MSHR hits; `mshr_hits` counts them);
- at most `mem_accesses_limit` data accesses are in the memory system at once (Minor's
  executeMaxAccessesInMemory): `mem_slot(t)` is the earliest cycle a new one may be sent;
- software prefetches (prfm) are L1D accesses (gem5's SoftPFReq): answered at once, the fill
  goes on in the background.
Departures: write-back of dirty lines costs nothing; an access never waits for the L2 or the
buses to be free (no contention beyond the in-flight limit); the MSHR count (4) is not modelled,
the in-flight limit (2) being lower.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    read_hits: int = 0
    read_misses: int = 0
    write_hits: int = 0
    write_misses: int = 0
    prefetches: int = 0
    mshr_hits: int = 0

    @property
    def accesses(self) -> int:
        return self.hits + self.misses


class Cache:
    """One cache level. `access(line)` returns True on a hit and updates LRU state."""

    def __init__(self, name: str, size_kb: int, assoc: int, line_bytes: int) -> None:
        nsets = size_kb * 1024 // (assoc * line_bytes)
        if nsets <= 0 or nsets & (nsets - 1):
            raise ValueError(f"{name}: {size_kb} KB / {assoc}-way / {line_bytes} B lines "
                             "does not give a power-of-two number of sets")
        self.name = name
        self.assoc = assoc
        self.line_bytes = line_bytes
        self.set_mask = nsets - 1
        self.sets: list[list[int]] = [[] for _ in range(nsets)]   # most recently used first
        self.stats = CacheStats()

    def lookup(self, line: int) -> bool:
        """True on a hit; updates LRU state and allocates on a miss; counts nothing."""
        ways = self.sets[line & self.set_mask]
        if ways and ways[0] == line:
            return True
        if line in ways:
            ways.remove(line)
            ways.insert(0, line)
            return True
        ways.insert(0, line)
        if len(ways) > self.assoc:
            ways.pop()
        return False

    def count(self, hit: bool, write: bool) -> None:
        stats = self.stats
        if hit:
            stats.hits += 1
            if write:
                stats.write_hits += 1
            else:
                stats.read_hits += 1
        else:
            stats.misses += 1
            if write:
                stats.write_misses += 1
            else:
                stats.read_misses += 1

    def access(self, line: int, write: bool = False) -> bool:
        hit = self.lookup(line)
        self.count(hit, write)
        return hit


INFLIGHT_RING = 8       # data accesses remembered for the in-flight limit (it is at most a few)


@dataclass
class Hierarchy:
    """L1I and L1D over a unified L2 over DRAM, timed (see the module docstring)."""
    l1i: Cache
    l1d: Cache
    l2: Cache
    l1i_latency: int
    l1d_latency: int
    l2_latency: int
    dram_latency: int
    l2_path_cycles: int = 0
    mem_path_cycles: int = 0
    mem_accesses_limit: int = 2
    line_shift: int = field(init=False)
    fills: dict = field(init=False)          # L1D line -> cycle its outstanding fill completes
    inflight: list = field(init=False)       # (sent, done) of the last INFLIGHT_RING data accesses
    inflight_i: int = field(init=False)

    def __post_init__(self) -> None:
        self.line_shift = self.l1d.line_bytes.bit_length() - 1
        self.fills = {}
        self.inflight = [(0, 0)] * INFLIGHT_RING
        self.inflight_i = 0

    @classmethod
    def from_params(cls, p) -> "Hierarchy":
        return cls(Cache("icache", p.l1i.size_kb, p.l1i.assoc, p.l1i.line_bytes),
                   Cache("dcache", p.l1d.size_kb, p.l1d.assoc, p.l1d.line_bytes),
                   Cache("l2", p.l2.size_kb, p.l2.assoc, p.l2.line_bytes),
                   p.l1i.latency, p.l1d.latency, p.l2.latency, p.dram_latency,
                   p.l2_path_cycles, p.mem_path_cycles, p.mem_accesses_limit)

    def mem_slot(self, t: int) -> int:
        """The earliest cycle >= t at which fewer than mem_accesses_limit data accesses are in flight."""
        while True:
            active = [done for sent, done in self.inflight if sent <= t < done]
            if len(active) < self.mem_accesses_limit:
                return t
            t = min(active)

    def data_access(self, line: int, write: bool, t: int) -> int:
        """A demand access to `line` sent at cycle t; returns the cycle its data is there."""
        l1d = self.l1d
        hit = l1d.lookup(line)
        done = t + self.l1d_latency
        if hit:
            fill = self.fills.get(line, 0)
            if fill > done:                   # the line is still being filled: an MSHR hit
                hit, done = False, fill
                l1d.stats.mshr_hits += 1
        else:
            done += self._below_l1(line)
            self.fills[line] = done
        l1d.count(hit, write)
        self._sent(t, done)
        return done

    def prefetch(self, line: int, t: int) -> None:
        """prfm PLDL1*: an L1D access answered after the lookup; a miss fills in the background."""
        l1d = self.l1d
        hit = l1d.lookup(line)
        done = t + self.l1d_latency
        if hit:
            l1d.stats.hits += 1
        else:
            l1d.stats.misses += 1
            l1d.stats.prefetches += 1
            self.fills[line] = done + self._below_l1(line)
        self._sent(t, done)

    def touch_data(self, line: int) -> None:
        """An untimed read of `line` (the SASA-LD table load): LRU state and counts only."""
        hit = self.l1d.lookup(line)
        if not hit:
            self._below_l1(line)
            self.fills[line] = 0
        self.l1d.count(hit, False)

    def inst_miss_penalty(self, line: int) -> int:
        if self.l1i.access(line):
            return 0
        return self._below_l1(line)

    def _sent(self, t: int, done: int) -> None:
        self.inflight[self.inflight_i] = (t, done)
        self.inflight_i = (self.inflight_i + 1) % INFLIGHT_RING

    def _below_l1(self, line: int) -> int:
        if self.l2.access(line):
            return self.l2_latency + self.l2_path_cycles
        return self.l2_latency + self.l2_path_cycles + self.mem_path_cycles + self.dram_latency
