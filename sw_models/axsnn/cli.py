"""`axsim snn`: AxSNN, approximate spiking neural networks (dissertation chapter 6).

    axsim snn train    --out DIR [--data mnist|digits|npz:F] [--arch mnist_mlp|mnist_cnn|digits_mlp]
    axsim snn convert  --out DIR [--data ...] [--onnx MODEL.onnx] [--percentile 99.9]
    axsim snn simulate --out DIR [--data ...] [--n 100] [--thresholds T0 T1 ...]   (one run, JSON)
    axsim snn search   --out DIR [--data ...] [--losses 0 1 2 5] [--n-tune 100]    (Algorithm 2)
    axsim snn evaluate --out DIR [--data ...] [--n-test 1000]                     (test set)
    axsim snn trace    --out DIR [--data ...]                                      (Fig. 6.6 data)
    axsim snn plot     --out DIR [DIR ...] [--fig-dir FIGS]                       (Figs. 6.4-6.6)
    axsim snn all      --out DIR [--data ...] [--arch ...]                         (all of the above)

torch, onnx and the simulator are imported only inside the commands.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _sim_args(q) -> None:
    q.add_argument("--steps", type=int, default=100, help="time steps per input")
    q.add_argument("--lam", type=int, default=10, help="controller period lambda (steps)")
    q.add_argument("--encoding", choices=["poisson", "deterministic"], default="poisson")
    q.add_argument("--levels", type=float, nargs="+", default=[1, 0.5, 0.25, 0.125, 0],
                   help="approximation levels alpha, from 1 down to 0")
    q.add_argument("--fanin-check", choices=["on", "off"], default="on",
                   help="a synapse must be active at both ends (on) or at the spiker only (off)")
    q.add_argument("--batch", type=int, default=100, help="images simulated together")
    q.add_argument("--seed", type=int, default=0)


def register(subparsers) -> None:
    """Add the `snn` sub-command and its own sub-commands."""
    p = subparsers.add_parser("snn", help="AxSNN: approximate spiking neural networks (ch. 6)")
    sub = p.add_subparsers(dest="snn_command", required=True)

    def common(q, data=True):
        q.add_argument("--out", type=Path, required=True, help="run directory")
        if data:
            q.add_argument("--data", default="mnist", help="mnist, digits or npz:<file>")

    t = sub.add_parser("train", help="train a ReLU ANN and export ann.onnx")
    common(t)
    t.add_argument("--arch", default=None, help="mnist_mlp, mnist_cnn or digits_mlp")
    t.add_argument("--epochs", type=int, default=8)
    t.set_defaults(func=cmd_train)

    c = sub.add_parser("convert", help="ONNX ReLU network -> SNN (snn.npz)")
    common(c)
    c.add_argument("--onnx", type=Path, default=None, help="a user's ONNX model (default DIR/ann.onnx)")
    c.add_argument("--percentile", type=float, default=99.9, help="normalisation percentile")
    c.set_defaults(func=cmd_convert)

    s = sub.add_parser("simulate", help="one simulation on test images, JSON summary")
    common(s)
    _sim_args(s)
    s.add_argument("--n", type=int, default=100, help="test images")
    s.add_argument("--thresholds", type=float, nargs="+", default=None,
                   help="FOM_{alpha:1->a1} per layer (input first); omit for the exact SNN")
    s.set_defaults(func=cmd_simulate)

    se = sub.add_parser("search", help="Algorithm 2 for each quality loss (resumable)")
    common(se)
    _sim_args(se)
    se.add_argument("--losses", type=float, nargs="+", default=[0, 1, 2, 5], help="accuracy points")
    se.add_argument("--n-tune", type=int, default=100, help="images used by the search")
    se.add_argument("--tune-on", choices=["train", "heldout"], default="train",
                    help="search on training images, or on half the held-out ones (evaluate on the rest)")
    se.add_argument("--points", type=int, default=4, help="non-zero thresholds per layer")
    se.add_argument("--ratio", type=float, default=2.0, help="ratio between neighbouring thresholds")
    se.set_defaults(func=cmd_search)

    e = sub.add_parser("evaluate", help="exact SNN vs AxSNN on test images (resumable)")
    common(e)
    e.add_argument("--n-test", type=int, default=None)
    e.add_argument("--batch", type=int, default=100)
    e.set_defaults(func=cmd_evaluate)

    tr = sub.add_parser("trace", help="Fig. 6.6 data for an easy and a hard input")
    common(tr)
    tr.add_argument("--loss", default="0")
    tr.set_defaults(func=cmd_trace)

    pl = sub.add_parser("plot", help="Figs. 6.4, 6.5 and 6.6 from run directories")
    pl.add_argument("--out", type=Path, nargs="+", required=True)
    pl.add_argument("--fig-dir", type=Path, default=None, help="default: the first --out")
    pl.set_defaults(func=cmd_plot)

    a = sub.add_parser("all", help="train, convert, search, evaluate, trace, plot")
    common(a)
    _sim_args(a)
    a.add_argument("--arch", default=None)
    a.add_argument("--epochs", type=int, default=8)
    a.add_argument("--losses", type=float, nargs="+", default=[0, 1, 2, 5])
    a.add_argument("--n-tune", type=int, default=100)
    a.add_argument("--n-test", type=int, default=None)
    a.add_argument("--points", type=int, default=4)
    a.add_argument("--ratio", type=float, default=2.0)
    a.set_defaults(func=cmd_all)


def _config(args, thresholds=None):
    from .simulate import Config
    from .snn import check_levels
    if args.lam <= 0:
        raise ValueError(f"--lam (controller period lambda) must be > 0, got {args.lam}")
    return Config(steps=args.steps, lam=args.lam, thresholds=thresholds, encoding=args.encoding,
                  levels=check_levels(args.levels), seed=args.seed, batch=args.batch,
                  fanin_check=args.fanin_check == "on")


def _arch(args) -> str:
    from .pipeline import DEFAULT_ARCH
    arch = args.arch or DEFAULT_ARCH.get(args.data)
    if arch is None:
        raise ValueError(f"--arch is needed for data {args.data!r}")
    return arch


def _threads() -> None:
    import torch
    torch.set_num_threads(2)


def cmd_train(args) -> int:
    from .pipeline import train_and_export
    _threads()
    print(train_and_export(args.out, args.data, _arch(args), args.epochs, _log))
    return 0


def cmd_convert(args) -> int:
    from .pipeline import convert
    print(json.dumps(convert(args.out, args.data, args.onnx, args.percentile, log=_log), indent=1))
    return 0


def cmd_simulate(args) -> int:
    from .data import load
    from .pipeline import _run, load_snn
    cfg = _config(args, tuple(args.thresholds) if args.thresholds else None)
    if args.n < 1:
        raise ValueError(f"--n must be >= 1, got {args.n}")
    _, _, x, y = load(args.data)
    print(json.dumps(_run(load_snn(args.out), x[:args.n], y[:args.n], cfg), indent=1))
    return 0


def cmd_search(args) -> int:
    from .pipeline import search
    cfg = _config(args)
    state = search(args.out, args.data, cfg, args.losses, args.n_tune, args.points, args.ratio, _log,
                   args.tune_on)
    print(json.dumps({k: v["thresholds"] for k, v in state["choices"].items()}, indent=1))
    return 0


def _table(results: dict) -> dict:
    keys = ("accuracy", "updates_reduction", "energy_improvement", "time_improvement", "early_fraction",
            "mean_steps")
    return {name: {k: round(r[k], 4) for k in keys} for name, r in results["runs"].items()}


def cmd_evaluate(args) -> int:
    from .pipeline import evaluate
    from .simulate import Config
    print(json.dumps(_table(evaluate(args.out, args.data, Config(batch=args.batch), args.n_test, _log)), indent=1))
    return 0


def cmd_trace(args) -> int:
    from .pipeline import trace
    from .simulate import Config
    print(trace(args.out, args.data, Config(), args.loss, _log))
    return 0


def cmd_plot(args) -> int:
    from .plots import make_all
    for path in make_all(args.out, args.fig_dir or args.out[0]):
        print(path)
    return 0


def cmd_all(args) -> int:
    from . import pipeline as pl
    from .plots import make_all
    cfg = _config(args)
    _threads()
    pl.train_and_export(args.out, args.data, _arch(args), args.epochs, _log)
    pl.convert(args.out, args.data, log=_log)
    pl.search(args.out, args.data, cfg, args.losses, args.n_tune, args.points, args.ratio, _log)
    results = pl.evaluate(args.out, args.data, cfg, args.n_test, _log)
    pl.trace(args.out, args.data, cfg, log=_log)
    make_all([args.out], args.out)
    print(json.dumps(_table(results), indent=1))
    return 0
