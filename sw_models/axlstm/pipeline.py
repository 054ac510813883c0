"""The chapter 5 jobs on one benchmark directory: train the baseline, run Algorithm 1, evaluate.

Directory layout (`<out>`):
    data.json | data.npz        the benchmark's splits (generated once; a user's file can replace it)
    model.onnx                  the trained baseline seq2seq (ONNX LSTM operators)
    train.ckpt                  resumable training state
    effect.json                 StateEffect table (text benchmarks)
    algo_<mode>/steps.json      Algorithm 1 trajectory, one ONNX model per step
    evaluate.json               Figs. 5.4-5.7 data (written after every entry; a rerun resumes)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pathlib import Path

from . import data as D

BENCH_SHAPES = {                      # (hidden, layers, embed, training steps) per benchmark
    "nmt1": (128, 2, 64, 1500),
    "nmt2": (160, 4, 64, 1200),
    "s2vt": (128, 2, 32, 2500),
    "s2vt_scenes": (128, 2, 32, 2500),
}


def single_thread() -> None:
    """One BLAS and one torch thread: on a shared machine more threads make numpy far slower."""
    import torch
    from threadpoolctl import threadpool_limits
    torch.set_num_threads(1)
    threadpool_limits(1)


@dataclass
class Paths:
    out: Path

    @property
    def model(self) -> Path:
        return self.out / "model.onnx"

    @property
    def checkpoint(self) -> Path:
        return self.out / "train.ckpt"

    def data(self) -> Path:
        for name in ("data.json", "data.npz"):
            if (self.out / name).is_file():
                return self.out / name
        raise FileNotFoundError(f"{self.out}: no data.json or data.npz (run `axsim lstm train` first)")

    def algo(self, mode: str) -> Path:
        return self.out / f"algo_{mode}"


def dataset(out: Path, bench: str | None, count: int | None = None) -> D.Dataset:
    """The directory's dataset, generated (and saved) on first use."""
    paths = Paths(out)
    try:
        return D.load_dataset(paths.data())
    except FileNotFoundError:
        if bench is None:
            raise
    data = D.make(bench, count)
    D.save_dataset(data, out / ("data.npz" if data.kind == "frames" else "data.json"))
    return data


def train(out: Path, bench: str, steps: int | None = None, hidden: int | None = None,
          layers: int | None = None, count: int | None = None, lr: float = 3e-3) -> Path:
    """Train (or resume training) the baseline and export it to ONNX."""
    import torch
    from .model import Config, Seq2Seq, load_checkpoint, train as fit
    from . import onnx_model
    if bench not in BENCH_SHAPES:
        raise ValueError(f"--bench: unknown benchmark {bench!r} (choose from {', '.join(D.BENCHMARKS)})")
    single_thread()
    H, L, E, S = BENCH_SHAPES[bench]
    H, L, S = hidden or H, layers or L, steps if steps is not None else S
    out.mkdir(parents=True, exist_ok=True)
    paths = Paths(out)
    data = dataset(out, bench, count)
    torch.manual_seed(0)
    if paths.checkpoint.is_file():
        model, opt_state, start = load_checkpoint(paths.checkpoint)
    else:
        pairs = data.splits["train"]
        src_dim = pairs[0][0].shape[1] if data.kind == "frames" else 0
        cfg = Config([] if src_dim else D.build_vocab([s for s, _ in pairs]),
                     D.build_vocab([t for _, t in pairs]), H, L, E, src_dim)
        if src_dim:
            cfg.src_vocab = list(D.SPECIALS)
        model, opt_state, start = Seq2Seq(cfg), None, 0
    if start < S or not paths.model.is_file():
        fit(model, data.splits["train"], S, lr=lr, checkpoint=paths.checkpoint, start=start,
            optimizer_state=opt_state, desc=f"train {bench}")
        onnx_model.save(onnx_model.from_torch(model), paths.model)
    return paths.model


def analyze(out: Path, modes=("dts", "dsr", "both"), **algo) -> dict[str, list]:
    """StateEffect table and Algorithm 1 for each mode (resumable)."""
    from sw_models.empir.store import save_json
    from . import design, onnx_model
    single_thread()
    paths = Paths(out)
    base = onnx_model.load(paths.model)
    data = D.load_dataset(paths.data())
    onnx_model.check_vocab(base, data.sources("train"), str(paths.data()))
    if not base.frames:
        save_json(out / "effect.json", {"sorted": design.effect_table(base, data)})
    return {mode: design.run(base, data, paths.algo(mode), mode, **algo) for mode in modes}


SWEEP = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]


def evaluate(out: Path, n_test: int = 600, batch: int = 1, repeats: int = 3, beam: int = 0,
             data_file: Path | None = None) -> dict:
    """Figs. 5.4-5.7 data into <out>/evaluate.json; entries already there are kept (resume)."""
    from dataclasses import asdict
    from tqdm import tqdm
    from sw_models.empir.store import load_json, save_json
    from . import design, onnx_model
    from .engine import ENGINE_VERSION
    from .evaluate import compare, dsr_sweep
    single_thread()
    paths = Paths(out)
    base = onnx_model.load(paths.model)
    data_path = data_file or paths.data()
    data = D.load_dataset(data_path)
    if "test" not in data.splits:
        raise ValueError(f"{data_path}: no 'test' split")
    pairs = data.splits["test"][:n_test]
    onnx_model.check_vocab(base, [s for s, _ in pairs], str(data_path))
    sources, refs = design.source_ids(base, [s for s, _ in pairs]), [t for _, t in pairs]
    target = out / "evaluate.json"
    res = load_json(target) if target.is_file() else {}
    if res and res.get("settings", {}).get("engine") != ENGINE_VERSION:
        res = {}                                  # timed with another engine: measure everything again
    res.setdefault("settings", {"n_test": len(pairs), "batch": batch, "repeats": repeats, "beam": beam,
                                "engine": ENGINE_VERSION})
    jobs = [(m, q, s) for m in design.MODES if (paths.algo(m) / "steps.json").is_file()
            for q, s in design.levels(design.load_steps(paths.algo(m) / "steps.json")).items()]
    for mode, q, step in tqdm(jobs, desc="evaluate levels", leave=False):
        entry = res.setdefault("levels", {}).setdefault(mode, {})
        if q in entry and (entry[q] or {}).get("step") == (asdict(step) if step else None):
            continue                                 # measured, for the level's current step
        if step is None:
            entry[q] = None
        else:
            ax = onnx_model.load(paths.algo(mode) / step.model)
            ia, sm = design.approximations(ax, step)
            entry[q] = {"step": asdict(step), **compare(base, ax, sources, refs, ia, sm, batch, repeats, beam)}
        save_json(target, res)
    if "dsr_sweep" not in res:
        res["dsr_sweep"] = dsr_sweep(base, sources, refs, SWEEP, batch, repeats)
        save_json(target, res)
    if "examples" not in res:
        res["examples"] = _examples(base, paths, sources, refs)
        save_json(target, res)
    return res


def _examples(base, paths: Paths, sources: list, refs: list) -> dict:
    """Figs. 5.6/5.7 on the shortest and the longest test input, with the tightest 'both' level."""
    from . import design, onnx_model
    from .evaluate import per_step_example
    record = paths.algo("both") / "steps.json"
    if not record.is_file():
        return {}
    chosen = next((s for s in design.levels(design.load_steps(record)).values() if s is not None), None)
    if chosen is None:
        return {}
    ax = onnx_model.load(paths.algo("both") / chosen.model)
    ia, sm = design.approximations(ax, chosen)
    lens = [len(s) for s in sources]
    picks = {"simple": int(np.argmin(lens)) if min(lens) >= 3 else lens.index(min(L for L in lens if L >= 3)),
             "complex": int(np.argmax(lens))}
    out = {name: per_step_example(base, ax, sources[i], refs[i], ia, sm) for name, i in picks.items()}
    for ex in out.values():                      # eq. 3.3 beside the measurement (baseline, batch 1)
        n_in, n_out = len(ex["baseline_enc_steps"]), len(ex["baseline_dec_steps"])
        ex["eq33_predicted_s"] = (n_in * float(np.median(ex["baseline_enc_steps"]))
                                  + n_out * float(np.median(ex["baseline_dec_steps"])))
        ex["eq33_measured_s"] = float(sum(ex["baseline_enc_steps"]) + sum(ex["baseline_dec_steps"]))
    out["level"] = asdict_step(chosen)
    return out


def asdict_step(step) -> dict:
    from dataclasses import asdict
    return asdict(step)
