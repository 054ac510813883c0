"""An EDT-style linear test-pattern decompressor (dissertation §3.7, Fig. 3.8) and its GF(2) model.

Hardware modelled: an L-bit LFSR with XOR feedback taps; E input channels injected each cycle at
evenly spaced stages; a phase shifter whose S outputs each XOR three state bits; S scan chains
filled over T shift cycles after `warmup` initial cycles (which fill the LFSR before the chains
capture anything). One pattern consumes E * (warmup + T) input bits and yields S * T scan-cell bits.

Everything is linear over GF(2), so each scan cell is a fixed XOR of input bits. `symbolic()`
derives those XORs as bit-packed rows (the matrix G with cell = G x); `decompress()` simulates the
hardware bit by bit on concrete inputs. Input bit v = cycle * E + channel.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

# Feedback taps per LFSR length (positions XORed with the bit shifted out of the last stage).
_TAPS = {16: (15, 13, 4), 24: (23, 22, 17), 32: (22, 2, 1), 48: (47, 21, 20),
         64: (63, 61, 60), 96: (94, 49, 47), 128: (126, 101, 99)}
LFSR_LENGTHS = tuple(sorted(_TAPS))


def lfsr_length_for(channels: int, minimum: int = 32) -> int:
    """Smallest supported LFSR length that is >= max(channels, minimum)."""
    for length in LFSR_LENGTHS:
        if length >= max(channels, minimum):
            return length
    raise ValueError(f"{channels} input channels exceed the largest LFSR ({LFSR_LENGTHS[-1]} bits)")


@dataclass(frozen=True)
class Decompressor:
    length: int      # L, LFSR stages
    channels: int    # E, input channels
    chains: int      # S, scan chains
    cycles: int      # T, shift cycles per pattern (scan chain length)
    warmup: int = 2  # initial cycles before the chains capture
    seed: int = 0    # phase-shifter wiring

    def __post_init__(self):
        if self.length not in _TAPS:
            raise ValueError(f"unsupported LFSR length {self.length}; choose from {LFSR_LENGTHS}")
        if not 1 <= self.channels <= self.length:
            raise ValueError(f"need 1 <= E <= L, got E={self.channels}, L={self.length}")
        if self.chains < 1 or self.cycles < 1 or self.warmup < 0:
            raise ValueError("need S >= 1 chains, T >= 1 cycles and warmup >= 0")

    @property
    def n_inputs(self) -> int:
        """Input bits per pattern: E * (warmup + T)."""
        return self.channels * (self.warmup + self.cycles)

    @cached_property
    def injection(self) -> np.ndarray:
        return (np.arange(self.channels) * self.length) // self.channels

    @cached_property
    def phase_shifter(self) -> np.ndarray:
        """(S, 3) state-bit triples, one per chain, with distinct tap spacings where possible."""
        rng = np.random.default_rng(self.seed + 7919 * self.length)
        taps = np.empty((self.chains, 3), dtype=np.int64)
        seen: set[tuple[int, int]] = set()   # tap spacings: equal spacings give shifted copies
        for s in range(self.chains):
            for _ in range(1000):
                t = tuple(sorted(rng.choice(self.length, 3, replace=False)))
                if (t[1] - t[0], t[2] - t[1]) not in seen:
                    break
            seen.add((t[1] - t[0], t[2] - t[1]))
            taps[s] = t
        return taps

    def _step(self, state: np.ndarray) -> np.ndarray:
        """One LFSR shift on axis 0 of `state` (rows = stages), for bits or packed GF(2) rows."""
        out = state[-1].copy()
        state = np.roll(state, 1, axis=0)
        state[0] = out
        for t in _TAPS[self.length]:
            state[t] ^= out
        return state

    def symbolic(self) -> np.ndarray:
        """G as (T, S, W) uint64: bit v of G[t, s] says whether input v feeds cell (chain s, cycle t)."""
        words = self.n_inputs // 64 + 1
        state = np.zeros((self.length, words), dtype=np.uint64)
        out = np.empty((self.cycles, self.chains, words), dtype=np.uint64)
        ps = self.phase_shifter
        for c in range(self.warmup + self.cycles):
            state = self._step(state)
            for e, pos in enumerate(self.injection):
                v = c * self.channels + e
                state[pos, v // 64] ^= np.uint64(1) << np.uint64(v % 64)
            if c >= self.warmup:
                out[c - self.warmup] = state[ps[:, 0]] ^ state[ps[:, 1]] ^ state[ps[:, 2]]
        return out

    def decompress(self, inputs: np.ndarray) -> np.ndarray:
        """Simulate the hardware: inputs (B, warmup+T, E) bits -> scan cells (B, S, T) bits."""
        inputs = np.asarray(inputs, dtype=np.uint8)
        b = inputs.shape[0]
        if inputs.shape[1:] != (self.warmup + self.cycles, self.channels):
            raise ValueError(f"decompressor expects (B, {self.warmup + self.cycles}, {self.channels}) "
                             f"inputs, got {inputs.shape}")
        state = np.zeros((self.length, b), dtype=np.uint8)
        cells = np.empty((b, self.chains, self.cycles), dtype=np.uint8)
        ps = self.phase_shifter
        for c in range(self.warmup + self.cycles):
            state = self._step(state)
            state[self.injection] ^= inputs[:, c, :].T
            if c >= self.warmup:
                cells[:, :, c - self.warmup] = (state[ps[:, 0]] ^ state[ps[:, 1]] ^ state[ps[:, 2]]).T
        return cells
