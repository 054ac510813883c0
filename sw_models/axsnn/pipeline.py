"""The jobs behind `axsim snn` (chapter 6): train + export, convert, simulate, search, plot.

Output directory layout (every file written atomically; a job whose output exists is skipped, so a
rerun resumes where an interrupted one stopped):
    <out>/ann.onnx         the trained ReLU network (or the user's, copied)
    <out>/snn.npz          the converted SNN
    <out>/convert.json     ANN accuracy, normalisation factors, sizes
    <out>/search.json      Algorithm 2: the evaluation cache and the chosen thresholds per constraint
    <out>/results.json     test-set evaluation: exact SNN vs AxSNN at every constraint
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from . import convert as cv
from .data import load
from .snn import SNN, from_layers

DEFAULT_ARCH = {"mnist": "mnist_mlp", "digits": "digits_mlp"}


def _log(msg: str) -> None:
    import sys
    print(msg, file=sys.stderr, flush=True)


def train_and_export(out: Path, data: str, arch: str, epochs: int, log: Callable = _log) -> Path:
    """Train `arch` on `data` and write <out>/ann.onnx (skipped when it exists)."""
    from . import ann
    import torch
    path = out / "ann.onnx"
    if path.exists():
        log(f"{path} exists, not retrained")
        return path
    torch.set_num_threads(2)
    x_tr, y_tr, x_te, y_te = load(data)
    log(f"training {arch} on {data} ({len(x_tr)} images, {epochs} epochs)")
    model = ann.train(arch, x_tr, y_tr, epochs=epochs)
    return ann.export(model, path, x_tr.shape[1:])


def convert(out: Path, data: str, onnx_path: Path | None = None, percentile: float = 99.9,
            n_norm: int = 1000, log: Callable = _log) -> dict:
    """ONNX -> SNN with data-based normalisation; writes snn.npz and convert.json."""
    from sw_models.empir.store import load_json, save_json
    from .ann import onnx_accuracy
    out.mkdir(parents=True, exist_ok=True)
    src = Path(onnx_path) if onnx_path else out / "ann.onnx"
    x_tr, y_tr, x_te, y_te = load(data)
    stages = cv.parse(src, x_tr.shape[1:])  # refuses bad models before anything is written
    if (out / "convert.json").exists() and (out / "snn.npz").exists():
        log(f"{out}/snn.npz exists, not reconverted")
        return load_json(out / "convert.json")
    if onnx_path and Path(onnx_path).resolve() != (out / "ann.onnx").resolve():
        from atomic_output import copy_file
        copy_file(onnx_path, out / "ann.onnx")
    cv.check_against_onnx(stages, src, x_te[:16])
    layers = cv.normalise(stages, x_tr[:n_norm], percentile)
    snn = from_layers(layers, x_tr.shape[1:])
    snn.save(out / "snn.npz")
    info = {"data": data, "sizes": snn.sizes, "synapses": snn.n_synapses, "percentile": percentile,
            "ann_test_accuracy": onnx_accuracy(src, x_te, y_te), "n_test": len(y_te)}
    save_json(out / "convert.json", info)
    log(f"converted: {snn.sizes}, {snn.n_synapses} synapses, ANN test accuracy {info['ann_test_accuracy']:.4f}")
    return info


def load_snn(out: Path) -> SNN:
    return SNN.load(Path(out) / "snn.npz")


def summary(res, y: np.ndarray, energy: dict) -> dict:
    """Totals of a simulation Result: accuracy, updates, time, SNNAP energy, early terminations."""
    return {"accuracy": res.accuracy(y), "updates": int(res.updates.sum()), "checks": int(res.checks.sum()),
            "spikes": int(res.spikes.sum()), "seconds": res.seconds, "snnap_energy_uJ": energy["energy_uJ"],
            "snnap_cycles": energy["cycles"], "early_fraction": float(res.early.mean()),
            "mean_steps": float(res.steps_run.mean()), "n_images": int(len(y))}


def _split(data: str, tune_on: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_tune_pool, y_tune_pool, x_test, y_test). 'train': tune on training images (the paper's
    TrData); 'heldout': tune on the second half of the held-out images, test on the first half."""
    x_tr, y_tr, x_te, y_te = load(data)
    if tune_on == "train":
        return x_tr, y_tr, x_te, y_te
    if tune_on == "heldout":
        half = len(y_te) // 2
        if half < 1:
            raise ValueError(f"dataset {data!r} has too few test images to split")
        return x_te[half:], y_te[half:], x_te[:half], y_te[:half]
    raise ValueError(f"tune_on must be train or heldout, got {tune_on!r}")


def _settings(cfg, n_tune: int, points: int, ratio: float, tune_on: str = "train") -> dict:
    return {"tune_on": tune_on, "steps": cfg.steps, "lam": cfg.lam, "encoding": cfg.encoding, "seed": cfg.seed,
            "levels": list(cfg.levels), "fanin_check": cfg.fanin_check, "n_tune": n_tune,
            "points": points, "ratio": ratio}


def _run(snn: SNN, x: np.ndarray, y: np.ndarray, cfg) -> dict:
    from . import snnap
    from .simulate import simulate
    res = simulate(snn, x, cfg)
    return summary(res, y, snnap.of_result(res))


def search(out: Path, data: str, cfg, losses: list[float], n_tune: int = 100, points: int = 4,
           ratio: float = 2.0, log: Callable = _log, tune_on: str = "train") -> dict:
    """Algorithm 2 for every quality loss (percentage points); resumable through search.json."""
    from dataclasses import replace
    from sw_models.empir.store import load_json, save_json
    from .search import algorithm2, grid
    if any(loss < 0 for loss in losses):
        raise ValueError(f"quality losses must be >= 0, got {losses}")
    snn = load_snn(out)
    cfg.check(snn)
    x_tr, y_tr, _, _ = _split(data, tune_on)
    if n_tune < 1:
        raise ValueError(f"--n-tune must be >= 1, got {n_tune}")
    x, y = x_tr[:n_tune], y_tr[:n_tune]
    settings, path = _settings(cfg, len(y), points, ratio, tune_on), out / "search.json"
    state = load_json(path) if path.exists() else {"settings": settings, "cache": {}, "choices": {}}
    state["settings"].setdefault("tune_on", "train")
    if state["settings"] != settings:
        raise ValueError(f"{path} was made with other settings {state['settings']}; use another --out")
    grids = [grid(m, points, ratio) for m in (s.max() for s in snn.spike_sig())]
    cache = state["cache"]

    def evaluate(notches: tuple[int, ...]) -> tuple[float, float]:
        key = ",".join(map(str, notches))
        if key not in cache:
            thr = tuple(g[k] for g, k in zip(grids, notches))
            run_cfg = replace(cfg, thresholds=thr if any(notches) else None)
            cache[key] = {**_run(snn, x, y, run_cfg), "thresholds": list(thr)}
            save_json(path, state)
            log(f"  {key}: accuracy {cache[key]['accuracy']:.4f}, energy {cache[key]['snnap_energy_uJ']:.4g} uJ")
        return cache[key]["snnap_energy_uJ"], cache[key]["accuracy"]

    q_exact = evaluate((0,) * len(grids))[1]
    for loss in losses:
        name = f"{loss:g}"
        if name in state["choices"]:
            continue
        log(f"Algorithm 2, quality loss {name} points (Q >= {q_exact - loss / 100:.4f})")
        notches, steps = algorithm2(evaluate, len(grids), points + 1, q_exact - loss / 100 - 1e-12, log)
        state["choices"][name] = {"notches": list(notches), "path": steps,
                                  "thresholds": [g[k] for g, k in zip(grids, notches)]}
        save_json(path, state)
    return state


def evaluate(out: Path, data: str, cfg, n_test: int | None = None, log: Callable = _log,
             timing_images: int = 0, timing_repeats: int = 3) -> dict:
    """Test-set runs: the exact SNN and AxSNN at every searched constraint (results.json).

    With timing_images > 0, every configuration is also timed again on that many test images,
    interleaved, timing_repeats times (results["timing"]; time_improvement_min)."""
    from dataclasses import replace
    from sw_models.empir.store import load_json, save_json
    snn = load_snn(out)
    state = load_json(out / "search.json")
    s = state["settings"]
    cfg = replace(cfg, steps=s["steps"], lam=s["lam"], encoding=s["encoding"], seed=s["seed"],
                  levels=tuple(s["levels"]), fanin_check=s["fanin_check"])
    _, _, x_te, y_te = _split(data, s.get("tune_on", "train"))
    if n_test is not None:
        if n_test < 1:
            raise ValueError(f"--n-test must be >= 1, got {n_test}")
        x_te, y_te = x_te[:n_test], y_te[:n_test]
    path = out / "results.json"
    results = load_json(path) if path.exists() else {"settings": s, "n_test": len(y_te), "runs": {}}
    if results["n_test"] != len(y_te) or results["settings"] != s:
        raise ValueError(f"{path} was made with other settings; use another --out")
    todo = [("exact", None)] + [(f"loss_{k}", c["thresholds"]) for k, c in state["choices"].items()]
    for name, thr in todo:
        if name in results["runs"]:
            continue
        log(f"test run {name} on {len(y_te)} images")
        run_cfg = replace(cfg, thresholds=tuple(thr) if thr and any(thr) else None, progress=True)
        results["runs"][name] = {**_run(snn, x_te, y_te, run_cfg), "thresholds": thr}
        save_json(path, results)
    if timing_images and "timing" not in results:
        results["timing"] = _timing(snn, x_te[:timing_images], cfg, todo, timing_repeats, log)
    base = results["runs"]["exact"]
    for name, r in results["runs"].items():
        r["updates_reduction"] = base["updates"] / max(r["updates"], 1)
        r["energy_improvement"] = base["snnap_energy_uJ"] / r["snnap_energy_uJ"]
        r["time_improvement"] = base["seconds"] / r["seconds"]
        r["accuracy_loss_points"] = 100 * (base["accuracy"] - r["accuracy"])
        if "timing" in results:
            t = results["timing"]["min_seconds"]
            r["time_improvement_min"] = t["exact"] / t[name]
    save_json(path, results)
    return results


def _timing(snn: SNN, x: np.ndarray, cfg, todo: list, repeats: int, log: Callable) -> dict:
    """Software time of every configuration on the same images, interleaved and repeated: the
    minimum over repeats is the least disturbed by other work on the machine."""
    from dataclasses import replace
    from .simulate import simulate
    seconds = {name: [] for name, _ in todo}
    for rep in range(repeats):
        log(f"timing round {rep + 1}/{repeats} on {len(x)} images")
        for name, thr in todo:
            run_cfg = replace(cfg, thresholds=tuple(thr) if thr and any(thr) else None, progress=False)
            seconds[name].append(simulate(snn, x, run_cfg).seconds)
    return {"n_images": len(x), "repeats": repeats, "seconds": seconds,
            "min_seconds": {k: min(v) for k, v in seconds.items()}}


def trace(out: Path, data: str, cfg, loss: str = "0", log: Callable = _log) -> Path:
    """Fig. 6.6 data: levels per neuron per step for an easy and a hard test input (trace.npz)."""
    from dataclasses import replace
    from atomic_output import write_with
    from sw_models.empir.store import load_json
    from .simulate import simulate
    snn = load_snn(out)
    state = load_json(out / "search.json")
    s, choice = state["settings"], state["choices"].get(loss)
    if choice is None:
        raise ValueError(f"no Algorithm 2 result for loss {loss!r} in {out}/search.json")
    cfg = replace(cfg, steps=s["steps"], lam=s["lam"], encoding=s["encoding"], seed=s["seed"],
                  levels=tuple(s["levels"]), fanin_check=s["fanin_check"],
                  thresholds=tuple(choice["thresholds"]), trace=False)
    _, _, x_te, y_te = _split(data, s.get("tune_on", "train"))
    x, y = x_te[:200], y_te[:200]
    res = simulate(snn, x, cfg)
    right = np.flatnonzero(res.pred == y)
    pool = right if len(right) else np.arange(len(y))
    easy, hard = pool[res.steps_run[pool].argmin()], pool[res.steps_run[pool].argmax()]
    arrays = {}
    for tag, i in (("easy", easy), ("hard", hard)):
        r = simulate(snn, x[i:i + 1], replace(cfg, trace=True, batch=1), ids=np.array([i]))
        for l, lv in enumerate(r.trace):
            arrays[f"{tag}_layer{l}"] = lv[:, 0, :]
        arrays[f"{tag}_info"] = np.array([i, y[i], r.pred[0], r.steps_run[0]])

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, levels=np.array(cfg.levels), **arrays)
    log(f"easy input {easy} (stops at step {res.steps_run[easy]}), hard input {hard} "
        f"(stops at step {res.steps_run[hard]})")
    return write_with(out / "trace.npz", write)
