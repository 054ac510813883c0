"""Algorithm 1 (dissertation section 5.1.4): design approximate seq2seq models for quality constraints.

Per step the Input Analyzer gets more aggressive (StateEffect: the next `per_step` symbols of the sorted
list join the skip list; InputDiff: DiffThres rises by `diff_delta`), the State Minimizer's absThres of
every layer rises by `delta`, the model is retrained for T iterations with both approximations in place,
and the BLEU drop on the validation split is measured.

Threshold direction. The printed algorithm starts absThres at max|C| and lowers it by delta; under
eq. 5.2 a threshold of max|C| already drops nearly every unit, and lowering it makes the model *less*
approximate over time, which contradicts the text ("successively ... until the quality drops"). We follow
the evident intent: absThres starts at 0 (nothing dropped, the exact model) and rises by delta, so each
step is more approximate than the last. The loop stops when the drop reaches the loosest constraint; the
model returned for a constraint Q is the last step whose drop is still below Q (the printed loop would
return the first model that violated it).

The trajectory is the same for every constraint until it stops, so one run serves <1, <3 and <6 BLEU:
each level is a prefix. Every step's model and record are written atomically, and a rerun resumes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, asdict
from pathlib import Path

import numpy as np

from .approx import InputAnalyzer, StateMinimizer, input_diff_keep, sorted_symbols, state_effect
from .data import SPECIALS, Dataset
from .engine import Weights


MODES = ("dts", "dsr", "both")


@dataclass
class Step:
    """One iteration of Algorithm 1."""
    step: int
    skip: list[str]
    diff_thres: float
    dsr_thres: list[float]
    bleu: float
    drop: float
    model: str


def source_ids(w: Weights, sources: list) -> list:
    """Token lists -> id lists (frames unchanged)."""
    if w.frames:
        return sources
    index = {s: i for i, s in enumerate(w.src_vocab)}
    unk = index["<unk>"]
    return [[index.get(t, unk) for t in s] for s in sources]


def effect_table(w: Weights, data: Dataset) -> list[tuple[str, float]]:
    """(symbol, StateEffect) in increasing order of effect, over the training split (lines 1-3)."""
    effect = state_effect(w, source_ids(w, data.sources("train")))
    protected = {w.src_vocab.index(s) for s in SPECIALS}
    return [(w.src_vocab[s], effect[s]) for s in sorted_symbols(effect, protected)]


def approximations(w: Weights, step: Step) -> tuple[InputAnalyzer, StateMinimizer]:
    index = {s: i for i, s in enumerate(w.src_vocab)}
    ia = InputAnalyzer(frozenset(index[s] for s in step.skip if s in index), step.diff_thres)
    return ia, StateMinimizer(list(step.dsr_thres), "abs")


def validation_bleu(w: Weights, data: Dataset, ia=None, sm=None, split: str = "valid", n: int = 300,
                    batch: int = 1) -> float:
    """BLEU on the first n pairs of a split, at the batch size used in deployment (DSR's union depends on it)."""
    from .evaluate import bleu, run_split
    pairs = data.splits[split][:n]
    hyps, _ = run_split(w, source_ids(w, [s for s, _ in pairs]), ia, sm, batch=batch)
    return bleu(hyps, [t for _, t in pairs])


def _compact(pairs: list, step: Step) -> list:
    if step.diff_thres > 0:
        return [(input_diff_keep(s, step.diff_thres), t) for s, t in pairs]
    skip = set(step.skip)
    return [([x for x in s if x not in skip], t) for s, t in pairs] if skip else pairs


def _mask_fn(sm: StateMinimizer):
    import torch
    if not sm.active:
        return None
    return lambda h, c: [torch.from_numpy(m.astype(np.float32)) for m in sm.masks(list(h.numpy()), list(c.numpy()))]


def run(base: Weights, data: Dataset, out: Path, mode: str = "both", constraints=(1.0, 3.0, 6.0),
        iters: int = 40, delta: float = 0.04, diff_delta: float = 0.01, per_step: int = 2,
        max_steps: int = 16, lr: float = 1e-3, n_valid: int = 300, batch: int = 1) -> list[Step]:
    """Run Algorithm 1 in `mode` ('dts', 'dsr' or 'both'); records go to out/steps.json.

    Quality is BLEU on the first `n_valid` validation pairs. A record measured with another n_valid
    (records without one used 300) keeps its models, which do not depend on it, and is measured again."""
    from sw_models.empir.store import load_json, save_json
    from tqdm import tqdm
    from . import onnx_model
    from .model import train
    if mode not in MODES:
        raise ValueError(f"--mode: one of {', '.join(MODES)}, got {mode!r}")
    if not (0 < delta <= 1 and 0 < diff_delta <= 1 and iters >= 0 and per_step >= 1):
        raise ValueError("Algorithm 1: need 0 < delta <= 1, 0 < diff_delta <= 1, iters >= 0, per_step >= 1")
    out.mkdir(parents=True, exist_ok=True)
    record = out / "steps.json"
    base_bleu = validation_bleu(base, data, n=n_valid, batch=batch)
    raw = load_json(record) if record.is_file() else {}
    steps = [Step(**s) for s in raw.get("steps", [])]
    if steps and raw.get("n_valid", 300) != n_valid:        # measured on another number of validation
        for s in steps:                                     # pairs: the same models, measured again
            ws = onnx_model.load(out / s.model)
            s.bleu = validation_bleu(ws, data, *approximations(ws, s), n=n_valid, batch=batch)
            s.drop = round(base_bleu - s.bleu, 4)
        stop = next((i for i, s in enumerate(steps) if s.drop >= max(constraints)), len(steps) - 1)
        steps = steps[:stop + 1]                            # where the loop would have stopped
        save_json(record, {"mode": mode, "base_bleu": base_bleu, "n_valid": n_valid,
                           "steps": [asdict(s) for s in steps]})
    sorted_syms = [] if base.frames else [s for s, _ in effect_table(base, data)]
    dts, dsr = mode in ("dts", "both"), mode in ("dsr", "both")
    layers = len(base.dec)
    w = onnx_model.load(out / steps[-1].model) if steps else base
    bar = tqdm(total=max_steps, initial=len(steps), desc=f"Algorithm 1 ({mode})", leave=False)
    while len(steps) < max_steps and (not steps or steps[-1].drop < max(constraints)):
        k = len(steps) + 1
        prev = steps[-1] if steps else Step(0, [], 0.0, [0.0] * layers, base_bleu, 0.0, "")
        step = Step(k, sorted_syms[:k * per_step] if dts else [],
                    round(prev.diff_thres + diff_delta, 6) if dts and base.frames else 0.0,
                    [round(min(1.0, t + delta), 6) for t in prev.dsr_thres] if dsr else [0.0] * layers,
                    0.0, 0.0, f"step{k}.onnx")
        if dts and not base.frames and len(step.skip) == len(prev.skip) and not dsr:
            break                                              # nothing left to skip
        ia, sm = approximations(w, step)
        model = onnx_model.to_torch(w)
        train(model, _compact(data.splits["train"], step), iters, lr=lr, seed=k, mask_fn=_mask_fn(sm),
              desc=f"retrain step {k}")
        w = onnx_model.from_torch(model)
        step.bleu = validation_bleu(w, data, ia, sm, n=n_valid, batch=batch)
        step.drop = round(base_bleu - step.bleu, 4)
        onnx_model.save(w, out / step.model)
        steps.append(step)
        save_json(record, {"mode": mode, "base_bleu": base_bleu, "n_valid": n_valid,
                           "steps": [asdict(s) for s in steps]})
        bar.update(1)
        bar.set_postfix(drop=f"{step.drop:.2f}", refresh=False)
    bar.close()
    return steps


def levels(steps: list[Step], constraints=(1.0, 3.0, 6.0)) -> dict[str, Step | None]:
    """For each constraint Q, the last step with drop < Q (None when even step 1 violates it)."""
    chosen: dict[str, Step | None] = {}
    for q in constraints:
        last = None
        for s in steps:                                    # a prefix: stop at the first violation
            if s.drop >= q:
                break
            last = s
        chosen[f"<{q:g}"] = last
    return chosen


def load_steps(path: Path) -> list[Step]:
    raw = json.loads(Path(path).read_text())
    return [Step(**s) for s in raw["steps"]]
