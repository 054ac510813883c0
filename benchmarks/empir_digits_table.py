"""EMPIR on scikit-learn digits (28x28): train, search, attack -> Table 8.3 analog as JSON.

Run:  python benchmarks/empir_digits_table.py [--out DIR] [--n-eval 100] [--jobs 2]
Resumable: members and evaluated rows already in DIR are reused. Budget: < 15 min on 2 cores.

Members are trained in `--jobs` worker processes (one thread each). The low-precision pool has two
seeds per bit pair, so the search can pick two members with the same {w, a}, as the paper did for
MNIST ({2,4} x 2).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sw_models.empir import pipeline  # noqa: E402
from sw_models.empir.plots import make_all  # noqa: E402

FP = [(32, 32)]
LP_POOL = [(2, 2), (2, 4), (4, 4)]       # searched (<= 4 bits, §8.1.3), two seeds each
LP_SEEDS = [1, 2]
# Table 8.3's comparison rows, most expensive first. PGD adversarial training (Table 8.4 only) is
# left out of the digits run: at eps 0.3 it trained to chance (8.69%) in 167 s, see the note.
DEFENSES = ("igr", "fgsm_adv", "distill")


def _train(job):
    out, bits, seed, defense, epochs = job
    torch.set_num_threads(1)
    arch, *data = pipeline.load_data("digits")
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    return pipeline.train_all(out, data, arch, [bits], [seed], defense, epochs, log=log)


def train_parallel(jobs, n_jobs: int):
    """Train independent members in `n_jobs` processes (spawned: no forked torch thread pools)."""
    if n_jobs <= 1:
        return [r for j in jobs for r in _train(j)]
    with ProcessPoolExecutor(n_jobs, mp_context=mp.get_context("spawn")) as pool:
        return [r for rs in pool.map(_train, jobs) for r in rs]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/empir_digits"))
    ap.add_argument("--n-eval", type=int, default=100)
    ap.add_argument("--n-search", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (training, search, table rows)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    load_start = os.getloadavg()   # the 2 cores are shared: record what else was running
    t0 = time.time()
    arch, *data = pipeline.load_data("digits")
    x_te, y_te = data[2], data[3]
    jobs = ([(args.out, FP[0], 0, d, args.epochs) for d in DEFENSES]
            + [(args.out, b, s, "none", args.epochs) for b in LP_POOL for s in LP_SEEDS]
            + [(args.out, FP[0], s, "none", args.epochs) for s in (0, 1, 2)])
    train_parallel(jobs, args.jobs)
    t_train = time.time() - t0
    params = pipeline.default_params(arch)
    found = pipeline.run_search(args.out, x_te, y_te, params, 1, 2, "vote", args.n_search, log=log,
                                 jobs=args.jobs)
    best = [r for r in pipeline.load_pool(args.out)
            if r["name"] in found["best"]["members"] and not r["full_precision"]]
    t_search = time.time() - t0 - t_train
    train_parallel([(args.out, (r["wbits"], r["abits"]), r["seed"], "fgsm_adv", args.epochs)
                    for r in best], args.jobs)
    t_adv = time.time() - t0 - t_train - t_search
    res = pipeline.run_evaluate(args.out, x_te, y_te, params, args.n_eval, log=log,
                                jobs=args.jobs)
    make_all(args.out)
    t_total = time.time() - t0
    table = {k: {m: v[m] for m in ("clean", "cw", "fgsm", "bim", "pgd", "average",
                                    "adaptive_worst", "soft_vote", "member_hinge",
                                    "member_hinge_bpda", "time", "storage") if m in v}
             for k, v in res["table"].items()}
    base, empir = res["table"]["Baseline FP"], res["table"]["EMPIR"]
    # with a 0% baseline any EMPIR accuracy is "5x" it: say so instead of printing a ratio
    ratio = round(empir["average"] / base["average"], 2) if base["average"] > 0 else None
    print(json.dumps({
        "benchmark": "empir_digits_table", "members": found["best"]["members"],
        "n_test_clean": res["n_test"], "n_attacked": res["n_eval"], "table": table,
        "goal": {"baseline_avg": base["average"], "empir_avg": empir["average"],
                 "adv_ratio": ratio, "baseline_is_zero": base["average"] == 0,
                 "adv_5x_formally": empir["average"] > 0
                 and empir["average"] >= 5 * base["average"],
                 "empir_adaptive_worst": empir.get("adaptive_worst"),
                 "clean_drop": round(base["clean"] - empir["clean"], 2),
                 "clean_drop_ok": base["clean"] - empir["clean"] <= 2},
        "onnx": res["onnx"], "vary_mn": [{k: r[k] for k in ("m", "n", "clean", "fgsm", "time",
                                                              "storage")} for r in res["vary_mn"]],
        "individual": [{k: i[k] for k in ("name", "clean", "adv")} for i in res["individual"]],
        "seconds": {"train": round(t_train, 1), "search": round(t_search, 1),
                    "train_fgsm_adv_lp": round(t_adv, 1),
                    "evaluate_and_plots": round(t_total - t_train - t_search - t_adv, 1),
                    "total": round(t_total, 1)},
        "jobs": args.jobs, "loadavg_start": [round(v, 2) for v in load_start],
        "loadavg_end": [round(v, 2) for v in os.getloadavg()]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
