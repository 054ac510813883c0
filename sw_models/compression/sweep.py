"""The `axsim compress` jobs: a resumable sparsity x precision sweep over an ONNX model (Fig. 7.3-7.5),
writing a compressed-model container, and rebuilding an ONNX model from one.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx

from atomic_output import write_bytes, write_csv, write_text
from sw_models.onnx_io import OnnxModelError, get_weights, load_model, set_weights

from .container import read_container, write_container
from .evaluate import FORMATS, encode_layer, evaluate_network, quantized_matrices
from .hybrid import hybrid_summary
from .pruning import check_granularity, check_sparsity
from .quantize import check_bits
from .report import plot_best_format, plot_breakdown, plot_heatmap


CACHE_VERSION = 2

# (op type, input slots holding weight matrices); biases and BN parameters are not pruned
_WEIGHT_SLOTS = {"Conv": (1,), "ConvTranspose": (1,), "Gemm": (0, 1), "MatMul": (0, 1), "LSTM": (1, 2),
                 "GRU": (1, 2), "RNN": (1, 2), "Gather": (0,)}


def _weight_names(model: onnx.ModelProto) -> set[str]:
    names = set()
    for node in model.graph.node:
        for slot in _WEIGHT_SLOTS.get(node.op_type, ()):
            if slot < len(node.input):
                names.add(node.input[slot])
    return names


def model_weights(path: str | Path) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """Load an ONNX file and the float initializers (>= 2-D) that feed a weight slot of
    Conv/Gemm/MatMul/LSTM/GRU/RNN/Gather; error naming the file if there are none."""
    model = load_model(path)
    used = _weight_names(model)
    weights = {k: v for k, v in get_weights(model).items()
               if np.issubdtype(v.dtype, np.floating) and k in used}
    if not weights:
        raise OnnxModelError(f"{path}: no weight initializers (float tensors of 2 or more dimensions) to compress")
    return model, weights


def _cell_rows(rows, model_name):
    return [{"model": model_name, "layer": r.layer, "m": r.m, "n": r.n, "sparsity": r.sparsity,
             "bits": r.bits, "format": r.fmt, "value_bits": r.value_bits,
             "location_bits": r.location_bits, "total_bits": r.total_bits, "dense_bits": r.dense_bits,
             "ratio": r.dense_bits / r.total_bits, "extra": json.dumps(r.extra, sort_keys=True)}
            for r in rows]


def run_cell(weights, sparsity, bits, cell_path: Path, model_name: str, layer_sparsity=None, **kw) -> dict:
    """One (sparsity, precision) point, cached in cell_path so an interrupted sweep resumes."""
    if cell_path.is_file():
        return json.loads(cell_path.read_text())
    target = {k: (layer_sparsity or {}).get(k, sparsity) for k in weights}
    rows, info = evaluate_network(weights, target, bits, **kw)
    cell = {"sparsity": sparsity, "bits": bits, "rows": _cell_rows(rows, model_name), "csmap": info,
            "hybrid": hybrid_summary(rows)}
    write_text(cell_path, json.dumps(cell, indent=1, sort_keys=True))
    return cell


def run_sweep(model_path, sparsities, bits_list, out_dir, formats=FORMATS, grid=((1, 2), (1, 2), (0.0, 0.5, 1.0)),
              block=(32, 32), index_bits=4, layer_sparsity=None, plots=True, log=print,
              granularity: str = "element") -> list[dict]:
    """Evaluate every (sparsity, precision); write CSVs (+ plots) to out_dir; return the cells.
    One-shot pruning zeroes whole groups of `granularity` (pruning.GRANULARITIES)."""
    check_granularity(granularity)
    sparsities = [check_sparsity(s) for s in sparsities]
    bits_list = [check_bits(b) for b in bits_list]
    for k, s in (layer_sparsity or {}).items():
        check_sparsity(s, k)
    _, weights = model_weights(model_path)
    unknown = set(layer_sparsity or {}) - set(weights)
    if unknown:
        raise ValueError(f"--layer-sparsity names layers not in {model_path}: {sorted(unknown)}")
    out = Path(out_dir)
    name = Path(model_path).stem
    # CACHE_VERSION: cells encoded before cSmap's raw-when-cheaper blocks and two-way E search differ
    settings = [str(Path(model_path).resolve()), formats, grid, block, index_bits, layer_sparsity,
                granularity, CACHE_VERSION]
    config = json.dumps(settings, sort_keys=True, default=str)
    tag = hashlib.sha256(config.encode()).hexdigest()[:8]   # cached cells only match the same settings
    cells = []
    for s in sparsities:
        for b in bits_list:
            log(f"[compress] {name}: sparsity {s:.2f}, {b} bits")
            cells.append(run_cell(weights, s, b, out / "cells" / f"s{s:.4f}_b{b}_{tag}.json", name, layer_sparsity,
                                  formats=formats, grid=grid, block=block, index_bits=index_bits,
                                  granularity=granularity))
    write_results(cells, out, name, plots)
    return cells


def network_rows(cells) -> list[dict]:
    out = []
    for c in cells:
        agg: dict[str, dict] = {}
        for r in c["rows"]:
            a = agg.setdefault(r["format"], {"value_bits": 0, "location_bits": 0, "total_bits": 0, "dense_bits": 0})
            for k in a:
                a[k] += r[k]
        for fmt, a in agg.items():
            out.append({"model": c["rows"][0]["model"], "sparsity": c["sparsity"], "bits": c["bits"],
                        "format": fmt, **a, "ratio": a["dense_bits"] / a["total_bits"]})
    return out


def write_results(cells, out: Path, name: str, plots: bool = True) -> None:
    net = network_rows(cells)
    write_csv(out / "network.csv", net)
    write_csv(out / "layers.csv", [r for c in cells for r in c["rows"]])
    hyb, best = [], []
    for c in cells:
        h = c["hybrid"]
        hyb.append({"sparsity": c["sparsity"], "bits": c["bits"], "hybrid_layer_ratio": h["hybrid_layer_ratio"],
                    "best_network_format": h["best_network_format"],
                    **{f"ratio_{f}": v for f, v in h["ratios"].items()},
                    **{f"gain_over_{f}": v for f, v in h["gain_layer_hybrid"].items()},
                    **{f"csmap_{k}": c["csmap"].get(k) for k in ("alpha", "beta", "fc")}})
        best += [{"sparsity": c["sparsity"], "bits": c["bits"], "layer": k, "best_format": v}
                 for k, v in h["best_per_layer"].items()]
    write_csv(out / "hybrid.csv", hyb)
    write_csv(out / "best_format.csv", best)
    if plots and net:
        plot_heatmap(net, out / "ratio_heatmap.png", f"{name}: network-level compression (Fig. 7.3)")
        plot_breakdown(net, out / "storage_breakdown.png", f"{name}: storage breakdown (Fig. 7.4)")
        c = min(cells, key=lambda c: (c["bits"], -c["sparsity"]))
        plot_best_format(c["rows"], out / "best_format.png",
                         f"{name}: per-layer ratios at {c['sparsity']:.0%}, {c['bits']} bits (Fig. 7.5)")


def compress_to_container(model_path, out_path, sparsity: float, bits: int, fmt: str = "hybrid",
                          grid=((1, 2), (1, 2), (0.0, 0.5, 1.0)), block=(32, 32), index_bits=4,
                          granularity: str = "element") -> dict:
    """Prune, quantize and store every layer (best format per layer for 'hybrid'); return a summary."""
    check_sparsity(sparsity)
    check_bits(bits)
    check_granularity(granularity)
    _, weights = model_weights(model_path)
    q = quantized_matrices(weights, sparsity, bits, granularity, block)
    params = None
    formats = FORMATS if fmt == "hybrid" else (fmt,)
    if "csmap" in formats:
        from .evaluate import csmap_grid
        params, _ = csmap_grid({k: v[0] for k, v in q.items()}, bits, *grid, block=block)
    layers, chosen = {}, {}
    for name, (codes, quant) in q.items():
        encs = [encode_layer(name, codes, bits, f, params, index_bits) for f in formats]
        best = min(encs, key=lambda e: e.total_bits)
        layers[name] = (weights[name].shape, quant.scale, best)
        chosen[name] = type(best).__name__.replace("Encoded", "").lower()
    size = write_container(out_path, layers, meta={"model": str(model_path), "sparsity": sparsity, "bits": bits})
    return {"bytes": size, "formats": chosen,
            "payload_bits": int(sum(l[2].total_bits for l in layers.values()))}


def unpack_container(container_path, model_path, out_onnx) -> None:
    """Rebuild an ONNX model whose weights are the container's decoded weights."""
    weights, _ = read_container(container_path)
    model, _ = model_weights(model_path)
    rebuilt = set_weights(model, weights)
    write_bytes(out_onnx, rebuilt.SerializeToString())
