"""AxSNN controller period sweep (dissertation §6.1.2, lambda): early termination alone.

Only the output layer is approximated, at its largest threshold (FOM_max = 1), and lambda varies.
For each MNIST network converted by `benchmarks/axsnn_chapter6.py` (out/axsnn/<net>), on the
1,000 held-out images, it prints JSON: accuracy beside the exact SNN's, agreement with the exact
SNN's class, spike-update and SNNAP energy ratios, early-termination fraction and mean steps.
The JSON also goes to benchmarks/results/axsnn_lambda_sweep.json.

    python benchmarks/axsnn_lambda_sweep.py [--lams 10 20 30 50]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def sweep(net: str, lams: list[int]) -> list[dict]:
    from sw_models.axsnn import pipeline as pl, snnap
    from sw_models.axsnn.data import load
    from sw_models.axsnn.simulate import Config, simulate
    snn = pl.load_snn(ROOT / "out" / "axsnn" / net)
    _, _, x, y = load("mnist")
    exact = simulate(snn, x, Config(steps=100, progress=True))
    e0 = snnap.of_result(exact)["energy_uJ"]
    rows = []
    for lam in lams:
        thr = (0.0,) * (len(snn.sizes) - 1) + (1.0,)
        r = simulate(snn, x, Config(steps=100, lam=lam, thresholds=thr, progress=True))
        rows.append({"lam": lam, "accuracy": r.accuracy(y), "exact_accuracy": exact.accuracy(y),
                     "agreement_with_exact": float((r.pred == exact.pred).mean()),
                     "updates_reduction": float(exact.updates.sum() / r.updates.sum()),
                     "energy_improvement": e0 / snnap.of_result(r)["energy_uJ"],
                     "early_fraction": float(r.early.mean()), "mean_steps": float(r.steps_run.mean())})
        print(net, rows[-1], file=sys.stderr, flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", nargs="+", default=["mnist_cnn", "mnist_mlp"])
    ap.add_argument("--lams", type=int, nargs="+", default=[10, 20, 30, 50])
    args = ap.parse_args()
    report = {"benchmark": "axsnn_lambda_sweep", "n_test": 1000, "steps": 100,
              "networks": {net: sweep(net, args.lams) for net in args.nets}}
    text = json.dumps(report, indent=1)
    from atomic_output import write_text
    write_text(ROOT / "benchmarks" / "results" / "axsnn_lambda_sweep.json", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
