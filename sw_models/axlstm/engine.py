"""Numpy inference engine for seq2seq LSTMs with AxLSTM's savings made real (chapter 5, eq. 3.3).

* Encoding: each sequence is encoded from its kept symbols only; the Input Analyzer (approx.py) removes
  skipped symbols before the encoder runs, so a skipped timestep costs no work at all and (h, c) is
  carried forward unchanged (Fig. 5.2). The encoder runs layer by layer: all inputs of a layer are known
  before its recurrence starts, so the input product of all kept steps is one matrix product (the
  recurrent product stays one per step). Sequences in a batch are sorted by kept length and packed
  time-major, so the rows still running at step t are a prefix and finished rows cost nothing.
* Decoding: the State Minimizer's kept units index the decoder's matrices once per batch
  (`slice_decoder`), and every decoder step then multiplies the smaller matrices (Fig. 5.3). Layer 0's
  input product is a lookup in a table of embedding x W (+ biases) per target word; layer l > 0 does
  one product of [h_{l-1}; h_l] with the stacked [W; R]. Finished sequences leave the batch.
* A step is one fused product plus eight in-place element-wise calls on preallocated buffers: the
  sigmoid gates' rows of W, R and b are pre-scaled by 1/2 (exact: a power of two), so one tanh over all
  gates gives tanh(z/2) for i, o, f (sigmoid(z) = (tanh(z/2) + 1)/2) and tanh(z) for the cell input.
  Baseline and approximate models run this same code.
* Operations are the theoretical count of Fig. 5.4b: every eq. 3.2 cell adds 2*rows*4H*(in + H) (the
  shapes multiplied, smaller under DSR; the table lookup is counted as the product it replaces) and
  10 per state element; the projection adds 2*rows*H*V. Time per encoder and decoder step is recorded
  (the encoder's per-layer products are shared out over the steps by rows), so eq. 3.3 can be set
  beside the measurement.

Weights are held in ONNX's gate order (i, o, f, c blocks of H rows) and multiplied in unit-major order
(see Layer).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from .data import BOS, EOS

# Time is the CPU time of the running thread: on a shared, oversubscribed machine wall-clock intervals
# of tens of microseconds mostly measure other processes. evaluate.measure reports wall-clock beside it.
clock = time.thread_time

# Raised whenever a change to the inference path (this file, the Input Analyzer or the State Minimizer)
# changes timings: evaluate.json entries measured with another version are measured again, not resumed.
ENGINE_VERSION = 3

ELEMENTWISE_OPS = 10  # 3 sigmoids, 2 tanh, 3 products, 1 sum, 1 bias add per state element
_GATE_SCALE = np.array([0.5, 0.5, 0.5, 1.0], np.float32)   # unit-major gates i, o, f (sigmoid), c (tanh)


def unit_major(M: np.ndarray) -> np.ndarray:
    """[4H, n] in ONNX gate-major order (i, o, f, c blocks) -> [n, H, 4]: each unit's four gates adjacent."""
    H = M.shape[0] // 4
    return np.ascontiguousarray(M.reshape(4, H, -1).transpose(2, 1, 0))


@dataclass
class Layer:
    """One LSTM layer: W [4H, I], R [4H, H], biases Wb, Rb [4H] (ONNX gate order i, o, f, c).

    The engine multiplies by WU [I, H, 4] and RU [H, H, 4] (viewed as WT [I, 4H], RT [H, 4H]) and adds
    bU [H, 4]: transposes in *unit-major* order, so that keeping a subset of units is a gather of
    contiguous 4-gate groups, with the sigmoid gates pre-scaled by 1/2 (see the module docstring).
    WRT = [WT; RT] is the stacked matrix a layer fed by another layer multiplies [x; h] with."""
    W: np.ndarray | None
    R: np.ndarray | None
    Wb: np.ndarray | None
    Rb: np.ndarray | None

    def __post_init__(self):
        bU = (self.Wb + self.Rb).astype(np.float32).reshape(4, -1).T
        self._set(np.concatenate([unit_major(self.W), unit_major(self.R)]) * _GATE_SCALE,
                  self.W.shape[1], np.ascontiguousarray(bU * _GATE_SCALE))

    def _set(self, WRU: np.ndarray, rows_in: int, bU: np.ndarray, inputs: int | None = None) -> None:
        self.WRU, self.bU = WRU, bU
        self.inputs = rows_in if inputs is None else inputs      # the cell's input width (operations)
        self.WRT = WRU.reshape(WRU.shape[0], -1)
        self.WT, self.RT = self.WRT[:rows_in], self.WRT[rows_in:]
        self.b = bU.reshape(-1)

    @classmethod
    def from_unit_major(cls, WRU: np.ndarray, rows_in: int, bU: np.ndarray, inputs: int | None = None) -> "Layer":
        """A compute-only layer (a sliced decoder layer) from scaled [W; R] rows, the first `rows_in` of
        them W's (0 for layer 0, whose input product is the table; `inputs` then gives its width)."""
        layer = cls.__new__(cls)
        layer.W = layer.R = layer.Wb = layer.Rb = None
        layer._set(WRU, rows_in, bU, inputs)
        return layer

    @property
    def hidden(self) -> int:
        return self.WRU.shape[1]

    def table(self, emb: np.ndarray) -> np.ndarray:
        """Input product plus bias for every embedding row: [V, 4H] (an exact lookup for layer 0)."""
        return emb @ self.WT + self.b


@dataclass
class Weights:
    """A whole seq2seq model as numpy arrays, plus its vocabularies.

    enc_table / dec_table (computed when not given) are layer 0's input product plus bias per word."""
    src_vocab: list[str]
    tgt_vocab: list[str]
    enc_emb: np.ndarray | None        # None when the source is frames
    src_dim: int
    enc: list[Layer]
    dec_emb: np.ndarray
    dec: list[Layer]
    proj_W: np.ndarray                # [H, V]
    proj_b: np.ndarray                # [V]
    enc_table: np.ndarray | None = field(init=False, repr=False, compare=False)
    dec_table: np.ndarray | None = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        """Tables are derived from the layers (so `replace` recomputes them); a sliced decoder's layer 0
        keeps no W, and slice_decoder gives it the full table's kept columns instead."""
        self.enc_table = None if self.enc_emb is None else self.enc[0].table(self.enc_emb)
        self.dec_table = self.dec[0].table(self.dec_emb) if self.dec[0].W is not None else None

    @property
    def frames(self) -> bool:
        return self.enc_emb is None


@dataclass
class Stats:
    """Work done by one batch: operations, time per phase and per step."""
    ops_enc: int = 0
    ops_dec: int = 0
    t_enc: float = 0.0
    t_dec: float = 0.0
    t_ia: float = 0.0                  # Input Analyzer overhead (filled by the caller)
    t_sm: float = 0.0                  # State Minimizer overhead: thresholds + slicing
    enc_steps: list[float] = field(default_factory=list)
    dec_steps: list[float] = field(default_factory=list)
    kept_units: list[int] = field(default_factory=list)

    def add(self, other: "Stats") -> None:
        for name in ("ops_enc", "ops_dec", "t_enc", "t_dec", "t_ia", "t_sm"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def cell_ops(rows: int, inputs: int, hidden: int) -> int:
    """Theoretical operations of one eq. 3.2 step for `rows` rows."""
    return 2 * rows * 4 * hidden * (inputs + hidden) + ELEMENTWISE_OPS * rows * hidden


@lru_cache(maxsize=None)
def _affine(hidden: int) -> tuple[np.ndarray, np.ndarray]:
    """Per unit-major gate: tanh(z) * a + b turns i, o, f into sigmoids ((t + 1) / 2, exact) and keeps c."""
    return np.tile([0.5, 0.5, 0.5, 1.0], hidden).astype(np.float32), \
        np.tile([0.5, 0.5, 0.5, 0.0], hidden).astype(np.float32)


class _Cell:
    """Preallocated buffers and views for one layer at a fixed number of rows; `step` is eq. 3.2
    in place: z holds the gate pre-activations on entry, h and c are updated."""

    def __init__(self, rows: int, hidden: int):
        self.z = np.empty((rows, hidden * 4), np.float32)
        z4 = self.z.reshape(rows, hidden, 4)
        self.i, self.o, self.f, self.g = z4[:, :, 0], z4[:, :, 1], z4[:, :, 2], z4[:, :, 3]
        self.a, self.b = _affine(hidden)
        self.tmp = np.empty((rows, hidden), np.float32)

    def step(self, h: np.ndarray, c: np.ndarray) -> None:
        z = self.z
        np.tanh(z, out=z)
        z *= self.a
        z += self.b                                      # i, o, f = sigmoid; g = tanh
        c *= self.f
        np.multiply(self.i, self.g, out=self.tmp)
        c += self.tmp
        np.tanh(c, out=h)
        h *= self.o


def cell(layer: Layer, x: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """One eq. 3.2 step for a batch of rows, returning new (h, c) and the operations (inputs unchanged)."""
    run = _Cell(len(x), layer.hidden)
    np.dot(x, layer.WT, out=run.z)
    run.z += h @ layer.RT
    run.z += layer.b
    h, c = np.empty_like(run.tmp), np.array(c, np.float32, copy=True)
    run.step(h, c)
    return h, c, cell_ops(len(x), layer.inputs, layer.hidden)


def encode(w: Weights, sources: list, stats: Stats | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Encode kept symbols (ids or frames per sequence); return final h, c per layer, [B, H] each."""
    stats = stats if stats is not None else Stats()
    t0 = clock()
    B = len(sources)
    order = sorted(range(B), key=lambda b: -len(sources[b]))
    lens = [len(sources[b]) for b in order]
    T = lens[0] if B else 0
    rows = [sum(1 for L in lens if L > t) for t in range(T)]          # running rows: a prefix
    starts = np.concatenate([[0], np.cumsum(rows)]).astype(int)
    steps = np.zeros(T)
    h = [np.zeros((B, l.hidden), np.float32) for l in w.enc]
    c = [np.zeros((B, l.hidden), np.float32) for l in w.enc]
    if T:
        ts = clock()
        x = _packed_input(w, sources, order, rows)                     # layer 0's x W + b, packed
        steps += (clock() - ts) * np.asarray(rows) / starts[-1]
        for l, layer in enumerate(w.enc):
            x = _encode_layer(layer, x, rows, starts, h[l], c[l], steps)
            stats.ops_enc += cell_ops(int(starts[-1]), layer.inputs, layer.hidden)
            if l + 1 < len(w.enc):
                ts = clock()
                x = x @ w.enc[l + 1].WT
                x += w.enc[l + 1].b
                steps += (clock() - ts) * np.asarray(rows) / starts[-1]
    stats.enc_steps.extend(steps.tolist())
    inverse = np.argsort(order)
    out = ([a[inverse] for a in h], [a[inverse] for a in c]) if B > 1 else (h, c)
    stats.t_enc += clock() - t0
    return out


def _packed_input(w: Weights, sources: list, order: list[int], rows: list[int]) -> np.ndarray:
    """Layer 0's input product plus bias for every kept step, time-major packed ([sum rows, 4H])."""
    seqs = [sources[b] for b in order]
    if len(seqs) == 1:
        picked = seqs[0]
    else:
        picked = [seqs[r][t] for t, n in enumerate(rows) for r in range(n)]
    if w.frames:
        x = np.asarray(picked, np.float32) @ w.enc[0].WT
        x += w.enc[0].b
        return x
    return w.enc_table[picked]


def _encode_layer(layer: Layer, x: np.ndarray, rows: list[int], starts: np.ndarray,
                  h: np.ndarray, c: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The recurrence of one layer over packed pre-activations x; h, c [B, H] updated in place.
    Returns the packed outputs h_t (the next layer's inputs)."""
    out = np.empty((len(x), layer.hidden), np.float32)
    RT, run, n_run = layer.RT, None, -1
    for t, n in enumerate(rows):
        ts = clock()
        if n != n_run:
            run, n_run, hn, cn = _Cell(n, layer.hidden), n, h[:n], c[:n]
        np.dot(hn, RT, out=run.z)
        run.z += x[starts[t]:starts[t + 1]]
        run.step(hn, cn)
        out[starts[t]:starts[t + 1]] = hn
        steps[t] += clock() - ts
    return out


def slice_decoder(w: Weights, keep: list[np.ndarray]) -> Weights:
    """Decoder with only the kept state units of each layer: smaller [W; R], b, table and projection.

    np.take of whole 4-gate groups on the unit-major matrices (rows: kept inputs and units; columns:
    kept units), once per batch."""
    layers, prev = [], None
    for l, layer in enumerate(w.dec):
        k = keep[l]
        if prev is None:                                         # layer 0: R only, its input is the table
            WRU = layer.WRU.take(layer.inputs + k, axis=0).take(k, axis=1)
            layers.append(Layer.from_unit_major(WRU, 0, layer.bU.take(k, axis=0), layer.inputs))
        else:
            WRU = layer.WRU.take(np.concatenate([prev, layer.inputs + k]), axis=0).take(k, axis=1)
            layers.append(Layer.from_unit_major(WRU, len(prev), layer.bU.take(k, axis=0)))
        prev = k
    V = len(w.dec_table)
    sliced = copy.copy(w)                    # shares the encoder and its table: nothing recomputed
    sliced.dec, sliced.proj_W = layers, w.proj_W.take(prev, axis=0)
    sliced.dec_table = w.dec_table.reshape(V, -1, 4).take(keep[0], axis=1).reshape(V, -1)
    return sliced


class _DecoderState:
    """Decoder (h, c) of every layer side by side ([rows, sum H_l]), so that layer l > 0 multiplies the
    adjacent [h_{l-1}; h_l] with its stacked [W; R] in one product; buffers for `rows` rows."""

    def __init__(self, w: Weights, h: list[np.ndarray], c: list[np.ndarray]):
        self.w = w
        self.edges = np.concatenate([[0], np.cumsum([a.shape[1] for a in h])]).astype(int)
        self.H = np.concatenate(h, axis=1, dtype=np.float32)
        self.C = np.concatenate(c, axis=1, dtype=np.float32)
        self._views()

    def _views(self) -> None:
        n, e = len(self.H), self.edges
        self.cells = [_Cell(n, l.hidden) for l in self.w.dec]
        self.h = [self.H[:, e[l]:e[l + 1]] for l in range(len(e) - 1)]
        self.c = [self.C[:, e[l]:e[l + 1]] for l in range(len(e) - 1)]
        self.hh = [None] + [self.H[:, e[l - 1]:e[l + 1]] for l in range(1, len(e) - 1)]

    def keep_rows(self, going: np.ndarray) -> None:
        self.H, self.C = self.H[going], self.C[going]
        self._views()

    def step(self, tokens: np.ndarray, stats: Stats) -> np.ndarray:
        """One decoder timestep for every row: layer 0 from the table, stacked cells, logits."""
        w = self.w
        for l, layer in enumerate(w.dec):
            run = self.cells[l]
            if l == 0:
                np.dot(self.h[0], layer.RT, out=run.z)
                run.z += w.dec_table[tokens]
            else:
                np.dot(self.hh[l], layer.WRT, out=run.z)
                run.z += layer.b
            run.step(self.h[l], self.c[l])
            stats.ops_dec += cell_ops(len(tokens), layer.inputs, layer.hidden)
        top = self.h[-1]
        stats.ops_dec += 2 * len(tokens) * w.proj_W.size
        logits = top @ w.proj_W
        logits += w.proj_b
        return logits


def decode_greedy(w: Weights, h0: list[np.ndarray], c0: list[np.ndarray], max_len: int,
                  stats: Stats | None = None) -> list[list[str]]:
    """Greedy decoding from initial states (already sliced if DSR is on); finished rows leave."""
    stats = stats if stats is not None else Stats()
    t0 = clock()
    bos, eos = w.tgt_vocab.index(BOS), w.tgt_vocab.index(EOS)
    B = len(h0[0])
    alive = np.arange(B)
    state = _DecoderState(w, h0, c0)
    tokens = np.full(B, bos)
    out: list[list[int]] = [[] for _ in range(B)]
    for _ in range(max_len):
        ts = clock()
        tokens = state.step(tokens, stats).argmax(axis=1)
        going = tokens != eos
        if B == 1:
            if going[0]:
                out[0].append(int(tokens[0]))
        else:
            for r in np.flatnonzero(going):
                out[alive[r]].append(int(tokens[r]))
        stats.dec_steps.append(clock() - ts)
        if not going.any():
            break
        if not going.all():
            alive, tokens = alive[going], tokens[going]
            state.keep_rows(going)
    stats.t_dec += clock() - t0
    return [[w.tgt_vocab[i] for i in seq] for seq in out]


def decode_beam(w: Weights, h0: list[np.ndarray], c0: list[np.ndarray], max_len: int, beam: int = 4,
                stats: Stats | None = None) -> list[list[str]]:
    """Beam search, one sequence at a time (the beams are the batch rows)."""
    stats = stats if stats is not None else Stats()
    t0 = clock()
    results = [_beam_one(w, [a[b:b + 1] for a in h0], [a[b:b + 1] for a in c0], max_len, beam, stats)
               for b in range(len(h0[0]))]
    stats.t_dec += clock() - t0
    return results


def _beam_one(w: Weights, h, c, max_len: int, beam: int, stats: Stats) -> list[str]:
    bos, eos = w.tgt_vocab.index(BOS), w.tgt_vocab.index(EOS)
    seqs, scores, tokens = [[]], np.zeros(1), np.array([bos])
    state = _DecoderState(w, h, c)
    done: list[tuple[float, list[int]]] = []
    for _ in range(max_len):
        logits = state.step(tokens, stats)
        logp = logits - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True)) \
            - logits.max(1, keepdims=True)
        total = (scores[:, None] + logp).ravel()
        best = np.argsort(-total)[:beam]
        rows, toks = best // logp.shape[1], best % logp.shape[1]
        keep = []
        for r, t, s in zip(rows, toks, total[best]):
            if t == eos:
                done.append((s / (len(seqs[r]) + 1), seqs[r]))
            else:
                keep.append((r, t, s))
        if len(done) >= beam or not keep:
            break
        rows = np.array([k[0] for k in keep])
        seqs = [seqs[r] + [int(t)] for r, t, _ in keep]
        scores, tokens = np.array([k[2] for k in keep]), np.array([k[1] for k in keep])
        state.keep_rows(rows)
    if not done:
        done = [(scores[0] / max(1, len(seqs[0])), seqs[0])]
    return [w.tgt_vocab[i] for i in max(done, key=lambda d: d[0])[1]]


def teacher_forced_logits(w: Weights, sources: list, tgt_in: np.ndarray) -> np.ndarray:
    """Logits [T, B, V] for given decoder inputs (ids [T, B]); used to check ONNX and torch agree."""
    h, c = encode(w, sources)
    return decode_teacher(w, h, c, tgt_in)


def decode_teacher(w: Weights, h0: list[np.ndarray], c0: list[np.ndarray], tgt_in: np.ndarray) -> np.ndarray:
    """Decoder logits [T, B, V] from initial states, fed the given ids instead of its own outputs."""
    state, stats = _DecoderState(w, h0, c0), Stats()
    return np.stack([state.step(tgt_in[t], stats) for t in range(tgt_in.shape[0])])
