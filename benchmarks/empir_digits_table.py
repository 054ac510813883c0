"""EMPIR on scikit-learn digits (28x28): train, search, attack -> Table 8.3 analog as JSON.

Run:  python benchmarks/empir_digits_table.py [--out DIR] [--n-eval 100]
Resumable: members and evaluated rows already in DIR are reused. Budget: < 15 min on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sw_models.empir import pipeline  # noqa: E402
from sw_models.empir.plots import make_all  # noqa: E402

FP = [(32, 32)]
LP_POOL = [(1, 1), (1, 2), (2, 2), (1, 4), (2, 4), (4, 4)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/empir_digits"))
    ap.add_argument("--n-eval", type=int, default=100)
    ap.add_argument("--n-search", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(1)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    t0 = time.time()
    arch, *data = pipeline.load_data("digits")
    x_te, y_te = data[2], data[3]
    pipeline.train_all(args.out, data, arch, FP, [0, 1, 2], epochs=args.epochs, log=log)
    pipeline.train_all(args.out, data, arch, LP_POOL, [0], epochs=args.epochs, log=log)
    for defense in ("fgsm_adv", "pgd_adv", "distill", "igr"):
        pipeline.train_all(args.out, data, arch, FP, [0], defense, args.epochs, log=log)
    t_train = time.time() - t0
    params = pipeline.default_params(arch)
    found = pipeline.run_search(args.out, x_te, y_te, params, 1, 2, "vote", args.n_search, log=log)
    best_bits = [(r["wbits"], r["abits"]) for r in pipeline.load_pool(args.out)
                 if r["name"] in found["best"]["members"] and not r["full_precision"]]
    pipeline.train_all(args.out, data, arch, best_bits, [0], "fgsm_adv", args.epochs, log=log)
    t_search = time.time() - t0 - t_train
    res = pipeline.run_evaluate(args.out, x_te, y_te, params, args.n_eval, log=log)
    make_all(args.out)
    t_total = time.time() - t0
    table = {k: {m: v[m] for m in ("clean", "cw", "fgsm", "bim", "pgd", "average",
                                    "adaptive_worst", "soft_vote", "member_hinge",
                                    "member_hinge_bpda", "time", "storage") if m in v}
             for k, v in res["table"].items()}
    base, empir = res["table"]["Baseline FP"], res["table"]["EMPIR"]
    ratio = empir["average"] / base["average"] if base["average"] > 0 else float("inf")
    print(json.dumps({
        "benchmark": "empir_digits_table", "members": found["best"]["members"],
        "n_test_clean": res["n_test"], "n_attacked": res["n_eval"], "table": table,
        "goal": {"adv_ratio": round(ratio, 2), "adv_ratio_ok": ratio >= 5,
                 "clean_drop": round(base["clean"] - empir["clean"], 2),
                 "clean_drop_ok": base["clean"] - empir["clean"] <= 2},
        "onnx": res["onnx"], "vary_mn": [{k: r[k] for k in ("m", "n", "clean", "fgsm", "time",
                                                              "storage")} for r in res["vary_mn"]],
        "individual": [{k: i[k] for k in ("name", "clean", "adv")} for i in res["individual"]],
        "seconds": {"train": round(t_train, 1), "search": round(t_search, 1),
                    "total": round(t_total, 1)}}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
