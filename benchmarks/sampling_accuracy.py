"""How good is the sampled estimator? Sampled sgemm points against the unsampled truth (issue 10).

`axsim sweep --rows/--cols` and `axsim network` estimate a big GEMM from sub-GEMMs (sparce_sim/
network.py): the micro-kernel's cycles scaled by tiles, the rest by elements moved, and a Student-t
95% interval over the samples. Now that the engine runs AlexNet conv4's GEMM (384 x 169 x 3456)
unsampled, this script reads the unsampled sweep (`axsim sweep sgemm --shape conv4`), estimates the
same points (same inputs) from samples, and reports per point: the truth, the estimate, its
interval, whether the interval holds the truth, and the errors. Prints JSON.

    python3 benchmarks/sampling_accuracy.py --truth benchmarks/results/sweep_sgemm_conv4_full/sweep.csv
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from atomic_output import write_text  # noqa: E402
from gem5_configs.params import MINOR_DEFAULT  # noqa: E402
from sparce_jobs.kernel_run import dims_for, make_inputs  # noqa: E402
from sparce_jobs.network import Layer, simulate_layer  # noqa: E402
from sparce_sim.stats import read_csv  # noqa: E402


def estimate(sparsity: float, seed: int, rows: int, cols: int, samples: int) -> dict:
    dims = dims_for("sgemm", "conv4")
    inputs = make_inputs("sgemm", dims, sparsity, seed)
    a, b = np.ascontiguousarray(inputs["A"]), np.ascontiguousarray(inputs["B"])
    layer = Layer(f"conv4@{sparsity}", "Gemm", a, b, (a.astype(np.float64) @ b).astype(np.float32))
    return simulate_layer(layer, cols, samples, seed, MINOR_DEFAULT, rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth", type=Path, required=True, help="sweep.csv of the unsampled conv4 sweep")
    ap.add_argument("--rows", type=int, default=32)
    ap.add_argument("--cols", type=int, default=16)
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    truth = [r for r in read_csv(args.truth) if r["sampling"] == "full"]
    if not truth:
        raise SystemExit(f"{args.truth}: no unsampled rows")
    points = []
    for row in truth:
        sp, seed = float(row["sparsity"]), int(row["seed"])
        est = estimate(sp, seed, args.rows, args.cols, args.samples)
        true_norm = float(row["norm_time"])
        lo, hi = est["norm_time"] - est["norm_time_ci95"], est["norm_time"] + est["norm_time_ci95"]
        points.append({
            "sparsity": sp, "true_norm_time": true_norm, "est_norm_time": est["norm_time"],
            "ci95": [round(lo, 5), round(hi, 5)], "covered": lo <= true_norm <= hi,
            "norm_time_error": round(est["norm_time"] - true_norm, 5),
            "base_cycles_rel_error": round(est["base_cycles"] / float(row["base_cycles"]) - 1, 4),
            "sparce_cycles_rel_error": round(est["sparce_cycles"] / float(row["sparce_cycles"]) - 1, 4)})
    errs = np.array([abs(p["norm_time_error"]) for p in points])
    report = {"sample": {"rows": args.rows, "cols": args.cols, "samples": args.samples},
              "points": points, "coverage": sum(p["covered"] for p in points) / len(points),
              "max_abs_norm_time_error": round(float(errs.max()), 5),
              "mean_abs_norm_time_error": round(float(errs.mean()), 5),
              "max_abs_cycles_rel_error": max(max(abs(p["base_cycles_rel_error"]), abs(p["sparce_cycles_rel_error"]))
                                              for p in points)}
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        write_text(args.out, text + "\n")


if __name__ == "__main__":
    main()
