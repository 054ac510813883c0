"""Table 7.1 / Figs. 7.3-7.5 analogs on the shipped models; prints one JSON summary.

Resumable: every (model, sparsity, precision) cell is cached under --out, so rerunning continues.
- digitsconv: trained on digits (model_zoo), AGP-pruned with fine-tuning to each sparsity (accuracy reported).
- lstm, mobilenetv2: seeded random weights, one-shot magnitude pruning, all three formats.
- resnet18, resnet50, alexnet: seeded random weights; CSC and Smap at every precision, cSmap at
  2 bits with one grid point (the full-network cSmap grid is too slow on two shared cores).
- alexnet_fig75: per-layer sparsities averaging ~90% (our choice, in the spirit of Fig. 7.5), 2 bits.
Caveat: pruning random weights gives unclustered zeros, unlike the dissertation's trained models.
Usage: python benchmarks/compression_models.py [--out output/compression_bench] [--models a,b]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

SPARSITIES = [0.5, 0.7, 0.9]
BITS = [2, 4, 6, 8]
FULL_GRID = ((1, 2), (1, 2), (0.0, 0.5, 1.0))
SMALL_GRID = ((1,), (1, 2), (0.0, 0.5))
ONE_POINT = ((1,), (1,), (0.0,))
FIG75 = {"conv1": 0.6, "conv2": 0.8, "conv3": 0.85, "conv4": 0.85, "conv5": 0.85,
         "fc1": 0.92, "fc2": 0.92, "fc3": 0.8}


def summarise(cells) -> dict:
    out = {}
    for c in cells:
        h = c["hybrid"]
        out[f"s{c['sparsity']}_b{c['bits']}"] = {
            "ratios": {k: round(v, 4) for k, v in h["ratios"].items()},
            "hybrid_layer": round(h["hybrid_layer_ratio"], 4), "best_network": h["best_network_format"],
            "gain_layer_hybrid": {k: round(v, 4) for k, v in h["gain_layer_hybrid"].items()},
            "csmap": {k: c["csmap"].get(k) for k in ("alpha", "beta", "fc")} if c.get("csmap") else None,
            "csmap_sm_ratio": _sm_ratio(c), "spurious_gain": _spurious_gain(c)}
    return out


def _sm_ratio(c):
    rows = [r for r in c["rows"] if r["format"] == "csmap"]
    if not rows:
        return None
    return round(sum(r["m"] * r["n"] for r in rows) / sum(r["location_bits"] for r in rows), 4)


def _spurious_gain(c):
    rows = [json.loads(r["extra"]) for r in c["rows"] if r["format"] == "csmap"]
    if not rows:
        return None
    s, p = sum(r["spurious"] for r in rows), sum(r["spurious_plain"] for r in rows)
    return {"spurious": s, "spurious_without_preference": p, "reduction": round(1 - s / p, 4) if p else 0.0}


def network_gain_at(cells, bits):
    """Network-level hybrid (best single format per pruned network), averaged as in §7.3.3."""
    sel = [c for c in cells if c["bits"] == bits and len(c["hybrid"]["ratios"]) == 3]
    if not sel:
        return None
    fmts = sel[0]["hybrid"]["ratios"].keys()
    mean = {f: sum(c["hybrid"]["ratios"][f] for c in sel) / len(sel) for f in fmts}
    hyb = sum(max(c["hybrid"]["ratios"].values()) for c in sel) / len(sel)
    return {"mean_ratio": {f: round(v, 4) for f, v in mean.items()}, "mean_network_hybrid": round(hyb, 4),
            "gain_over": {f: round(hyb / v - 1, 4) for f, v in mean.items()}}


def run_digitsconv(out: Path) -> dict:
    import torch
    from sw_models.compression.models import agp_digitsconv, export_onnx, train_digitsconv
    from sw_models.compression.sweep import run_sweep, write_results
    torch.set_num_threads(1)
    cells, acc = [], {}
    dense = None
    for s in SPARSITIES:
        path = out / "models" / f"digitsconv_agp{s}.onnx"
        if not path.is_file():
            if dense is None:
                dense = train_digitsconv()
                acc["dense"] = dense[1]
            pruned, acc[f"agp{s}"] = agp_digitsconv(dense[0], dense[2], s)
            export_onnx(pruned, torch.zeros(1, 1, 28, 28), path)
        cells += run_sweep(path, [s], BITS, out / "digitsconv", grid=FULL_GRID, plots=False, log=lambda m: None)
    write_results(cells, out / "digitsconv", "digitsconv")
    acc_path = out / "models" / "digitsconv_accuracy.json"
    if acc:
        acc_path.write_text(json.dumps(acc))
    return {"accuracy": json.loads(acc_path.read_text()) if acc_path.is_file() else None,
            "cells": summarise(cells), "network_hybrid_2bit": network_gain_at(cells, 2)}


def run_random(name: str, out: Path, full: bool) -> dict:
    import model_zoo
    from sw_models.compression.sweep import run_sweep, write_results
    path = model_zoo.path(name, out / "models")
    quiet = lambda m: None  # noqa: E731
    if full:
        cells = run_sweep(path, SPARSITIES, BITS, out / name, grid=SMALL_GRID, log=quiet)
    else:
        cells = run_sweep(path, SPARSITIES, BITS, out / name, formats=("csc", "smap"), plots=False, log=quiet)
        c2 = run_sweep(path, SPARSITIES, [2], out / f"{name}_2bit", grid=ONE_POINT, log=quiet)
        write_results(cells, out / name, name)
        cells = [c for c in cells if c["bits"] != 2] + c2
    return {"cells": summarise(cells), "network_hybrid_2bit": network_gain_at(cells, 2)}


def run_fig75(out: Path) -> dict:
    import model_zoo
    from sw_models.compression.sweep import model_weights, run_sweep
    path = model_zoo.path("alexnet", out / "models")
    names = list(model_weights(path)[1])
    layer_s = dict(zip(names, FIG75.values()))
    cells = run_sweep(path, [0.9], [2], out / "alexnet_fig75", grid=ONE_POINT, layer_sparsity=layer_s,
                      log=lambda m: None)
    c = cells[0]
    per_layer = {}
    for r in c["rows"]:
        per_layer.setdefault(r["layer"], {})[r["format"]] = round(r["ratio"], 4)
    return {"layer_sparsity": layer_s, "per_layer_ratio": per_layer, **summarise(cells)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="output/compression_bench")
    ap.add_argument("--models", default="digitsconv,lstm,mobilenetv2,resnet18,alexnet_fig75,resnet50,alexnet")
    args = ap.parse_args()
    out = Path(args.out)
    result = {"caveat": "lstm/mobilenetv2/resnet/alexnet use seeded random weights: pruning gives unclustered zeros"}
    for name in args.models.split(","):
        t = time.perf_counter()
        if name == "digitsconv":
            result[name] = run_digitsconv(out)
        elif name == "alexnet_fig75":
            result[name] = run_fig75(out)
        else:
            result[name] = run_random(name, out, full=name in ("lstm", "mobilenetv2"))
        result[name]["seconds"] = round(time.perf_counter() - t, 1)
        (out / "summary.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
