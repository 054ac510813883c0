"""`axsim empir`: train members, search ensembles, evaluate, plot (dissertation chapter 8).

    axsim empir train    --out DIR [--data digits|mnist|cifar10:DIR] [--bits 32:32 2:4 ...] [--seeds 0 1]
                         [--defense none|fgsm_adv|pgd_adv|distill|igr] [--epochs 8]
    axsim empir search   --out DIR [--m 1] [--n 2] [--method vote|average] [--n-search 150]
    axsim empir evaluate --out DIR [--n-eval 150]      (or --members A.onnx B.onnx --fp 1 0)
    axsim empir plot     --out DIR
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch


def _bit_pair(text: str) -> tuple[int, int]:
    try:
        w, a = (int(t) for t in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bit pair must look like W:A (e.g. 2:4), got {text!r}")
    return w, a


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def register(subparsers) -> None:
    """Add the `empir` sub-command and its own sub-commands."""
    p = subparsers.add_parser("empir", help="EMPIR: ensembles of mixed-precision models (ch. 8)")
    sub = p.add_subparsers(dest="empir_command", required=True)

    def common(q):
        q.add_argument("--out", type=Path, required=True, help="output directory")
        q.add_argument("--data", default="digits", help="'digits', 'mnist' or 'cifar10:<dir>'")
        q.add_argument("--n-train", type=int, default=None, help="use the first N training images")
        q.add_argument("--n-test", type=int, default=None, help="use the first N test images")

    t = sub.add_parser("train", help="train members (skips those already trained)")
    common(t)
    t.add_argument("--bits", type=_bit_pair, nargs="+", default=[(32, 32), (2, 4)],
                   help="W:A bit pairs, 32:32 = full precision")
    t.add_argument("--seeds", type=int, nargs="+", default=[0])
    t.add_argument("--defense", default="none")
    t.add_argument("--epochs", type=int, default=8)
    t.add_argument("--lr", type=float, default=5e-4, help="Adam learning rate")
    t.add_argument("--batch-size", type=int, default=32)
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("search", help="search EMPIR(M, N) under the paper's constraints")
    common(s)
    s.add_argument("--m", type=int, default=1)
    s.add_argument("--n", type=int, default=2)
    s.add_argument("--method", choices=["vote", "average"], default="vote")
    s.add_argument("--n-search", type=int, default=150)
    s.add_argument("--rank", default="average", choices=["average", "proxy"],
                   help="average: mean over CW/FGSM/BIM/PGD (the paper's); proxy: FGSM + 10-step BIM")
    s.add_argument("--max-overhead", type=float, default=0.25, help="eq. 8.2 overhead bound")
    s.add_argument("--max-clean-drop", type=float, default=2.0, help="points of clean accuracy")
    s.set_defaults(func=cmd_search)

    e = sub.add_parser("evaluate", help="Table 8.3-style evaluation (or ONNX members' accuracy)")
    common(e)
    e.add_argument("--n-eval", type=int, default=150, help="test images attacked")
    e.add_argument("--members", type=Path, nargs="+", help="ONNX member files to combine")
    e.add_argument("--fp", type=int, nargs="+", help="1 for each full-precision member")
    e.add_argument("--method", choices=["vote", "average"], default="vote")
    e.set_defaults(func=cmd_evaluate)

    pl = sub.add_parser("plot", help="Figs. 8.1, 8.3, 8.4, 8.5 from evaluate.json")
    pl.add_argument("--out", type=Path, required=True)
    pl.set_defaults(func=cmd_plot)


def _data(args):
    from .pipeline import load_data
    if args.n_train is not None and args.n_train < 1 or args.n_test is not None and args.n_test < 1:
        raise ValueError("--n-train and --n-test must be >= 1")
    return load_data(args.data, args.n_train, args.n_test)


def cmd_train(args) -> int:
    from .pipeline import train_all
    torch.set_num_threads(1)
    arch, *data = _data(args)
    records = train_all(args.out, data, arch, args.bits, args.seeds, args.defense, args.epochs,
                        _log, args.lr, args.batch_size)
    print(json.dumps([{k: r[k] for k in ("name", "clean_acc")} for r in records], indent=1))
    return 0


def cmd_search(args) -> int:
    from .pipeline import default_params, run_search
    torch.set_num_threads(1)
    arch, _, _, x, y = _data(args)
    res = run_search(args.out, x, y, default_params(arch), args.m, args.n, args.method,
                     args.n_search, args.max_overhead, args.max_clean_drop, _log, rank=args.rank)
    print(json.dumps(res["best"], indent=1))
    return 0


def cmd_evaluate(args) -> int:
    torch.set_num_threads(1)
    arch, _, _, x, y = _data(args)
    if args.members:
        return _evaluate_onnx(args, x, y)
    from .pipeline import default_params, run_evaluate
    res = run_evaluate(args.out, x, y, default_params(arch), args.n_eval, log=_log)
    rows = {k: {m: v[m] for m in ("clean", "cw", "fgsm", "bim", "pgd", "average", "adaptive_worst")
                if m in v} for k, v in res["table"].items()}
    print(json.dumps({"table": rows, "onnx": res["onnx"]}, indent=1))
    return 0


def _evaluate_onnx(args, x, y) -> int:
    from .ensemble import OnnxEnsemble
    fp = args.fp or [1] + [0] * (len(args.members) - 1)
    ens = OnnxEnsemble(args.members, [bool(f) for f in fp], args.method)
    if tuple(x.shape[1:]) != tuple(ens.in_shape):
        raise ValueError(f"members take inputs of shape {ens.in_shape}, the data has {x.shape[1:]}")
    acc = 100 * float((ens.predict(np.asarray(x)) == y).mean())
    print(json.dumps({"members": [str(m) for m in args.members], "clean": round(acc, 2)}))
    return 0


def cmd_plot(args) -> int:
    from .plots import make_all
    for path in make_all(args.out):
        print(path)
    return 0
