"""Event-driven LIF simulation with the AxSNN controller (§3.3 eq. 3.4; §6.1 eqs. 6.1-6.3).

Time-stepped and event-driven: in every step, each spike of layer l-1 walks its fan-out list and
adds its weights to layer l's potentials in the same step (eq. 3.4 uses A_j(t), not A_j(t-1)). The
unit of work is one spike-triggered synaptic update; only the updates that are performed are
gathered and summed (scipy's CSR-to-dense accumulation over the survivors), so skipped updates are
really not done, and `updates` counts exactly the additions made. A neuron spikes when V >= threshold and is reset to
the reset value; leak is subtracted every step from neurons that are not at alpha = 0.

AxSNN (§6.1). Every neuron has a level alpha in `levels` (default 1, .5, .25, .125, 0). A spiking
neuron updates only the first ceil(alpha_pre * fan-out) synapses of its |w|-sorted list, and a
target accepts a synapse only if it is among its own ceil(alpha_post * fan-in) largest (the
synapse must be active at both ends: §6.1.1 says the spiker updates only its active fan-out AND a
neuron's potential is updated only by its active fan-in). Synapses read but refused by the target
are counted in `checks` (all synapses read) but not in `updates`. `fanin_check=False` is the
other reading (only the spiker's alpha cuts, as SNNAP's magnitude-sorted weight memory does "with
no overhead"; a target at alpha = 0 still takes nothing).

Every lambda steps the controller computes for each neuron
    SpikeRate = spikes in the last lambda steps / lambda  (the window since the last invocation:
                the controller has no older state, and the level decided now governs the next lambda)
    SpikeProb = min(1, SpikeRate / max(eps, (Th - V) / (Th - Reset)))   (eq. 6.1; V >= Th cannot
                occur at a controller call because spiking neurons were just reset; for inputs,
                which have no potential, the distance is 1)
    FOM = SpikeProb * SpikeSig  (eqs. 6.2, 6.3)
and assigns alpha_k for the first k with FOM >= T_l * alpha_k (thresholds spaced in proportion to
alpha, §6.1.3), else 0. alpha = 0 is absorbing: the neuron is removed and never spikes again.
A layer with T_l = 0 is exact and costs the controller nothing. With early termination an input
stops as soon as at most one output neuron is not at alpha = 0, and takes that neuron's class.
Otherwise the class is the output with most spikes (ties broken by the membrane potential).
Inputs are rate coded (Poisson or deterministic); images run in batches that share the numpy
calls but keep separate state and counts, and an image that terminates leaves its batch.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .snn import LEVELS, SNN, check_levels

EPS = 1e-6
LANES = 64  # SNNAP's SNPE lanes (Table 6.1a): a spike's active fan-out takes ceil(k / 64) cycles


@dataclass
class Config:
    """Simulation settings. thresholds=None runs the exact SNN (no controller, no level checks)."""
    steps: int = 100
    lam: int = 10
    thresholds: tuple[float, ...] | None = None
    levels: tuple[float, ...] = LEVELS
    encoding: str = "poisson"
    seed: int = 0
    early_stop: bool = True
    batch: int = 100
    fanin_check: bool = True
    trace: bool = False
    progress: bool = False

    def check(self, snn: SNN) -> None:
        if self.steps < 1 or self.batch < 1:
            raise ValueError(f"steps and batch must be >= 1 (got {self.steps}, {self.batch})")
        if self.lam <= 0:
            raise ValueError(f"lambda (controller period) must be > 0, got {self.lam}")
        if self.encoding not in ("poisson", "deterministic"):
            raise ValueError(f"encoding must be poisson or deterministic, got {self.encoding!r}")
        check_levels(self.levels)
        if self.thresholds is not None:
            if len(self.thresholds) != len(snn.sizes):
                raise ValueError(f"need one FOM threshold per layer ({len(snn.sizes)}), got {len(self.thresholds)}")
            if any(not np.isfinite(t) or t < 0 for t in self.thresholds):
                raise ValueError(f"FOM thresholds must be finite and >= 0, got {list(self.thresholds)}")


@dataclass
class Result:
    """Per-image counts (arrays of length n_images) and the measured wall time of the simulation."""
    pred: np.ndarray
    steps_run: np.ndarray
    updates: np.ndarray
    checks: np.ndarray          # synapses read from fan-out lists (updates + those refused by targets)
    snpe_cycles: np.ndarray     # sum over spikes of ceil(active fan-out / 64)
    spikes: np.ndarray          # (n, n_layers) spikes emitted per layer
    neuron_steps: np.ndarray    # leak-and-spike visits of live neurons
    all_neuron_steps: np.ndarray
    controller_evals: np.ndarray
    invocations: np.ndarray
    early: np.ndarray
    out_counts: np.ndarray
    seconds: float
    trace: list | None = field(default=None)

    def accuracy(self, y: np.ndarray) -> float:
        return float((self.pred == y).mean())


def input_spikes(x: np.ndarray, ids: np.ndarray, steps: int, encoding: str, seed: int) -> np.ndarray:
    """(B, steps, n_in) bool input spike trains; rates are the pixel intensities in [0, 1].

    Poisson trains are drawn per image from a generator seeded by (seed, image id), so an image gets
    the same spikes whatever the batch and whichever mode runs it. Deterministic trains integrate
    the intensity and spike on reaching 1."""
    x = np.clip(x.reshape(len(x), -1), 0.0, 1.0)
    if encoding == "poisson":
        return np.stack([np.random.default_rng([seed, int(i)]).random((steps, x.shape[1])) < xi
                         for xi, i in zip(x, ids)])
    out, acc = np.zeros((len(x), steps, x.shape[1]), dtype=bool), np.zeros_like(x)
    for t in range(steps):
        acc += x
        out[:, t] = acc >= 1.0 - 1e-9
        acc[out[:, t]] -= 1.0
    return out


def _ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenated [starts[k], starts[k] + lens[k]) index ranges."""
    ends = np.cumsum(lens)
    idx = np.repeat(starts - (ends - lens), lens)
    idx += np.arange(len(idx), dtype=idx.dtype)
    return idx


def level_of(fom: np.ndarray, t: float, levels: tuple[float, ...]) -> np.ndarray:
    """Level index for each FOM: first k with FOM >= t * alpha_k, else the alpha = 0 level."""
    nonzero = np.array(levels[:-1])
    edges = t * nonzero[::-1]  # ascending
    return (len(nonzero) - np.searchsorted(edges, fom, side="right")).astype(np.int8)


class _Tables:
    """Per-level active fan-out / fan-in counts, ceil(alpha * n)."""

    def __init__(self, snn: SNN, levels: tuple[float, ...]):
        a, self.zero = np.array(levels)[:, None], len(levels) - 1
        self.kout = [np.ceil(a * p.fan_out[None]).astype(np.int64) for p in snn.projections]
        self.kin = [np.ceil(a * p.fan_in[None]).astype(np.int64) for p in snn.projections]
        self.fan_out = [p.fan_out for p in snn.projections]
        self.indptr = [p.indptr.astype(np.int64) for p in snn.projections]
        self.post = [p.post.astype(np.int32) for p in snn.projections]
        self.in_rank = [p.in_rank.astype(np.int32) for p in snn.projections]
        self.weight = [p.weight for p in snn.projections]
        # tag: the most approximate level index whose target fan-in still holds the synapse
        self.tag = [((p.in_rank[None] < kin[:, p.post]).sum(0) - 1).astype(np.int8)
                    for p, kin in zip(snn.projections, self.kin)]


class _Batch:
    """The state of a batch of images being simulated together (rows drop out when they finish)."""

    def __init__(self, snn: SNN, ids: np.ndarray):
        n = len(ids)
        self.rows = ids  # global image ids, which index the per-image accumulators
        self.V = [np.full((n, s), snn.reset) for s in snn.sizes[1:]]
        self.lvl = [np.zeros((n, s), dtype=np.int8) for s in snn.sizes]
        self.win = [np.zeros((n, s), dtype=np.int32) for s in snn.sizes]
        self.counts = np.zeros((n, snn.sizes[-1]))

    def keep(self, mask: np.ndarray) -> None:
        self.rows = self.rows[mask]
        for lst in (self.V, self.lvl, self.win):
            lst[:] = [a[mask] for a in lst]
        self.counts = self.counts[mask]


def _propagate(snn: SNN, k: int, st: _Batch, spk: np.ndarray, tab: _Tables, approx: bool, acc: dict,
               fanin: bool = True) -> None:
    """Spike-triggered updates of projection k (layer k -> k+1) into st.V[k].

    The fan-out prefixes of all spikes are gathered (rows stay grouped by image, as np.nonzero
    returns them), the refused synapses are dropped, and only the survivors are summed into the
    potentials by scipy's CSR-to-dense accumulation."""
    import scipy.sparse as sp
    n_post, n = snn.sizes[k + 1], len(st.rows)
    b, j = np.nonzero(spk)
    if not len(b):
        return
    lens = tab.kout[k][st.lvl[k][b, j], j] if approx else tab.fan_out[k][j]
    idx = _ranges(tab.indptr[k][j], lens)
    post = tab.post[k][idx]
    per_row = np.bincount(b, weights=lens, minlength=n).astype(np.int64)
    acc["checks"][st.rows] += per_row
    acc["snpe_cycles"][st.rows] += np.bincount(b, weights=-(-lens // LANES), minlength=n).astype(np.int64)
    rowptr = np.concatenate([[0], np.cumsum(per_row)])
    if approx and st.lvl[k + 1].any():  # a target is approximate: test each synapse at its target
        key = np.repeat(b.astype(np.int32) * n_post, lens)
        key += post
        target = st.lvl[k + 1].ravel()[key]
        sel = np.flatnonzero(tab.tag[k][idx] >= target if fanin else target != tab.zero)
        idx, post = idx.take(sel), post.take(sel)
        rowptr = np.searchsorted(sel, rowptr)
        per_row = np.diff(rowptr)
    acc["updates"][st.rows] += per_row
    st.V[k] += sp.csr_matrix((tab.weight[k][idx], post, rowptr), shape=(n, n_post)).toarray()


def _step(snn: SNN, st: _Batch, inp: np.ndarray, tab: _Tables, approx: bool, zero: int, acc: dict,
          fanin: bool = True) -> None:
    """One time step through all layers."""
    spk = inp
    if approx:
        spk = spk & (st.lvl[0] != zero)
    acc["spikes"][st.rows, 0] += spk.sum(1)
    st.win[0] += spk
    for k in range(len(snn.projections)):
        _propagate(snn, k, st, spk, tab, approx, acc, fanin)
        V, live = st.V[k], (st.lvl[k + 1] != zero) if approx else None
        drive = snn.projections[k].bias - snn.leak
        if np.any(drive != 0):
            V += drive if live is None else drive * live
        spk = V >= snn.threshold
        if approx:
            spk &= live
        V[spk] = snn.reset
        acc["spikes"][st.rows, k + 1] += spk.sum(1)
        st.win[k + 1] += spk
        n_live = live.sum(1) if approx else V.shape[1]
        acc["neuron_steps"][st.rows] += n_live
        acc["all_neuron_steps"][st.rows] += V.shape[1]
    st.counts += spk


def _controller(snn: SNN, st: _Batch, cfg: Config, sig: list[np.ndarray], acc: dict) -> None:
    """Eqs. 6.1-6.3 for every neuron of every approximated layer; new levels for the next lambda."""
    zero = len(cfg.levels) - 1
    acc["invocations"][st.rows] += 1
    for l, t in enumerate(cfg.thresholds):
        if t <= 0:
            continue
        rate = st.win[l] / cfg.lam
        if l == 0:
            prob = np.minimum(rate, 1.0)
        else:
            dist = (snn.threshold - st.V[l - 1]) / (snn.threshold - snn.reset)
            prob = np.minimum(rate / np.maximum(dist, EPS), 1.0)
        new = level_of(prob * sig[l], t, cfg.levels)
        new[st.lvl[l] == zero] = zero
        st.lvl[l] = new
        acc["controller_evals"][st.rows] += snn.sizes[l]
    for w in st.win:
        w[:] = 0


def _finish(snn: SNN, st: _Batch, mask: np.ndarray, approx: bool, zero: int, acc: dict) -> None:
    """Classify the rows in `mask`: the single live output if only one is left, else most spikes."""
    live = st.lvl[-1][mask] != zero
    score = st.counts[mask] + 0.5 * np.clip((st.V[-1][mask] - snn.reset) / (snn.threshold - snn.reset), 0, 1)
    pred = score.argmax(1)
    if approx:
        one = live.sum(1) == 1
        pred[one] = live[one].argmax(1)
    acc["pred"][st.rows[mask]] = pred
    acc["out_counts"][st.rows[mask]] = st.counts[mask]


def _run_batch(snn: SNN, x: np.ndarray, ids: np.ndarray, cfg: Config, tab: _Tables,
               sig: list[np.ndarray], acc: dict, seed_ids: np.ndarray) -> list | None:
    approx, zero = cfg.thresholds is not None, len(cfg.levels) - 1
    inp = input_spikes(x, seed_ids, cfg.steps, cfg.encoding, cfg.seed)
    t0 = time.perf_counter()
    st, start = _Batch(snn, ids), ids[0]
    trace = [np.full((cfg.steps, len(x), s), -1, dtype=np.int8) for s in snn.sizes] if cfg.trace else None
    for t in range(cfg.steps):
        _step(snn, st, inp[st.rows - start, t], tab, approx, zero, acc, cfg.fanin_check)
        acc["steps_run"][st.rows] += 1
        if trace is not None:  # the levels in force during step t
            for l, lv in enumerate(st.lvl):
                trace[l][t, st.rows - start] = lv
        if approx and (t + 1) % cfg.lam == 0 and t + 1 < cfg.steps:
            _controller(snn, st, cfg, sig, acc)
            if cfg.early_stop:
                done = (st.lvl[-1] != zero).sum(1) <= 1
                if done.any():
                    acc["early"][st.rows[done]] = True
                    _finish(snn, st, done, approx, zero, acc)
                    st.keep(~done)
        if not len(st.rows):
            break
    _finish(snn, st, np.ones(len(st.rows), dtype=bool), approx, zero, acc)
    acc["seconds"] += time.perf_counter() - t0
    return trace


def simulate(snn: SNN, x: np.ndarray, cfg: Config, ids: np.ndarray | None = None) -> Result:
    """Run every image of x (N, ...) through the SNN under cfg; counts are per image.

    `ids` (default 0..N-1) seed each image's Poisson input, so a subset rerun sees the same spikes."""
    cfg.check(snn)
    n = len(x)
    ids = np.arange(n) if ids is None else np.asarray(ids)
    if n == 0:
        raise ValueError("no images to simulate (empty dataset)")
    if int(np.prod(x.shape[1:])) != snn.sizes[0]:
        raise ValueError(f"images have {int(np.prod(x.shape[1:]))} pixels, the SNN takes {snn.sizes[0]}")
    L = len(snn.sizes)
    acc = {k: np.zeros(n, dtype=np.int64) for k in ("pred", "steps_run", "updates", "checks", "snpe_cycles", "neuron_steps",
                                                    "all_neuron_steps", "controller_evals", "invocations")}
    acc.update(spikes=np.zeros((n, L), dtype=np.int64), early=np.zeros(n, dtype=bool),
               out_counts=np.zeros((n, snn.sizes[-1])), seconds=0.0)
    tab, sig = _Tables(snn, cfg.levels), snn.spike_sig()
    starts = range(0, n, cfg.batch)
    if cfg.progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc="simulate", unit="batch", leave=False)
    traces = []
    for s in starts:
        pos = np.arange(s, min(n, s + cfg.batch))
        tr = _run_batch(snn, x[pos], pos, cfg, tab, sig, acc, ids[pos])
        if tr is not None:
            traces.append(tr)
    trace = [np.concatenate([t[l] for t in traces], axis=1) for l in range(L)] if traces else None
    return Result(trace=trace, **acc)
