"""Set-associative LRU caches: L1I, L1D and a unified L2 before DRAM (Table 4.1(a)).

Departures from gem5's classic caches (documented, all conservative for relative results):
- accesses are atomic: a miss's latency is returned to the caller, there are no MSHR limits
  and no bus contention;
- write-allocate and write-back, but dirty evictions cost nothing;
- prefetches (prfm) fill the cache like a load and are counted separately.
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

    def access(self, line: int, write: bool = False) -> bool:
        ways = self.sets[line & self.set_mask]
        stats = self.stats
        if ways and ways[0] == line:
            hit = True
        elif line in ways:
            ways.remove(line)
            ways.insert(0, line)
            hit = True
        else:
            ways.insert(0, line)
            if len(ways) > self.assoc:
                ways.pop()
            hit = False
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
        return hit


@dataclass
class Hierarchy:
    """L1I and L1D over a unified L2 over DRAM; returns access latencies in cycles."""
    l1i: Cache
    l1d: Cache
    l2: Cache
    l1i_latency: int
    l1d_latency: int
    l2_latency: int
    dram_latency: int
    line_shift: int = field(init=False)

    def __post_init__(self) -> None:
        self.line_shift = self.l1d.line_bytes.bit_length() - 1

    @classmethod
    def from_params(cls, p) -> "Hierarchy":
        return cls(Cache("icache", p.l1i.size_kb, p.l1i.assoc, p.l1i.line_bytes),
                   Cache("dcache", p.l1d.size_kb, p.l1d.assoc, p.l1d.line_bytes),
                   Cache("l2", p.l2.size_kb, p.l2.assoc, p.l2.line_bytes),
                   p.l1i.latency, p.l1d.latency, p.l2.latency, p.dram_latency)

    def data_miss_penalty(self, line: int, write: bool = False) -> int:
        """Extra cycles beyond an L1D hit for a data access to `line` (0 on a hit)."""
        if self.l1d.access(line, write):
            return 0
        return self._below_l1(line)

    def inst_miss_penalty(self, line: int) -> int:
        if self.l1i.access(line):
            return 0
        return self._below_l1(line)

    def prefetch(self, line: int) -> None:
        """prfm PLDL1*: bring the line into L1D; not counted as a demand access."""
        ways = self.l1d.sets[line & self.l1d.set_mask]
        if line not in ways:
            self.l1d.stats.prefetches += 1
            ways.insert(0, line)
            if len(ways) > self.l1d.assoc:
                ways.pop()
            self.l2.access(line)

    def _below_l1(self, line: int) -> int:
        if self.l2.access(line):
            return self.l2_latency
        return self.l2_latency + self.dram_latency
