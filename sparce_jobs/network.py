"""Network-level SPARCE on an ONNX CNN (dissertation §4.3.1 methodology, Figs. 4.10 and 4.12).

The dissertation runs Caffe on gem5: every conv and FC layer becomes a GEMM (im2col), executed by
OpenBLAS-SIMD4 on the baseline and on the SPARCE core. This module does the same on sparce_sim:

1. onnxruntime runs the model once on a real input. Every Conv (group 1), Gemm and MatMul with a
   weight initializer is captured: its input activation and its output, exposed as graph outputs.
2. Each layer is lowered to C (M x N) = A (M x K) x B (K x N), as Caffe does: A holds the weights
   (M = output channels, K = C_in*kh*kw), B = im2col(activation) with N = OH*OW (N = batch for FC).
   B is the sparse operand (§4.2.2): its zeros are the ReLU zeros and the padding.
3. Sampled simulation: a layer runs on `samples` sub-GEMMs, each with all K but only `cols` random
   columns of B (and, with `rows`, random output channels), baseline and SPARCE on the same ones.
   The engine attributes cycles to the micro-kernel (`sgemm_kernel_16x4`, system.cpu.profile.*):
   that part is scaled by the number of 16x4 tiles, the rest of the program (packing A and B,
   copying C out) by the number of elements it moves. A layer with N <= cols (and all rows) runs
   whole. On a 64x64x64 GEMM a 32x16 sample estimates the cycles within ~8%. The 95% confidence
   interval of the ratio uses Student's t over the samples; `kernel_norm_time` is the ratio of the
   micro-kernel alone.
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
def sample_columns(n: int, cols: int, samples: int, seed: int) -> list[np.ndarray]:
    """`samples` random subsets of `cols` columns of B, or (n <= cols) all of them `samples` times."""
    if n <= cols:
        return [np.arange(n)] * samples
    rng = np.random.default_rng(seed)
    return [np.sort(rng.choice(n, size=cols, replace=False)) for _ in range(samples)]


def sample_rows(m: int, rows: int | None, count: int, seed: int) -> list[np.ndarray]:
    """All rows (rows None or >= m), else `count` random subsets of `rows` output channels."""
    if not rows or rows >= m:
        return [np.arange(m)] * count
    rng = np.random.default_rng(seed + 7919)
    return [np.sort(rng.choice(m, size=rows, replace=False)) for _ in range(count)]


KERNEL = "sgemm_kernel_16x4"


def simulate_layer(layer: Layer, cols: int, samples: int, seed: int, params: SystemParams,
                   rows: int | None = None) -> dict:
    if layer.dims["n"] <= cols and (not rows or rows >= layer.dims["m"]):
        samples = 1                                  # the whole layer: nothing to sample
    col_picks = sample_columns(layer.dims["n"], cols, samples, seed)
    row_picks = sample_rows(layer.dims["m"], rows, samples, seed)
    base, spar, extra = [], [], []
    for ridx, cidx in zip(row_picks, col_picks):
        inputs = {"A": np.asfortranarray(layer.a[ridx]), "B": np.asfortranarray(layer.b[:, cidx])}
        dims = {"m": len(ridx), "n": len(cidx), "k": layer.dims["k"]}
        runs = [run_kernel("sgemm", dims, sparce=on, sasa="compiled" if on else "none", params=params,
                           inputs=inputs, profile=(KERNEL,)) for on in (False, True)]
        for r in runs:
            _check(layer, ridx, cidx, r)
        tiles, rest = _scales(layer.dims, dims)
        b, s = (_scaled(r.result.stats, tiles, rest) for r in runs)
        base.append(b["cycles"])
        spar.append(s["cycles"])
        extra.append({"base_insts": b["insts"], "sparce_insts": s["insts"],
                      "kernel_norm_time": s["kernel_cycles"] / b["kernel_cycles"],
                      **{name: r * tiles for name, r in _sparce_counts(runs[1].result.stats).items()}})
    return _row(layer, row_picks, col_picks, base, spar, extra)


def _scales(full: dict[str, int], sub: dict[str, int]) -> tuple[float, float]:
    """Scale factors from a sub-GEMM to the whole GEMM: for the micro-kernel, by 16x4 tiles; for the
    rest of the program (packing A and B, copying C out), by the elements it moves."""
    def tiles(d):
        return -(-d["m"] // 16) * -(-d["n"] // 4)

    def moved(d):
        return d["m"] * d["k"] + d["k"] * d["n"] + d["m"] * d["n"]
    return tiles(full) / tiles(sub), moved(full) / moved(sub)


def _scaled(stats: dict, tiles: float, rest: float) -> dict[str, float]:
    kc, ki = stats[f"system.cpu.profile.cycles::{KERNEL}"], stats[f"system.cpu.profile.insts::{KERNEL}"]
    return {"cycles": kc * tiles + (stats["system.cpu.numCycles"] - kc) * rest,
            "insts": ki * tiles + (stats["simInsts"] - ki) * rest, "kernel_cycles": kc * tiles}


def _sparce_counts(stats: dict) -> dict[str, float]:
    return {name: stats[f"system.cpu.sparce.{stat}"] for name, stat in SPARCE_STATS.items()}


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


SPARCE_STATS = {"insts_skipped": "instsSkipped", "regions_skipped": "regionsSkipped",
                "squashed_insts": "squashedInsts"}


def _row(layer: Layer, row_picks, picks, base: list[float], spar: list[float], extra: list[dict]) -> dict:
    ratios = np.array(spar) / np.array(base)
    half = _t95(len(ratios)) * float(np.std(ratios, ddof=1)) / math.sqrt(len(ratios)) if len(ratios) > 1 else 0.0
    return {"layer": layer.name, "op": layer.op, **layer.dims, "b_sparsity": round(layer.sparsity, 5),
            "sampled_rows": int(len(row_picks[0])), "sampled_cols": int(len(picks[0])), "samples": len(picks),
            "base_cycles": float(np.mean(base)), "sparce_cycles": float(np.mean(spar)),
            **{k: float(np.mean([e[k] for e in extra])) for k in extra[0]},
            "norm_time": round(float(np.mean(ratios)), 5),
            "norm_time_ci95": round(half, 5)}


def _t95(n: int) -> float:
    from scipy.stats import t
    return float(t.ppf(0.975, n - 1))


# ---- 5. the whole network, resumable
FIELDS = ["layer", "op", "m", "k", "n", "b_sparsity", "sampled_rows", "sampled_cols", "samples", "base_cycles",
          "sparce_cycles", "base_insts", "sparce_insts", "insts_skipped", "regions_skipped", "squashed_insts",
          "kernel_norm_time", "norm_time", "norm_time_ci95", "fingerprint"]


def run_network(model_path: Path, x: np.ndarray, out: Path, cols: int = 16, samples: int = 3,
                seed: int = 0, params: SystemParams = MINOR_DEFAULT, rows: int | None = None,
                blas: Path | None = None) -> dict:
    """Per-layer SPARCE on an ONNX CNN. blas: the folder of `axsim openblas build`: every layer then
    runs whole through OpenBLAS's own cblas_sgemm (original library vs the SPARCE one)."""
    if cols < 1 or samples < 1:
        raise ValueError(f"--cols and --samples must be >= 1 (got {cols}, {samples})")
    if rows is not None and rows < 16:
        raise ValueError(f"--rows must be >= 16 (one 16-row panel of the kernel), got {rows}")
    model = load_model(model_path)
    entries, values = capture(model, x, str(model_path))
    layers = [lower(e, values) for e in entries]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if blas is not None:
        check_blas_dir(Path(blas))
    fp = _fingerprint(model_path, x, [cols, rows, samples, seed, str(blas)], params)
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
    h.update(json.dumps([settings, asdict(params)], sort_keys=True, default=str).encode())
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
