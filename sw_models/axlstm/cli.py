"""`axsim lstm`: AxLSTM, dissertation chapter 5 (DTS, DSR, Algorithm 1).

    axsim lstm train    --bench nmt1|nmt2|s2vt|s2vt_scenes --out DIR [--steps N] [--hidden H] [--layers L]
    axsim lstm analyze  --out DIR [--modes dts dsr both] [--iters T] [--delta D] [--max-steps K]
    axsim lstm evaluate --out DIR [--n-test N] [--batch B] [--beam K] [--data FILE]
    axsim lstm plot     --out DIR [DIR ...] --figs FIGDIR
    axsim lstm infer    --model M.onnx --text "five hundred" [--skip and] [--abs-thres 0.1]

Every job resumes from what it finds in DIR, writes atomically and shows progress. torch is imported
only inside the commands, so `axsim --help` stays light.
"""
from __future__ import annotations

import json
from pathlib import Path


def register(subparsers) -> None:
    """Add `lstm` and its sub-commands."""
    p = subparsers.add_parser("lstm", help="AxLSTM: timestep skipping and state reduction for LSTMs (ch. 5)")
    sub = p.add_subparsers(dest="lstm_command", required=True)

    t = sub.add_parser("train", help="generate the benchmark data and train the baseline (resumes)")
    t.add_argument("--bench", required=True, help="nmt1, nmt2, s2vt or s2vt_scenes")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--steps", type=int, default=None, help="training steps (default per benchmark)")
    t.add_argument("--hidden", type=int, default=None)
    t.add_argument("--layers", type=int, default=None)
    t.add_argument("--count", type=int, default=None, help="sentence pairs generated in all")
    t.set_defaults(func=cmd_train)

    a = sub.add_parser("analyze", help="StateEffect table and Algorithm 1 per mode (resumes)")
    a.add_argument("--out", type=Path, required=True)
    a.add_argument("--modes", nargs="+", default=["dts", "dsr", "both"])
    a.add_argument("--iters", type=int, default=40, help="retraining iterations T per step")
    a.add_argument("--delta", type=float, default=0.04, help="absThres increase per step")
    a.add_argument("--diff-delta", type=float, default=0.01, help="InputDiff DiffThres increase per step")
    a.add_argument("--per-step", type=int, default=2, help="symbols added to the skip list per step")
    a.add_argument("--max-steps", type=int, default=16)
    a.add_argument("--lr", type=float, default=1e-3, help="retraining learning rate")
    a.set_defaults(func=cmd_analyze)

    e = sub.add_parser("evaluate", help="time, operations and BLEU per quality level (resumes)")
    e.add_argument("--out", type=Path, required=True)
    e.add_argument("--n-test", type=int, default=600)
    e.add_argument("--batch", type=int, default=1, help="sequences per batch (DSR keeps the union)")
    e.add_argument("--repeats", type=int, default=3)
    e.add_argument("--beam", type=int, default=0, help="beam width (0 = greedy)")
    e.add_argument("--data", type=Path, default=None, help="a dataset file with a 'test' split")
    e.set_defaults(func=cmd_evaluate)

    pl = sub.add_parser("plot", help="Figs. 5.4, 5.5, 5.6/5.7 and the DSR sweep")
    pl.add_argument("--out", type=Path, nargs="+", required=True, help="benchmark directories")
    pl.add_argument("--figs", type=Path, required=True, help="directory for the PNG files")
    pl.set_defaults(func=cmd_plot)

    i = sub.add_parser("infer", help="translate one input with an ONNX model, optionally approximated")
    i.add_argument("--model", type=Path, required=True)
    i.add_argument("--text", required=True)
    i.add_argument("--skip", nargs="*", default=[], help="symbols the Input Analyzer skips")
    i.add_argument("--abs-thres", type=float, nargs="+", default=[0.0], help="DSR absThres per layer")
    i.set_defaults(func=cmd_infer)


def _threads() -> None:
    import torch
    torch.set_num_threads(1)


def cmd_train(args) -> int:
    _threads()
    from .pipeline import train
    path = train(args.out, args.bench, args.steps, args.hidden, args.layers, args.count)
    print(f"baseline model: {path}")
    return 0


def cmd_analyze(args) -> int:
    _threads()
    from .design import levels
    from .pipeline import analyze
    result = analyze(args.out, tuple(args.modes), iters=args.iters, delta=args.delta,
                     diff_delta=args.diff_delta, per_step=args.per_step, max_steps=args.max_steps,
                     lr=args.lr)
    for mode, steps in result.items():
        chosen = {q: (s.step if s else None) for q, s in levels(steps).items()}
        print(f"{mode}: {len(steps)} steps, chosen step per constraint {chosen}")
    return 0


def cmd_evaluate(args) -> int:
    _threads()
    from .pipeline import evaluate
    if args.n_test < 1 or args.batch < 1 or args.repeats < 1:
        raise ValueError("--n-test, --batch and --repeats must be >= 1")
    res = evaluate(args.out, args.n_test, args.batch, args.repeats, args.beam, args.data)
    for mode, entry in res.get("levels", {}).items():
        for q, e in entry.items():
            if e:
                print(f"{mode} {q}: speedup {e['speedup']:.3f}x, ops x{e['ops_ratio']:.3f}, "
                      f"BLEU {e['baseline']['bleu']:.2f} -> {e['approx']['bleu']:.2f}")
    print(f"results: {args.out / 'evaluate.json'}")
    return 0


def cmd_plot(args) -> int:
    from sw_models.empir.store import load_json
    from .plots import plot_all
    results = {d.name: load_json(d / "evaluate.json") for d in args.out}
    for path in plot_all(results, args.figs):
        print(path)
    return 0


def cmd_infer(args) -> int:
    from . import onnx_model
    from .approx import InputAnalyzer, StateMinimizer, infer
    w = onnx_model.load(args.model)
    if w.frames:
        raise ValueError(f"{args.model}: a frame-input model; `infer` takes text")
    words = args.text.lower().split()
    onnx_model.check_vocab(w, [words], "--text")
    unknown = [s for s in args.skip if s not in w.src_vocab]
    if unknown:
        raise ValueError(f"--skip: not in the model's source vocabulary: {' '.join(unknown)}")
    index = {s: k for k, s in enumerate(w.src_vocab)}
    ia = InputAnalyzer(frozenset(index[s] for s in args.skip))
    out, stats = infer(w, [[index.get(s, index["<unk>"]) for s in words]], ia, StateMinimizer(args.abs_thres))
    print(json.dumps({"output": " ".join(out[0]), "ops": stats.ops_enc + stats.ops_dec,
                      "kept_state_units": stats.kept_units[0]}))
    return 0

