"""Numpy inference engine for seq2seq LSTMs with AxLSTM's savings made real (chapter 5, eq. 3.3).

* Encoding: each sequence is encoded from its kept symbols only; the Input Analyzer (approx.py) removes
  skipped symbols before the encoder runs, so a skipped timestep costs no matrix product at all and
  (h, c) is carried forward unchanged (Fig. 5.2). Sequences in a batch are sorted by kept length, so the
  rows still running at step t are a prefix and finished rows cost nothing.
* Decoding: the State Minimizer's kept units index the decoder's gate matrices once per batch
  (`slice_decoder`), and every decoder step then multiplies the smaller matrices (Fig. 5.3).
  Finished sequences leave the batch.
* Every matrix product adds 2*rows*in*out to an operation counter (the theoretical count of Fig. 5.4b);
  the element-wise gate work adds 10 operations per state element. Time per encoder and decoder step is
  recorded, so eq. 3.3 can be set beside the measurement.

Weights are held in ONNX's gate order (i, o, f, c blocks of H rows) and multiplied in unit-major order
(see Layer).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from .data import BOS, EOS

# Time is the CPU time of the running thread: on a shared, oversubscribed machine wall-clock intervals
# of tens of microseconds mostly measure other processes. evaluate.measure reports wall-clock beside it.
clock = time.thread_time

ELEMENTWISE_OPS = 10  # 3 sigmoids, 2 tanh, 3 products, 1 sum, 1 bias add per state element


def unit_major(M: np.ndarray) -> np.ndarray:
    """[4H, n] in ONNX gate-major order (i, o, f, c blocks) -> [n, H, 4]: each unit's four gates adjacent."""
    H = M.shape[0] // 4
    return np.ascontiguousarray(M.reshape(4, H, -1).transpose(2, 1, 0))


@dataclass
class Layer:
    """One LSTM layer: W [4H, I], R [4H, H], biases Wb, Rb [4H] (ONNX gate order i, o, f, c).

    The engine multiplies by WU [I, H, 4] and RU [H, H, 4] (viewed as WT [I, 4H], RT [H, 4H]): the
    transposes in *unit-major* order, so that keeping a subset of units is a gather of contiguous
    4-gate groups (2.5x faster than gathering the four gate blocks separately)."""
    W: np.ndarray | None
    R: np.ndarray | None
    Wb: np.ndarray | None
    Rb: np.ndarray | None

    def __post_init__(self):
        self._set(unit_major(self.W), unit_major(self.R),
                  np.ascontiguousarray((self.Wb + self.Rb).astype(np.float32).reshape(4, -1).T))

    def _set(self, WU: np.ndarray, RU: np.ndarray, bU: np.ndarray) -> None:
        self.WU, self.RU, self.bU = WU, RU, bU
        self.WT = WU.reshape(WU.shape[0], -1)
        self.RT = RU.reshape(RU.shape[0], -1)
        self.b = bU.reshape(-1)

    @classmethod
    def from_unit_major(cls, WU: np.ndarray, RU: np.ndarray, bU: np.ndarray) -> "Layer":
        """A compute-only layer (a sliced decoder layer); W, R, Wb, Rb are not kept."""
        layer = cls.__new__(cls)
        layer.W = layer.R = layer.Wb = layer.Rb = None
        layer._set(WU, RU, bU)
        return layer

    @property
    def hidden(self) -> int:
        return self.RU.shape[0]


@dataclass
class Weights:
    """A whole seq2seq model as numpy arrays, plus its vocabularies."""
    src_vocab: list[str]
    tgt_vocab: list[str]
    enc_emb: np.ndarray | None        # None when the source is frames
    src_dim: int
    enc: list[Layer]
    dec_emb: np.ndarray
    dec: list[Layer]
    proj_W: np.ndarray                # [H, V]
    proj_b: np.ndarray                # [V]

    @property
    def frames(self) -> bool:
        return self.enc_emb is None


@dataclass
class Stats:
    """Work done by one batch: operations, wall-clock per phase and per step."""
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


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * np.tanh(0.5 * x) + 0.5


def cell(layer: Layer, x: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """One eq. 3.2 step for a batch of rows; returns (h, c, operations)."""
    H = layer.hidden
    z = x @ layer.WT
    z += h @ layer.RT
    z += layer.b
    z4 = z.reshape(len(z), H, 4)                 # unit-major: gates i, o, f, c of each unit adjacent
    s = sigmoid(z4[:, :, :3])
    c = s[:, :, 2] * c + s[:, :, 0] * np.tanh(z4[:, :, 3])
    h = s[:, :, 1] * np.tanh(c)
    rows = len(x)
    ops = 2 * rows * 4 * H * (layer.WT.shape[0] + H) + ELEMENTWISE_OPS * rows * H
    return h, c, ops


def encode(w: Weights, sources: list, stats: Stats | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Encode kept symbols (ids or frames per sequence); return final h, c per layer, [B, H] each."""
    stats = stats if stats is not None else Stats()
    t0 = clock()
    B = len(sources)
    order = sorted(range(B), key=lambda b: -len(sources[b]))
    lens = [len(sources[b]) for b in order]
    h = [np.zeros((B, l.hidden), np.float32) for l in w.enc]
    c = [np.zeros((B, l.hidden), np.float32) for l in w.enc]
    for t in range(lens[0] if B else 0):
        ts = clock()
        n = sum(1 for L in lens if L > t)                     # rows still running: a prefix
        rows = [sources[order[r]][t] for r in range(n)]
        x = np.asarray(rows, np.float32) if w.frames else w.enc_emb[rows]
        for l, layer in enumerate(w.enc):
            h[l][:n], c[l][:n], ops = cell(layer, x, h[l][:n], c[l][:n])
            stats.ops_enc += ops
            x = h[l][:n]
        stats.enc_steps.append(clock() - ts)
    inverse = np.argsort(order)
    stats.t_enc += clock() - t0
    return [a[inverse] for a in h], [a[inverse] for a in c]


def slice_decoder(w: Weights, keep: list[np.ndarray]) -> Weights:
    """Decoder with only the kept state units of each layer: smaller W, R, b and projection.

    np.take of whole 4-gate groups on the unit-major matrices (inputs, then units), once per batch."""
    layers, prev = [], None
    for l, layer in enumerate(w.dec):
        WU = (layer.WU if prev is None else layer.WU.take(prev, axis=0)).take(keep[l], axis=1)
        RU = layer.RU.take(keep[l], axis=0).take(keep[l], axis=1)
        layers.append(Layer.from_unit_major(WU, RU, layer.bU.take(keep[l], axis=0)))
        prev = keep[l]
    return replace(w, dec=layers, proj_W=w.proj_W.take(prev, axis=0))


def decode_greedy(w: Weights, h0: list[np.ndarray], c0: list[np.ndarray], max_len: int,
                  stats: Stats | None = None) -> list[list[str]]:
    """Greedy decoding from initial states (already sliced if DSR is on); finished rows leave."""
    stats = stats if stats is not None else Stats()
    t0 = clock()
    bos, eos = w.tgt_vocab.index(BOS), w.tgt_vocab.index(EOS)
    B = len(h0[0])
    alive = np.arange(B)
    h, c = [a.copy() for a in h0], [a.copy() for a in c0]
    tokens = np.full(B, bos)
    out: list[list[int]] = [[] for _ in range(B)]
    for _ in range(max_len):
        ts = clock()
        logits = _decoder_step(w, tokens, h, c, stats)
        tokens = logits.argmax(axis=1)
        for r, b in enumerate(alive):
            if tokens[r] != eos:
                out[b].append(int(tokens[r]))
        going = tokens != eos
        stats.dec_steps.append(clock() - ts)
        if not going.any():
            break
        if not going.all():
            alive, tokens = alive[going], tokens[going]
            h, c = [a[going] for a in h], [a[going] for a in c]
    stats.t_dec += clock() - t0
    return [[w.tgt_vocab[i] for i in seq] for seq in out]


def _decoder_step(w: Weights, tokens: np.ndarray, h: list[np.ndarray], c: list[np.ndarray],
                  stats: Stats) -> np.ndarray:
    """One decoder timestep for every row: embed `tokens`, run the stacked cells (updating h and c
    in place) and project to vocabulary logits, counting the operations."""
    x = w.dec_emb[tokens]
    for l, layer in enumerate(w.dec):
        h[l], c[l], ops = cell(layer, x, h[l], c[l])
        stats.ops_dec += ops
        x = h[l]
    stats.ops_dec += 2 * x.shape[0] * w.proj_W.size
    return x @ w.proj_W + w.proj_b


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
    done: list[tuple[float, list[int]]] = []
    for _ in range(max_len):
        logits = _decoder_step(w, tokens, h, c, stats)
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
        h, c = [a[rows] for a in h], [a[rows] for a in c]
    if not done:
        done = [(scores[0] / max(1, len(seqs[0])), seqs[0])]
    return [w.tgt_vocab[i] for i in max(done, key=lambda d: d[0])[1]]


def teacher_forced_logits(w: Weights, sources: list, tgt_in: np.ndarray) -> np.ndarray:
    """Logits [T, B, V] for given decoder inputs (ids [T, B]); used to check ONNX and torch agree."""
    h, c = encode(w, sources)
    return decode_teacher(w, h, c, tgt_in)


def decode_teacher(w: Weights, h0: list[np.ndarray], c0: list[np.ndarray], tgt_in: np.ndarray) -> np.ndarray:
    """Decoder logits [T, B, V] from initial states, fed the given ids instead of its own outputs."""
    h, c, out = list(h0), list(c0), []
    for t in range(tgt_in.shape[0]):
        x = w.dec_emb[tgt_in[t]]
        for l, layer in enumerate(w.dec):
            h[l], c[l], _ = cell(layer, x, h[l], c[l])
            x = h[l]
        out.append(x @ w.proj_W + w.proj_b)
    return np.stack(out)
