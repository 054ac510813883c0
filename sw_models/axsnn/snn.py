"""The converted SNN as the event-driven simulator and SNNAP see it (§3.3, §6.1.1, §6.2).

Each projection (layer l-1 -> layer l) is stored as fan-out lists (CSR by presynaptic neuron), each
list sorted by decreasing |w| (the paper's pre-sorting, "so updates can be skipped with no
overhead"), plus, for every synapse, its rank among its postsynaptic neuron's fan-in, also by
decreasing |w|. A neuron at level alpha then uses the first ceil(alpha * fan-out) entries of its
list, and accepts a synapse only if its fan-in rank is below ceil(alpha * fan-in).

SpikeSig (eq. 6.2) = NumPathsToOutputs x MeanPathWeight. We take a path's weight as the product of
|w| along it (its end-to-end gain; signs dropped so an inhibitory path counts as significant rather
than cancelling an excitatory one). The product of the count and the mean is then the sum over paths
of the products, computed backwards layer by layer: sig_L = 1, sig_{l-1}[j] = sum_i |w_ji| sig_l[i].
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

LEVELS = (1.0, 0.5, 0.25, 0.125, 0.0)


def check_levels(levels) -> tuple[float, ...]:
    """Approximation levels: strictly decreasing from 1 to 0, all in [0, 1]."""
    lv = tuple(float(a) for a in levels)
    if len(lv) < 2 or lv[0] != 1.0 or lv[-1] != 0.0 or any(a <= b for a, b in zip(lv, lv[1:])):
        raise ValueError(f"alpha levels must fall strictly from 1 to 0 within [0, 1], got {list(lv)}")
    return lv


@dataclass
class Projection:
    """Synapses from layer l-1 (n_pre neurons) to layer l (n_post neurons)."""
    n_pre: int
    n_post: int
    indptr: np.ndarray   # (n_pre + 1,) fan-out list bounds
    post: np.ndarray     # (n_syn,) postsynaptic neuron of each synapse
    weight: np.ndarray   # (n_syn,) float64
    in_rank: np.ndarray  # (n_syn,) rank of the synapse in its target's fan-in by |w|, 0 = largest
    bias: np.ndarray     # (n_post,) constant input per step (0 for our bias-free networks)

    @classmethod
    def from_dense(cls, mat: np.ndarray, bias: np.ndarray) -> "Projection":
        pre, post = np.nonzero(mat)
        w = mat[pre, post]
        order = np.lexsort((-np.abs(w), pre))
        pre, post, w = pre[order], post[order], w[order]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(pre, minlength=mat.shape[0]))])
        by_post = np.lexsort((-np.abs(w), post))
        first = np.concatenate([[0], np.cumsum(np.bincount(post, minlength=mat.shape[1]))])
        rank = np.empty(len(w), dtype=np.int64)
        rank[by_post] = np.arange(len(w)) - first[post[by_post]]
        return cls(mat.shape[0], mat.shape[1], indptr.astype(np.int64), post.astype(np.int64),
                   w.astype(np.float64), rank, np.asarray(bias, dtype=np.float64))

    @property
    def fan_out(self) -> np.ndarray:
        return np.diff(self.indptr)

    @property
    def fan_in(self) -> np.ndarray:
        return np.bincount(self.post, minlength=self.n_post)

    def dense(self) -> np.ndarray:
        """The (n_pre, n_post) weight matrix (for the reference and the tests)."""
        mat = np.zeros((self.n_pre, self.n_post))
        pre = np.repeat(np.arange(self.n_pre), self.fan_out)
        mat[pre, self.post] = self.weight
        return mat


@dataclass
class SNN:
    """Layer sizes, projections and LIF parameters (eq. 3.4: V(t) = V(t-1) - leak + sum w A)."""
    sizes: list[int]
    projections: list[Projection]
    threshold: float = 1.0
    reset: float = 0.0
    leak: float = 0.0
    in_shape: tuple[int, ...] = ()
    meta: dict = field(default_factory=dict)

    @property
    def n_synapses(self) -> int:
        return sum(len(p.weight) for p in self.projections)

    def spike_sig(self) -> list[np.ndarray]:
        """Eq. 6.2 for every neuron of every layer (outputs: 1, the empty path)."""
        sig = [np.ones(self.sizes[-1])]
        for p in reversed(self.projections):
            pre = np.repeat(np.arange(p.n_pre), p.fan_out)
            sig.insert(0, np.bincount(pre, weights=np.abs(p.weight) * sig[0][p.post], minlength=p.n_pre))
        return sig

    def save(self, path: str | Path) -> Path:
        """Write the SNN as .npz atomically."""
        from atomic_output import write_with
        arrays = {"sizes": np.array(self.sizes), "lif": np.array([self.threshold, self.reset, self.leak]),
                  "in_shape": np.array(self.in_shape)}
        for k, p in enumerate(self.projections):
            for name in ("indptr", "post", "weight", "in_rank", "bias"):
                arrays[f"p{k}_{name}"] = getattr(p, name)

        def write(tmp):
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
        return write_with(path, write)

    @classmethod
    def load(cls, path: str | Path) -> "SNN":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such SNN file (run `axsim snn convert` first)")
        with np.load(path) as f:
            sizes = [int(s) for s in f["sizes"]]
            projs = [Projection(sizes[k], sizes[k + 1], *(f[f"p{k}_{n}"] for n in
                                ("indptr", "post", "weight", "in_rank", "bias")))
                     for k in range(len(sizes) - 1)]
            th, reset, leak = (float(v) for v in f["lif"])
            return cls(sizes, projs, th, reset, leak, tuple(int(v) for v in f["in_shape"]))


def from_layers(layers: list[tuple[np.ndarray, np.ndarray]], in_shape: tuple[int, ...],
                threshold: float = 1.0, reset: float = 0.0, leak: float = 0.0) -> SNN:
    """An SNN from normalised (matrix, bias) pairs."""
    if leak < 0 or not threshold > reset:
        raise ValueError(f"need leak >= 0 and threshold > reset (got {leak}, {threshold}, {reset})")
    projs = [Projection.from_dense(m, b) for m, b in layers]
    sizes = [layers[0][0].shape[0]] + [m.shape[1] for m, _ in layers]
    return SNN(sizes, projs, threshold, reset, leak, tuple(in_shape))
