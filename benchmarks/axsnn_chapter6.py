"""AxSNN benchmark (dissertation chapter 6): exact SNN vs AxSNN on three networks, printed as JSON.

For each network (MNIST MLP 784-500-500-10, MNIST CNN, digits MLP) it trains the ANN, converts it
from the ONNX file, runs Algorithm 2 at 0/1/2/5 accuracy points of loss on training images (or on
half the held-out ones), then runs the exact SNN and every AxSNN setting on the held-out test
images in one process, and reports
spike updates, SNNAP energy, software time (ratios from the same run) and accuracy beside the
paper's numbers (Fig. 6.4-6.6). Runs live in out/axsnn/<net> (resumable: rerun to continue); the
summaries and figures are copied to benchmarks/results/axsnn/ and the JSON to
benchmarks/results/axsnn_chapter6.json.

    python benchmarks/axsnn_chapter6.py [--nets mnist_mlp mnist_cnn digits_mlp] [--n-test 1000]
                                        [--n-tune 100] [--points 4] [--tune-on heldout] [--suffix _heldout]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAPER = {"updates_reduction_iso": [1.4, 5.5], "hw_energy_iso": [1.2, 3.62], "sw_energy_iso": [1.26, 3.9],
         "energy_at_loss": {"1": 1.86, "2": 2.51, "5": 3.37}, "early_termination_mnist": 0.99}
NETS = {"mnist_mlp": "mnist", "mnist_cnn": "mnist", "digits_mlp": "digits"}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_net(arch: str, args) -> dict:
    import torch
    from sw_models.axsnn import pipeline as pl
    from sw_models.axsnn.simulate import Config
    torch.set_num_threads(2)
    data, out = NETS[arch], ROOT / "out" / "axsnn" / (arch + args.suffix)
    cfg = Config(steps=args.steps, lam=args.lam, batch=100)
    t0 = time.time()
    pl.train_and_export(out, data, arch, args.epochs, _log)
    info = pl.convert(out, data, log=_log)
    pl.search(out, data, cfg, args.losses, args.n_tune, args.points, args.ratio, _log, args.tune_on)
    res = pl.evaluate(out, data, cfg, args.n_test if data == "mnist" else None, _log,
                      timing_images=args.timing_images, timing_repeats=3)
    if not (out / "trace.npz").exists():
        pl.trace(out, data, cfg, log=_log)
    keep = ROOT / "benchmarks" / "results" / ("axsnn" + args.suffix) / arch
    keep.mkdir(parents=True, exist_ok=True)
    for name in ("convert.json", "search.json", "results.json"):
        shutil.copyfile(out / name, keep / name)
    keys = ("accuracy", "updates", "updates_reduction", "snnap_energy_uJ", "energy_improvement", "seconds",
            "time_improvement", "time_improvement_min", "early_fraction", "mean_steps",
            "accuracy_loss_points")
    return {"data": data, "sizes": info["sizes"], "synapses": info["synapses"],
            "ann_test_accuracy": info["ann_test_accuracy"], "n_test": res["n_test"],
            "runs": {k: {m: r[m] for m in keys if m in r} for k, r in res["runs"].items()},
            "timing": res.get("timing"),
            "wall_seconds_this_call": round(time.time() - t0, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", nargs="+", default=list(NETS), choices=list(NETS))
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--n-tune", type=int, default=100)
    ap.add_argument("--timing-images", type=int, default=200, help="images re-timed 3x, interleaved")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--lam", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--points", type=int, default=4)
    ap.add_argument("--ratio", type=float, default=2.0)
    ap.add_argument("--losses", type=float, nargs="+", default=[0, 1, 2, 5])
    ap.add_argument("--tune-on", choices=["train", "heldout"], default="train",
                    help="Algorithm 2 on training images, or on half the held-out ones (tested on the other)")
    ap.add_argument("--suffix", default="", help="run variant: out/axsnn/<net><suffix>, results too")
    args = ap.parse_args()
    nets = {arch: run_net(arch, args) for arch in args.nets}
    from sw_models.axsnn.plots import make_all
    figs = make_all([ROOT / "out" / "axsnn" / (a + args.suffix) for a in args.nets],
                    ROOT / "benchmarks" / "results" / ("axsnn" + args.suffix))
    report = {"benchmark": "axsnn_chapter6", "settings": vars(args), "load_average": os.getloadavg(),
              "networks": nets, "paper": PAPER, "figures": [str(f.relative_to(ROOT)) for f in figs]}
    text = json.dumps(report, indent=1)
    from atomic_output import write_text
    write_text(ROOT / "benchmarks" / "results" / f"axsnn_chapter6{args.suffix}.json", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
