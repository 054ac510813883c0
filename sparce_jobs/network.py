"""Network-level SPARCE on an ONNX CNN (dissertation §4.3.1 methodology, Figs. 4.10 and 4.12).

The dissertation runs Caffe on gem5: every conv and FC layer becomes a GEMM (im2col), executed by
OpenBLAS-SIMD4 on the baseline and on the SPARCE core. This module does the same on sparce_sim:

1. onnxruntime runs the model once on a real input. Every Conv (group 1), Gemm and MatMul with a
   weight initializer is captured: its input activation and its output, exposed as graph outputs.
2. Each layer is lowered to C (M x N) = A (M x K) x B (K x N), as Caffe does: A holds the weights
   (M = output channels, K = C_in*kh*kw), B = im2col(activation) with N = OH*OW (N = batch for FC).
   B is the sparse operand (§4.2.2): its zeros are the ReLU zeros and the padding.
3. Sampled simulation (issue 10; notes/issue10.md): the driver's own work around the micro-kernel
   (packing A and B, the loop over tiles, copying C out) does not depend on the values; it is
   timed on the whole layer with a stand-in kernel (run_skeleton), the copy-out once with nothing
   of C cached and once with it cached, the middle of the two taken. The micro-kernel runs on
   `samples` sets of sub-GEMMs: random 16-row panels of A x random 4-column panels of B, full K,
   every one ending with the layer's partial edge panels; per set, a tiny, a small and a big
   sub-GEMM, whose differences give the kernel's fixed cost, one row panel, and one added column
   panel (extrapolate), baseline and SPARCE on the same ones. The 95% interval: Student's t
   prediction over the sets (column sampling and cache layout, which differs between sets) plus
   the copy-out's range and the spread of the baseline's cost per tile. A layer with N <= cols
   (and all rows) runs whole. `kernel_norm_time` is the ratio of the micro-kernel alone.
4. Every simulated output is checked twice: bit-exact against the numpy oracle of kernel_run, and
   against onnxruntime's layer output minus the bias (a different summation order, so rtol 1e-4).
5. The per-layer estimates add up to the network level (the lowered layers only: pooling, ReLU and
   the rest are not simulated; the dissertation's Fig. 4.11 puts them at 2-12% of runtime).
Results go to layers.csv (rewritten atomically after every layer; a rerun with the same settings
resumes), summary.json and a per-layer bar plot.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from tqdm import tqdm

from atomic_output import save_figure, write_csv, write_text
from gem5_configs.params import MINOR_DEFAULT, SystemParams
from sw_models.onnx_io import OnnxModelError, load_model, session

from .kernel_run import run_kernel
from sparce_sim.stats import read_csv

LOWERED_OPS = ("Conv", "Gemm", "MatMul")


@dataclass
class Layer:
    """One conv/FC layer lowered to GEMM: weights A (M x K), activations B (K x N), output (M x N)."""
    name: str
    op: str
    a: np.ndarray          # M x K float32
    b: np.ndarray          # K x N float32, the sparse operand
    out: np.ndarray        # M x N: onnxruntime's output minus the bias

    @property
    def dims(self) -> dict[str, int]:
        return {"m": self.a.shape[0], "k": self.a.shape[1], "n": self.b.shape[1]}

    @property
    def sparsity(self) -> float:
        return float(np.mean(self.b == 0))


# ---- 1. capture activations with onnxruntime
def capture(model: onnx.ModelProto, x: np.ndarray, source: str = "model") -> tuple[list[dict], dict]:
    """Run the model once; return the lowerable nodes and every tensor they read or write."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    nodes = [n for n in model.graph.node if n.op_type in LOWERED_OPS and len(n.input) > 1 and n.input[1] in inits]
    if not nodes:
        raise OnnxModelError(f"{source}: no Conv, Gemm or MatMul layer with a weight initializer to lower")
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    have = {o.name for o in probe.graph.output}
    for name in dict.fromkeys(t for n in nodes for t in (n.input[0], n.output[0])):
        if name not in have and name not in inits:
            probe.graph.output.append(onnx.ValueInfoProto(name=name))
    try:
        sess = session(probe)
        feed = {sess.get_inputs()[0].name: x.astype(np.float32)}
        names = [o.name for o in sess.get_outputs()]
        values = dict(zip(names, sess.run(None, feed)))
    except Exception as exc:      # onnxruntime raises its own Fail/InvalidArgument types
        raise OnnxModelError(f"{source}: onnxruntime cannot run it on an input of shape {x.shape} ({exc})") from None
    values.update(inits)
    return [{"node": n, "attrs": {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}}
            for n in nodes], values


def model_input(model_path: Path, npy: Path | None, image: int, seed: int) -> np.ndarray:
    """The input to run: a .npy file, a digits test image for digit-shaped models, or seeded noise."""
    if npy is not None:
        if not Path(npy).is_file():
            raise FileNotFoundError(f"{npy}: no such input file")
        return np.load(npy).astype(np.float32)
    shape = [d if isinstance(d, int) and d > 0 else 1 for d in session(load_model(model_path)).get_inputs()[0].shape]
    if len(shape) == 4 and shape[1] == 1 and shape[2] == shape[3] and shape[2] in (8, 28):
        from model_zoo.data import digits           # numpy only: no torch in chapter 4
        x_test = digits(size=shape[2])[2]
        if not 0 <= image < len(x_test):
            raise ValueError(f"--image {image} outside the {len(x_test)} digits test images")
        return x_test[image:image + 1]
    return np.random.default_rng(seed).uniform(0, 1, size=shape).astype(np.float32)


# ---- 2. lowering to GEMM
def lower(entry: dict, values: dict) -> Layer:
    node, attrs = entry["node"], entry["attrs"]
    x, w = values[node.input[0]], values[node.input[1]]
    bias = values[node.input[2]] if len(node.input) > 2 and node.input[2] else None
    y = values[node.output[0]]
    name = node.name or node.output[0]
    if node.op_type == "Conv":
        return _lower_conv(name, x, w, bias, y, attrs)
    return _lower_fc(name, node.op_type, x, w, bias, y, attrs)


def im2col(x: np.ndarray, kh: int, kw: int, strides, pads, dilations) -> np.ndarray:
    """(C, H, W) -> (C*kh*kw, OH*OW), rows ordered (c, ky, kx) like the weights' reshape."""
    c = x.shape[0]
    xp = np.pad(x, ((0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    sh, sw = strides
    dh, dw = dilations
    oh = (xp.shape[1] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[2] - dw * (kw - 1) - 1) // sw + 1
    cols = np.empty((c, kh, kw, oh, ow), dtype=np.float32)
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dh, kx * dw
            cols[:, ky, kx] = xp[:, y0:y0 + sh * (oh - 1) + 1:sh, x0:x0 + sw * (ow - 1) + 1:sw]
    return cols.reshape(c * kh * kw, oh * ow)


def _lower_conv(name, x, w, bias, y, attrs) -> Layer:
    if attrs.get("group", 1) != 1:
        raise OnnxModelError(f"layer {name}: grouped convolution (group={attrs['group']}) is not lowered to one GEMM")
    if x.shape[0] != 1:
        raise OnnxModelError(f"layer {name}: batch {x.shape[0]}; network runs take one image")
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise OnnxModelError(f"layer {name}: auto_pad is not supported; export with explicit pads")
    oc, _, kh, kw = w.shape
    b = im2col(x[0], kh, kw, attrs.get("strides", [1, 1]), attrs.get("pads", [0, 0, 0, 0]),
               attrs.get("dilations", [1, 1]))
    out = y[0].reshape(oc, -1) - (bias[:, None] if bias is not None else 0)
    if out.shape[1] != b.shape[1]:
        raise OnnxModelError(f"layer {name}: im2col gives {b.shape[1]} columns, the output has {out.shape[1]}")
    return Layer(name, "Conv", w.reshape(oc, -1).astype(np.float32), b, out.astype(np.float32))


def _lower_fc(name, op, x, w, bias, y, attrs) -> Layer:
    x2 = x.reshape(x.shape[0], -1)
    if op == "Gemm":
        if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) not in (0.0, 1.0):
            raise OnnxModelError(f"layer {name}: Gemm with transA/alpha/beta other than 0/1/1 is not lowered")
        a = w if attrs.get("transB", 0) else w.T
        out = y.T - (bias.reshape(-1, 1) if bias is not None and attrs.get("beta", 1.0) else 0)
    else:
        a = w.T
        out = y.reshape(x2.shape[0], -1).T
    return Layer(name, op, np.ascontiguousarray(a, dtype=np.float32), np.ascontiguousarray(x2.T, dtype=np.float32),
                 out.astype(np.float32))


# ---- 3-4. sampled simulation with two oracles
KERNEL = "sgemm_kernel_16x4"
PANEL_ROWS, PANEL_COLS = 16, 4      # the driver packs A in 16-row panels and B in 4-column panels
SPARCE_STATS = {"insts_skipped": "instsSkipped", "regions_skipped": "regionsSkipped",
                "squashed_insts": "squashedInsts"}


def row_design(m: int, rows: int | None, samples: int, seed: int) -> list[tuple[np.ndarray | None, np.ndarray]]:
    """Rows of each sample's (tiny, other) sub-GEMMs: 16 * (rows // 16) random rows of the interior
    (the first m - m % 16), then the edge rows (the last m % 16, which the driver pads to a partial
    panel), so every sub-GEMM has the layer's edge panel; the tiny one has half as many panels.
    All rows (and no tiny one) when rows is None or covers the interior."""
    interior = m - m % PANEL_ROWS
    panels = (rows or 0) // PANEL_ROWS
    if not rows or panels * PANEL_ROWS >= interior:
        return [(None, np.arange(m))] * samples
    rng = np.random.default_rng(seed + 7919)
    edge = np.arange(interior, m)
    out = []
    for _ in range(samples):
        pick = rng.choice(interior, PANEL_ROWS * panels, replace=False)
        out.append((np.concatenate([np.sort(pick[:PANEL_ROWS * (panels // 2)]), edge]),
                    np.concatenate([np.sort(pick), edge])))
    return out


def column_design(n: int, cols: int, samples: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Columns of each sample's (small, big) sub-GEMM. The small one: random 4-column panels of the
    interior (the first n - n % 4 columns), then the edge columns (the last n % 4, the layer's
    partial panel). The big one: the same panels first, more random interior panels, the edge
    last, so that big - small is exactly the added panels. Their sizes change from sample to
    sample (small: 1 or 2 panels; big: cols // 4 panels, one more or one fewer), and with them the
    addresses of every array, so that each sample is a draw of the cache layout too (the layer's
    own layout being one more). All columns when cols covers the interior."""
    interior = n - n % PANEL_COLS
    whole = np.arange(n)
    panels = cols // PANEL_COLS
    if panels * PANEL_COLS >= interior:
        return [(whole, whole)] * samples
    rng = np.random.default_rng(seed)
    edge = np.arange(interior, n)
    out = []
    for s in range(samples):
        big = min(panels + (0, 1, -1)[s % 3] if panels > 2 else panels + s % 2, interior // PANEL_COLS)
        small = 1 + s % 2 if big > 2 else 1
        pick = rng.choice(interior, PANEL_COLS * big, replace=False)
        first, more = np.sort(pick[:PANEL_COLS * small]), np.sort(pick[PANEL_COLS * small:])
        out.append((np.concatenate([first, edge]), np.concatenate([first, more, edge])))
    return out


# Stand-ins for the micro-kernel in run_skeleton: return at once (`cold`), or first read the
# 16x4 tile of the padded C (x3: the tile, 16 floats a column, one cache line; x4: ldc in floats)
# and wait for it, as the kernel does before it writes the tile (`warm`).
STUB_KERNELS = {
    "cold": "    .text\n    .global sgemm_kernel_16x4\nsgemm_kernel_16x4:\n    ret\n",
    "warm": ("    .text\n    .global sgemm_kernel_16x4\nsgemm_kernel_16x4:\n    lsl x4, x4, #2\n    mov x5, #4\n"
             "    mov x7, #0\n1:  ldr x6, [x3]\n    add x7, x7, x6\n    add x3, x3, x4\n    subs x5, x5, #1\n"
             "    b.ne 1b\n    ret\n")}


def stub_elf(dims: dict[str, int], stub: str) -> Path:
    """The sgemm program, driver unchanged, with a stand-in micro-kernel (STUB_KERNELS)."""
    import hashlib
    from kernels.build import build, cache_root
    from .kernel_run import build_params
    text = STUB_KERNELS[stub]
    path = cache_root() / "stubs" / f"sgemm_kernel_16x4-{hashlib.sha256(text.encode()).hexdigest()[:16]}.S"
    if not path.exists():
        write_text(path, text)
    return build("sgemm", build_params("sgemm", dims), "none", replace={f"{KERNEL}.S": path})


def run_skeleton(layer: Layer, params: SystemParams) -> dict[str, dict[str, float]]:
    """Everything of the whole layer's run but the micro-kernel, timed on the program itself with a
    stand-in kernel: packing A and B (from the same cold start as the real run; it does not depend
    on the values), the loop over tiles, copying C out, start-up. With the `cold` stand-in nothing
    of the padded C is cached when it is copied out (the most the copy can cost); with `warm`, as
    much as the caches hold (the least). The driver never runs SASA-LD: in a SPARCE run it executes
    the same instructions in the same cycles to within ~0.1% (its calls return from another
    kernel), so one baseline run of each serves both modes."""
    from sparce_sim.runner import simulate
    from .kernel_run import to_memory
    inputs = {"A": to_memory(np.asfortranarray(layer.a)), "B": to_memory(np.asfortranarray(layer.b))}
    out = {}
    for stub in STUB_KERNELS:
        stats = simulate(stub_elf(layer.dims, stub), inputs, {}, params=params, profile=(KERNEL,)).stats
        out[stub] = {"cycles": stats["system.cpu.numCycles"] - stats[f"system.cpu.profile.cycles::{KERNEL}"],
                     "insts": stats["simInsts"] - stats[f"system.cpu.profile.insts::{KERNEL}"]}
    return out


def run_sub(layer: Layer, ridx: np.ndarray, cidx: np.ndarray, sparce: bool, params: SystemParams) -> dict:
    """One sub-GEMM (rows ridx of A, columns cidx of B, all of K) on the sgemm program, checked
    against both oracles: its shape, the micro-kernel's cycles and instructions, SPARCE's counters."""
    inputs = {"A": np.asfortranarray(layer.a[ridx]), "B": np.asfortranarray(layer.b[:, cidx])}
    dims = {"m": len(ridx), "n": len(cidx), "k": layer.dims["k"]}
    run = run_kernel("sgemm", dims, sparce=sparce, sasa="compiled" if sparce else "none", params=params,
                     inputs=inputs, profile=(KERNEL,))
    _check(layer, ridx, cidx, run)
    stats = run.result.stats
    return {**dims, **{kind: stats[f"system.cpu.profile.{kind}::{KERNEL}"] for kind in ("cycles", "insts")},
            "counts": _sparce_counts(stats)}


def _panels(d: dict[str, int]) -> dict[str, int]:
    """Counts the driver's work is made of: row panels nr (the partial edge one too), interior
    column panels q, and column panels in all ncp."""
    return {"nr": -(-d["m"] // PANEL_ROWS), "q": d["n"] // PANEL_COLS, "ncp": -(-d["n"] // PANEL_COLS)}


QUANTITIES = ("cycles", "insts", *SPARCE_STATS)


def _value(run: dict, key: str) -> float:
    return run[key] if key in ("cycles", "insts") else run["counts"][key]


def _model(full: dict[str, int], runs: dict[str, dict], key: str) -> tuple[float, float, float]:
    """(fixed, row, added) of one micro-kernel quantity from one sample's runs in one mode: `big`
    (the sampled rows x the big column set), `small` (the same rows, the small column set), `tiny`
    (fewer rows, the small column set; None when all rows run). A run costs a fixed part (the
    kernel's first instruction fetches, ...) plus, for each row panel, the sum over its column
    panels. Every row panel costs about the same (A is dense; only B, the sparse operand, decides
    what SPARCE skips): small - tiny gives `row`, one row panel of small's columns, and with it
    `fixed`; (big - small) per row panel and added interior column panel gives `added`, the mean
    standing for every interior panel the samples did not run. The edge panels are in small."""
    g0, g1 = _panels(runs["small"]), _panels(runs["big"])
    small, big = _value(runs["small"], key), _value(runs["big"], key)
    added = (big - small) / g1["nr"] / (g1["q"] - g0["q"]) if g1["q"] != g0["q"] else 0.0
    if runs["tiny"] is None:
        return 0.0, small / g0["nr"], added
    row = (small - _value(runs["tiny"], key)) / (g0["nr"] - _panels(runs["tiny"])["nr"])
    return small - g0["nr"] * row, row, added


def extrapolate(full: dict[str, int], runs: dict[str, dict], key: str, factor: float = 1.0) -> float:
    """The whole GEMM's micro-kernel quantity `key`: the fixed part once, the row panels' part for
    all the layer's row panels and interior column panels; times `factor` (regime_factor)."""
    fixed, row, added = _model(full, runs, key)
    g, g0 = _panels(full), _panels(runs["small"])
    return factor * (fixed + g["nr"] * (row + (g["q"] - g0["q"]) * added))


def regime_factor(full: dict[str, int], runs: dict[str, dict], whole_rows: dict | None, key: str) -> float:
    """How far the sampled rows miss the whole GEMM's regime, measured once: `whole_rows` runs the
    big column set of the same sample with every row of A, against what extrapolate predicts for
    those columns from the sampled rows. A sub-GEMM's packed A can sit in the L2 where the whole
    GEMM's streams from memory, and both the kernel and SPARCE's skips (resolved in time or not)
    feel it. 1 when every row runs anyway."""
    if whole_rows is None or runs["tiny"] is None:
        return 1.0
    fixed, row, added = _model(full, runs, key)
    g0, g1 = _panels(runs["small"]), _panels(runs["big"])
    predicted = fixed + _panels(full)["nr"] * (row + (g1["q"] - g0["q"]) * added)
    return _value(whole_rows, key) / predicted if predicted else 1.0


def tile_cost(run: dict) -> float:
    """The micro-kernel's cycles per 16x4 tile of one sub-GEMM run."""
    g = _panels(run)
    return run["cycles"] / (g["nr"] * g["ncp"])


def _mode_runs(runs: dict, on: bool) -> dict[str, dict | None]:
    mine = {size: runs.get((size, on)) for size in ("tiny", "small", "big")}
    mine["small"] = mine["small"] or mine["big"]           # all columns: one column set
    return mine


def estimate(full: dict[str, int], skeleton: dict, runs: dict, factors: dict) -> dict[bool, dict[str, float]]:
    """One sample, both modes (False: baseline, True: SPARCE; runs[size, mode]): the whole GEMM's
    cycles as the skeleton's (run_skeleton: the middle of its cold-warm range, `bound` half the
    range) plus the micro-kernel's (extrapolate, times factors[mode][quantity] from regime_factor);
    instructions likewise; the SPARCE counters."""
    cold, warm = skeleton["cold"]["cycles"], skeleton["warm"]["cycles"]
    out = {}
    for on in (False, True):
        kernel = {key: extrapolate(full, _mode_runs(runs, on), key, factors[on][key]) for key in QUANTITIES}
        out[on] = {"cycles": (cold + warm) / 2 + kernel["cycles"], "bound": abs(cold - warm) / 2,
                   "insts": skeleton["cold"]["insts"] + kernel["insts"], "kernel_cycles": kernel["cycles"],
                   "tile_costs": [tile_cost(runs[key]) for key in runs if not key[1]],
                   **{name: kernel[name] for name in SPARCE_STATS}}
    return out


def check_sampling(dims: dict[str, int], rows: int | None, cols: int) -> None:
    """Sampled rows need two 16-row panels (rows >= 32), one more than the tiny sub-GEMM; sampled
    columns need two 4-column panels (cols >= 8), one more than the small sub-GEMM."""
    if rows is not None and rows < 2 * PANEL_ROWS and rows < dims["m"] - dims["m"] % PANEL_ROWS:
        raise ValueError(f"--rows must be >= 32 (two 16-row panels of the kernel), got {rows}")
    if cols < 2 * PANEL_COLS and cols < dims["n"] - dims["n"] % PANEL_COLS:
        raise ValueError(f"--cols must be >= 8 (two 4-column panels of the kernel), got {cols}")


def simulate_layer(layer: Layer, cols: int, samples: int, seed: int, params: SystemParams,
                   rows: int | None = None) -> dict:
    """A layer's baseline and SPARCE cycles: whole when cols and rows cover it, else estimated from
    its skeleton (run_skeleton) and `samples` pairs of sub-GEMMs (row_design, column_design,
    estimate), with a 95% interval."""
    check_sampling(layer.dims, rows, cols)
    row_picks = row_design(layer.dims["m"], rows, samples, seed)
    col_picks = column_design(layer.dims["n"], cols, samples, seed)
    if row_picks[0][0] is None and len(col_picks[0][1]) == layer.dims["n"]:
        return _whole_layer(layer, params)
    skeleton = run_skeleton(layer, params)
    samples_runs = []
    for (r_tiny, r_all), (c_small, c_big) in zip(row_picks, col_picks):
        sizes = {"tiny": (r_tiny, c_small), "big": (r_all, c_big)}
        if len(c_small) < len(c_big):
            sizes["small"] = (r_all, c_small)
        samples_runs.append({(size, on): run_sub(layer, ridx, cidx, on, params)
                             for size, (ridx, cidx) in sizes.items() if ridx is not None for on in (False, True)})
    whole_rows = ({on: run_sub(layer, np.arange(layer.dims["m"]), col_picks[0][1], on, params) for on in (False, True)}
                  if row_picks[0][0] is not None else {False: None, True: None})
    factors = {on: {key: regime_factor(layer.dims, _mode_runs(samples_runs[0], on), whole_rows[on], key)
                    for key in QUANTITIES} for on in (False, True)}
    per_mode: dict[bool, list[dict]] = {False: [], True: []}
    for runs in samples_runs:
        for on, est in estimate(layer.dims, skeleton, runs, factors).items():
            per_mode[on].append(est)
    nominal = {"sampled_rows": len(row_picks[0][1]), "sampled_cols": len(col_picks[0][1])}
    return _row(layer, nominal, per_mode[False], per_mode[True])


def _whole_layer(layer: Layer, params: SystemParams) -> dict:
    """The whole layer on the sgemm program itself: exact, no interval."""
    idx_r, idx_c = np.arange(layer.dims["m"]), np.arange(layer.dims["n"])
    inputs = {"A": np.asfortranarray(layer.a), "B": np.asfortranarray(layer.b)}
    runs = [run_kernel("sgemm", layer.dims, sparce=on, sasa="compiled" if on else "none", params=params,
                       inputs=inputs, profile=(KERNEL,)) for on in (False, True)]
    for r in runs:
        _check(layer, idx_r, idx_c, r)
    (b, s) = (r.result.stats for r in runs)
    kb, ks = (st[f"system.cpu.profile.cycles::{KERNEL}"] for st in (b, s))
    bc, sc = float(b["system.cpu.numCycles"]), float(s["system.cpu.numCycles"])
    return {"layer": layer.name, "op": layer.op, **layer.dims, "b_sparsity": round(layer.sparsity, 5),
            "sampled_rows": layer.dims["m"], "sampled_cols": layer.dims["n"], "samples": 1,
            "base_cycles": bc, "sparce_cycles": sc, "base_insts": float(b["simInsts"]),
            "sparce_insts": float(s["simInsts"]), **_sparce_counts(s),
            "kernel_norm_time": ks / kb, "norm_time": round(sc / bc, 5), "norm_time_ci95": 0.0,
            "base_cycles_ci95": 0.0, "sparce_cycles_ci95": 0.0}


def _sparce_counts(stats: dict) -> dict[str, float]:
    return {name: float(stats[f"system.cpu.sparce.{stat}"]) for name, stat in SPARCE_STATS.items()}


def _check(layer: Layer, ridx: np.ndarray, cidx: np.ndarray, run) -> None:
    if not run.bit_exact:
        raise RuntimeError(f"layer {layer.name}: simulated GEMM differs from the numpy oracle "
                           f"(max error {run.max_abs_err})")
    got = run.output.reshape(len(cidx), len(ridx)).T
    want = layer.out[np.ix_(ridx, cidx)]
    tol = 1e-4 * max(1.0, float(np.max(np.abs(want))))
    if not np.allclose(got, want, rtol=1e-4, atol=tol):
        raise RuntimeError(f"layer {layer.name}: simulated GEMM differs from onnxruntime's output "
                           f"(max error {float(np.max(np.abs(got - want)))})")


def _row(layer: Layer, nominal: dict, base: list[dict], spar: list[dict]) -> dict:
    """Means over the samples, and 95% half-widths: Student's t over the samples (column sampling,
    and the cache layout, which differs from sample to sample) plus two bounds. The copy-out's
    (half the skeleton's cold-warm range), the same in both modes. The cache layout's: the layer's
    own layout is not among
    the samples', and its baseline cost per tile may differ from theirs as much as theirs differ
    among themselves (the relative range `layout` of every run's baseline cost per tile); taken
    as the same relative change of both modes' micro-kernel, as it is the same arrays."""
    def mean(rows, key):
        return float(np.mean([r[key] for r in rows]))
    bc, sc = mean(base, "cycles"), mean(spar, "cycles")
    kb, ks = mean(base, "kernel_cycles"), mean(spar, "kernel_cycles")
    tiles = np.concatenate([b["tile_costs"] for b in base])
    layout = float((tiles.max() - tiles.min()) / tiles.mean())
    ratios = np.array([s["cycles"] / b["cycles"] for b, s in zip(base, spar)])
    h = max(mean(base, "bound"), mean(spar, "bound"))
    systematic = max(abs((sc + d + e * ks) / (bc + d + e * kb) - sc / bc) for d in (-h, h) for e in (-layout, layout))
    return {"layer": layer.name, "op": layer.op, **layer.dims, "b_sparsity": round(layer.sparsity, 5),
            **nominal, "samples": len(base), "base_cycles": bc, "sparce_cycles": sc,
            "base_insts": mean(base, "insts"), "sparce_insts": mean(spar, "insts"),
            **{name: mean(spar, name) for name in SPARCE_STATS},
            "kernel_norm_time": ks / kb, "norm_time": round(float(np.mean(ratios)), 5),
            "norm_time_ci95": round(_half(ratios) + systematic, 5),
            "base_cycles_ci95": round(_half([b["cycles"] for b in base]) + mean(base, "bound") + layout * kb),
            "sparce_cycles_ci95": round(_half([s["cycles"] for s in spar]) + mean(spar, "bound") + layout * ks)}


def _half(values) -> float:
    """Student's t 95% half-width for the value of one more draw like `values` (a prediction
    interval: the layer's own cache layout is such a draw; for the column sampling alone, the
    mean's interval would do, so this is the wider of the two) (0 for one value)."""
    v = np.asarray(values, dtype=float)
    return _t95(len(v)) * float(np.std(v, ddof=1)) * math.sqrt(1 + 1 / len(v)) if len(v) > 1 else 0.0


def _t95(n: int) -> float:
    from scipy.stats import t
    return float(t.ppf(0.975, n - 1))


# ---- 5. the whole network, resumable
FIELDS = ["layer", "op", "m", "k", "n", "b_sparsity", "sampled_rows", "sampled_cols", "samples", "base_cycles",
          "sparce_cycles", "base_insts", "sparce_insts", "insts_skipped", "regions_skipped", "squashed_insts",
          "kernel_norm_time", "norm_time", "norm_time_ci95", "base_cycles_ci95", "sparce_cycles_ci95", "fingerprint"]


def run_network(model_path: Path, x: np.ndarray, out: Path, cols: int = 16, samples: int = 3,
                seed: int = 0, params: SystemParams = MINOR_DEFAULT, rows: int | None = None,
                blas: Path | None = None) -> dict:
    """Per-layer SPARCE on an ONNX CNN. blas: the folder of `axsim openblas build`: every layer then
    runs whole through OpenBLAS's own cblas_sgemm (original library vs the SPARCE one)."""
    if cols < 1 or samples < 1:
        raise ValueError(f"--cols and --samples must be >= 1 (got {cols}, {samples})")
    if rows is not None and rows < 2 * PANEL_ROWS:
        raise ValueError(f"--rows must be >= 32 (two 16-row panels of the kernel), got {rows}")
    model = load_model(model_path)
    entries, values = capture(model, x, str(model_path))
    layers = [lower(e, values) for e in entries]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if blas is not None:
        check_blas_dir(Path(blas))
    sampled = blas is None and (rows is not None or any(cols < lay.dims["n"] for lay in layers))
    fp = _fingerprint(model_path, x, [cols, rows, samples, seed, str(blas)] + ["skeleton"] * sampled, params)
    done = {r["layer"]: r for r in read_csv(out / "layers.csv") if r["fingerprint"] == fp}
    results: list[dict] = []
    for k, layer in enumerate(tqdm(layers, desc="layers", unit="layer")):
        row = done.get(layer.name)
        if row is None:
            row = (simulate_layer_openblas(layer, Path(blas), out / "elf", params) if blas is not None
                   else simulate_layer(layer, cols, samples, seed, params, rows))
        results.append({**row, "fingerprint": fp})
        later = [done[x.name] for x in layers[k + 1:] if x.name in done]    # keep finished rows on a crash
        write_csv(out / "layers.csv", results + later, FIELDS)
    summary = _summary(model_path, results)
    write_text(out / "summary.json", json.dumps(summary, indent=1))
    plot_layers(results, summary, out / "layers.png")
    return summary


# ---- 4b. a layer through OpenBLAS's own library (issue 11 item 5)
GEMM_PROGRAM = Path(__file__).resolve().parent / "programs" / "gemm_layer.c"


def check_blas_dir(lib_dir: Path) -> None:
    """The output of `axsim openblas build`: both libraries and the headers."""
    for part in ("original/libopenblas.a", "sparce/libopenblas.a", "include/cblas.h"):
        if not (lib_dir / part).is_file():
            raise FileNotFoundError(f"{lib_dir}: no {part} (make it with `axsim openblas build --out {lib_dir}`)")


def simulate_layer_openblas(layer: Layer, lib_dir: Path, work: Path, params: SystemParams) -> dict:
    """The whole layer through cblas_sgemm: the original library on the baseline core, the SPARCE
    library on the SPARCE core. Cycles are those of OpenBLAS's sgemm code (driver, packing copies,
    kernel: the `sgemm_*` symbols), not the C start-up. The two outputs must be bit-identical (SPARCE
    skips only redundant work), and agree with onnxruntime's layer output."""
    from sparce_sim.loader import load_elf
    from sparce_sim.runner import simulate
    from .openblas import link_program
    m, k, n = layer.dims["m"], layer.dims["k"], layer.dims["n"]
    work.mkdir(parents=True, exist_ok=True)
    inputs = {"W": np.ascontiguousarray(layer.a, np.float32), "COL": np.ascontiguousarray(layer.b, np.float32)}
    runs = []
    for lib, on in (("original", False), ("sparce", True)):
        elf = work / f"gemm_{lib}_{m}x{n}x{k}"
        if not elf.exists():
            link_program(GEMM_PROGRAM, lib_dir / lib / "libopenblas.a", lib_dir / "include", elf,
                         {"M_": str(m), "N_": str(n), "K_": str(k)})
        gemm = tuple(s for s in load_elf(elf).symbols if s.startswith("sgemm_"))
        runs.append((simulate(elf, inputs, {"CT": ((n, m), np.float32)}, sparce=on, params=params,
                              profile=gemm), gemm))
    (base, gemm_b), (spar, gemm_s) = runs
    out_b, out_s = base.outputs["CT"].T, spar.outputs["CT"].T
    if not np.array_equal(out_b.view(np.uint32), out_s.view(np.uint32)):
        raise RuntimeError(f"layer {layer.name}: the SPARCE library's output differs from the original's")
    tol = 1e-4 * max(1.0, float(np.max(np.abs(layer.out))))
    if not np.allclose(out_s, layer.out, rtol=1e-4, atol=tol):
        raise RuntimeError(f"layer {layer.name}: OpenBLAS's GEMM differs from onnxruntime's output "
                           f"(max error {float(np.max(np.abs(out_s - layer.out)))})")

    def cycles(r, names):
        return float(sum(r.stats.get(f"system.cpu.profile.cycles::{s}", 0) for s in names))

    def insts(r, names):
        return float(sum(r.stats.get(f"system.cpu.profile.insts::{s}", 0) for s in names))
    bc, sc = cycles(base, gemm_b), cycles(spar, gemm_s)
    kernel = ("sgemm_kernel",)
    return {"layer": layer.name, "op": layer.op, **layer.dims, "b_sparsity": round(layer.sparsity, 5),
            "sampled_rows": m, "sampled_cols": n, "samples": 1, "base_cycles": bc, "sparce_cycles": sc,
            "base_insts": insts(base, gemm_b), "sparce_insts": insts(spar, gemm_s),
            **_sparce_counts(spar.stats),
            "kernel_norm_time": round(cycles(spar, kernel) / cycles(base, kernel), 5) if cycles(base, kernel) else 1.0,
            "norm_time": round(sc / bc, 5), "norm_time_ci95": 0.0}


def _fingerprint(model_path, x, settings: list, params) -> str:
    import hashlib
    h = hashlib.sha256(Path(model_path).read_bytes())
    h.update(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    from sparce_sim.pipeline import TIMING_MODEL
    h.update(json.dumps([settings, asdict(params), TIMING_MODEL], sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _summary(model_path, rows: list[dict]) -> dict:
    base = sum(float(r["base_cycles"]) for r in rows)
    spar = sum(float(r["sparce_cycles"]) for r in rows)
    return {"model": str(model_path), "layers": len(rows), "base_cycles": base, "sparce_cycles": spar,
            "norm_time": round(spar / base, 5), "time_reduction_pct": round(100 * (1 - spar / base), 2),
            "scope": "lowered Conv/Gemm/MatMul layers only (pooling, activations not simulated)"}


def layer_label(name: str) -> str:
    """A figure label for an ONNX node name: torch's '/features/features.3/Conv' -> 'features.3';
    names without a path ('conv2') stay as they are."""
    parts = [p for p in name.split("/") if p]
    if len(parts) >= 2 and parts[-1].split("_")[0] in LOWERED_OPS:
        return parts[-2]
    return parts[-1] if parts else name


def plot_layers(rows: list[dict], summary: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = [layer_label(r["layer"]) for r in rows] + ["network"]
    vals = [float(r["norm_time"]) for r in rows] + [summary["norm_time"]]
    errs = [float(r["norm_time_ci95"]) for r in rows] + [0.0]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.8 * len(names)), 3.6))
    ax.bar(range(len(names)), vals, yerr=errs, color=["tab:blue"] * len(rows) + ["tab:orange"], capsize=3)
    for k, r in enumerate(rows):
        ax.text(k, 0.02, f"{100 * float(r['b_sparsity']):.0f}%", ha="center", fontsize=7, color="white")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("SPARCE time / baseline")
    ax.set_ylim(0, max(1.1, max(vals) + 0.05))
    ax.set_xlabel("layer (ONNX node)")
    ax.set_title("SPARCE per layer\n(sgemm 16x4; label: activation sparsity)", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
