"""How good is the sampled estimator? Sampled sgemm points against the unsampled truth (issue 10).

`axsim sweep --rows/--cols` and `axsim network --cols` estimate a big GEMM from sub-GEMMs
(sparce_jobs/network.py: packing timed whole, the micro-kernel scaled by tiles, the copy-out as a
range, a Student-t 95% interval over the samples). This script estimates every point of an
unsampled sweep (same inputs, same seed) and reports per point: the truth, the estimate, its
interval, whether the interval holds the truth, and the errors of the cycles and instructions.
Prints JSON.

The truth is an unsampled sweep.csv: AlexNet conv4's (`axsim sweep sgemm --shape conv4`), or, for
any other shape (--dims M,N,K), one this script writes itself with `--make-truth` (the same
run_point as `axsim sweep`, resumable). Both must come from the same system parameters (--param).
With --network MODEL.onnx instead, every layer of a CNN that the sampling applies to is estimated
and run whole (on the digits test image 0, real activations rather than random zeros).

    python3 benchmarks/sampling_accuracy.py --truth benchmarks/results/sweep_sgemm_conv4_full/sweep.csv \\
        --out benchmarks/results/sampling_accuracy_conv4.json
    python3 benchmarks/sampling_accuracy.py --dims 256,729,2400 --make-truth \\
        --truth benchmarks/results/sweep_sgemm_alexnet_conv2_full/sweep.csv \\
        --out benchmarks/results/sampling_accuracy_alexnet_conv2.json
    python3 benchmarks/sampling_accuracy.py --network benchmarks/results/network_digitsconv_full/models/digitsconv.onnx \\
        --out benchmarks/results/sampling_accuracy_digitsconv.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from atomic_output import write_csv, write_text  # noqa: E402
from gem5_configs.params import SystemParams  # noqa: E402
from sparce_jobs.kernel_run import dims_for, make_inputs  # noqa: E402
from sparce_jobs.network import Layer, simulate_layer  # noqa: E402
from sparce_jobs.run_cli import system_params  # noqa: E402
from sparce_jobs.sweep import FIELDS, params_fingerprint, run_point  # noqa: E402
from sparce_sim.stats import read_csv  # noqa: E402


def make_truth(path: Path, dims: dict[str, int], sparsities: list[float], seed: int, params: SystemParams) -> None:
    """Unsampled sgemm points (baseline and SPARCE with the compiled table), one CSV row each,
    written after every point; points already in the CSV are kept."""
    rows = read_csv(path)
    have = {float(r["sparsity"]) for r in rows}
    shape = "x".join(str(dims[d]) for d in ("m", "n", "k"))
    for sp in sparsities:
        if sp in have:
            continue
        point = run_point("sgemm", dims, sp, seed, "compiled", params, None)
        rows.append({"kernel": "sgemm", "shape": shape, "sasa": "compiled", "sampling": "full", **point,
                     "params": params_fingerprint(params)})
        rows.sort(key=lambda r: float(r["sparsity"]))
        write_csv(path, rows, FIELDS)
        print(f"truth {shape} @ {sp}: norm_time {point['norm_time']}", file=sys.stderr)


def estimate(dims: dict[str, int], sparsity: float, seed: int, sample: tuple[int, int, int],
             params: SystemParams) -> dict:
    """The sampled estimate of one point, on the inputs the unsampled sweep used."""
    inputs = make_inputs("sgemm", dims, sparsity, seed)
    a, b = np.ascontiguousarray(inputs["A"]), np.ascontiguousarray(inputs["B"])
    layer = Layer(f"sgemm@{sparsity}", "Gemm", a, b, (a.astype(np.float64) @ b).astype(np.float32))
    rows, cols, count = sample
    return simulate_layer(layer, cols, count, seed, params, rows)


def compare(truth: dict, est: dict, seconds: float) -> dict:
    """One point: the estimate against the truth."""
    def inside(value, centre, half):
        return bool(centre - half <= value <= centre + half)
    true_norm, half = float(truth["norm_time"]), est["norm_time_ci95"]
    tb, ts = float(truth["base_cycles"]), float(truth["sparce_cycles"])
    return {"sparsity": float(truth["sparsity"]), "true_norm_time": true_norm, "est_norm_time": est["norm_time"],
            "ci95": [round(est["norm_time"] - half, 5), round(est["norm_time"] + half, 5)],
            "covered": inside(true_norm, est["norm_time"], half),
            "norm_time_error": round(est["norm_time"] - true_norm, 5),
            "base_cycles_rel_error": round(est["base_cycles"] / tb - 1, 5),
            "base_cycles_ci95_rel": round(est["base_cycles_ci95"] / tb, 5),
            "base_cycles_covered": inside(tb, est["base_cycles"], est["base_cycles_ci95"]),
            "sparce_cycles_rel_error": round(est["sparce_cycles"] / ts - 1, 5),
            "sparce_cycles_ci95_rel": round(est["sparce_cycles_ci95"] / ts, 5),
            "sparce_cycles_covered": inside(ts, est["sparce_cycles"], est["sparce_cycles_ci95"]),
            "base_insts_rel_error": round(est["base_insts"] / float(truth["base_insts"]) - 1, 5),
            "sparce_insts_rel_error": round(est["sparce_insts"] / float(truth["sparce_insts"]) - 1, 5),
            "estimate_seconds": round(seconds, 1)}


def network_points(model: Path, sample: tuple[int, int, int], seed: int, params: SystemParams) -> list[dict]:
    """Each sampled layer of an ONNX CNN on the digits test image 0: the estimate against the
    whole layer."""
    from sparce_jobs.network import _whole_layer, capture, lower, model_input
    from sw_models.onnx_io import load_model
    entries, values = capture(load_model(model), model_input(model, None, 0, seed), str(model))
    points = []
    for layer in (lower(e, values) for e in entries):
        start = time.perf_counter()
        est = simulate_layer(layer, sample[1], sample[2], seed, params, sample[0])
        if est["samples"] == 1:
            continue                                           # small enough to run whole anyway
        seconds = time.perf_counter() - start
        truth = {**_whole_layer(layer, params), "sparsity": layer.sparsity}
        points.append({"layer": layer.name, **layer.dims, **compare(truth, est, seconds)})
        print(json.dumps(points[-1]), file=sys.stderr)
    return points


def summarize(points: list[dict]) -> dict:
    """Coverage of the three intervals and the largest and mean errors."""
    def frac(key):
        return f"{sum(p[key] for p in points)}/{len(points)}"
    errs = np.array([abs(p["norm_time_error"]) for p in points])
    halves = np.array([(p["ci95"][1] - p["ci95"][0]) / 2 for p in points])
    return {"norm_time_coverage": frac("covered"), "base_cycles_coverage": frac("base_cycles_covered"),
            "sparce_cycles_coverage": frac("sparce_cycles_covered"),
            "max_abs_norm_time_error": round(float(errs.max()), 5),
            "mean_abs_norm_time_error": round(float(errs.mean()), 5),
            "mean_norm_time_ci95": round(float(halves.mean()), 5),
            "max_abs_cycles_rel_error": max(max(abs(p["base_cycles_rel_error"]), abs(p["sparce_cycles_rel_error"]))
                                            for p in points),
            "max_abs_insts_rel_error": max(max(abs(p["base_insts_rel_error"]), abs(p["sparce_insts_rel_error"]))
                                           for p in points)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth", type=Path, help="sweep.csv of the unsampled sweep")
    ap.add_argument("--network", type=Path, help="an ONNX CNN: its sampled layers against their whole runs")
    ap.add_argument("--dims", help="M,N,K of the GEMM (default: AlexNet conv4's, the `conv4` shape)")
    ap.add_argument("--make-truth", action="store_true", help="run the missing unsampled points first")
    ap.add_argument("--sparsity", default="0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9",
                    help="the points to estimate (and with --make-truth, to run whole)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rows", type=int, default=32)
    ap.add_argument("--cols", type=int, default=16)
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="system parameter override")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    params = system_params(args.param)
    sample = (args.rows, args.cols, args.samples)
    if args.network:
        points = network_points(args.network, sample, args.seed, params)
        return _report({"network": str(args.network)}, params, sample, points, args.out)
    if args.truth is None:
        raise SystemExit("give --truth (a sweep.csv) or --network (an ONNX model)")
    dims = (dict(zip("mnk", (int(v) for v in args.dims.split(",")))) if args.dims else dims_for("sgemm", "conv4"))
    sparsities = [float(v) for v in args.sparsity.split(",")]
    if args.make_truth:
        make_truth(args.truth, dims, sparsities, args.seed, params)
    truth = [r for r in read_csv(args.truth) if r["sampling"] == "full" and int(r["seed"]) == args.seed
             and float(r["sparsity"]) in sparsities]
    if not truth:
        raise SystemExit(f"{args.truth}: no unsampled rows with seed {args.seed}")
    if {r["params"] for r in truth} != {params_fingerprint(params)}:
        raise SystemExit(f"{args.truth}: swept with system parameters {sorted({r['params'] for r in truth})}, "
                         f"not these ({params_fingerprint(params)}); pass the same --param values")
    points = []
    for row in truth:
        start = time.perf_counter()
        est = estimate(dims, float(row["sparsity"]), args.seed, sample, params)
        points.append(compare(row, est, time.perf_counter() - start))
        print(json.dumps(points[-1]), file=sys.stderr)
    _report({"gemm": dims, "truth": str(args.truth)}, params, sample, points, args.out)


def _report(what: dict, params: SystemParams, sample: tuple[int, int, int], points: list[dict], out: Path | None) -> None:
    report = {**what, "params": params_fingerprint(params),
              "sample": {"rows": sample[0], "cols": sample[1], "samples": sample[2]},
              **summarize(points), "points": points}
    text = json.dumps(report, indent=1)
    print(text)
    if out:
        write_text(out, text + "\n")


if __name__ == "__main__":
    main()
