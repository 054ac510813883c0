"""Quality, time and operations of AxLSTM models (dissertation section 5.3, Figs. 5.4-5.7).

Baseline and approximate models run in the same process, interleaved, on the same test split; each
run's time is the minimum over `repeats` runs, so the ratio is measured in one run. BLEU is sacrebleu's
corpus BLEU. numpy/BLAS are held to one thread so timings are stable on a shared machine.
"""
from __future__ import annotations

import time

import numpy as np

from .approx import InputAnalyzer, StateMinimizer, infer
from .engine import Stats, Weights


def bleu(hyps: list[list[str]], refs: list[list[str]]) -> float:
    import sacrebleu
    return float(sacrebleu.corpus_bleu([" ".join(h) for h in hyps], [[" ".join(r) for r in refs]]).score)


def run_split(w: Weights, sources: list, ia: InputAnalyzer | None = None, sm: StateMinimizer | None = None,
              batch: int = 32, max_len: int = 50, beam: int = 0) -> tuple[list[list[str]], Stats]:
    """All sources in batches of `batch`; outputs in input order and the summed Stats."""
    total, hyps = Stats(), []
    for start in range(0, len(sources), batch):
        out, stats = infer(w, sources[start:start + batch], ia, sm, max_len, beam)
        hyps += out
        total.add(stats)
        total.kept_units += stats.kept_units
    return hyps, total


def error_kinds(hyps: list[list[str]], refs: list[list[str]]) -> dict[str, int]:
    """Outputs equal to the reference, shorter or longer than it, and substituted tokens in the
    outputs of the right length (which errors an approximation adds)."""
    same_len = [(h, r) for h, r in zip(hyps, refs) if len(h) == len(r)]
    return {"exact": sum(h == r for h, r in zip(hyps, refs)),
            "shorter": sum(len(h) < len(r) for h, r in zip(hyps, refs)),
            "longer": sum(len(h) > len(r) for h, r in zip(hyps, refs)),
            "substituted_tokens": sum(a != b for h, r in same_len for a, b in zip(h, r))}


def _summary(hyps, refs, stats: Stats, seconds: float, n_sources: int, n_symbols: int, w: Weights) -> dict:
    full_units = sum(l.hidden for l in w.dec)
    return {"bleu": round(bleu(hyps, refs), 3), "errors": error_kinds(hyps, refs),
            "time_s": seconds, "ops": stats.ops_enc + stats.ops_dec,
            "ops_enc": stats.ops_enc, "ops_dec": stats.ops_dec, "t_enc": stats.t_enc, "t_dec": stats.t_dec,
            "t_ia": stats.t_ia, "t_sm": stats.t_sm,
            "out_len": float(np.mean([len(h) for h in hyps])),
            "symbols_processed": n_symbols, "sentences": n_sources,
            "kept_state_frac": float(np.mean(stats.kept_units)) / full_units if stats.kept_units else 1.0}


def _timed(configs: list[tuple], sources: list, batch: int, repeats: int, max_len: int, beam: int):
    """Run every config on each batch `repeats` times, interleaved; keep each batch's fastest run.

    Summing per-batch minima shuts out most of the interference of other processes, which on a shared
    machine strikes single runs at random. Returns per config (outputs, Stats, seconds, wall seconds)."""
    from threadpoolctl import threadpool_limits
    results = [([], Stats(), 0.0, 0.0) for _ in configs]
    with threadpool_limits(1):
        for start in range(0, len(sources), batch):
            chunk = sources[start:start + batch]
            best: list = [None] * len(configs)
            for _ in range(repeats):
                for k, (w, ia, sm) in enumerate(configs):
                    t0, w0 = time.thread_time(), time.perf_counter()
                    out, stats = infer(w, chunk, ia, sm, max_len, beam)
                    run = (out, stats, time.thread_time() - t0, time.perf_counter() - w0)
                    if best[k] is None or run[2] < best[k][2]:
                        best[k] = run
            for k, (out, stats, sec, wall) in enumerate(best):
                hyps, total, s0, w0 = results[k]
                hyps += out
                total.add(stats)
                total.kept_units += stats.kept_units
                results[k] = (hyps, total, s0 + sec, w0 + wall)
    return results


def measure(w: Weights, sources: list, refs: list, ia=None, sm=None, batch: int = 1, repeats: int = 3,
            max_len: int = 50, beam: int = 0) -> dict:
    """One configuration: outputs, counts and the summed per-batch fastest times."""
    hyps, stats, seconds, wall = _timed([(w, ia, sm)], sources, batch, repeats, max_len, beam)[0]
    kept = sum(len(ia.filter(s)) if ia else len(s) for s in sources)
    return {**_summary(hyps, refs, stats, seconds, len(sources), kept, w), "wall_s": wall}


def compare(base: Weights, ax: Weights, sources: list, refs: list, ia, sm, batch: int = 1,
            repeats: int = 3, beam: int = 0, max_len: int = 50) -> dict:
    """Baseline and approximate model, interleaved batch by batch; ratios approx/baseline."""
    runs = _timed([(base, None, None), (ax, ia, sm)], sources, batch, repeats, max_len, beam)
    kept = sum(len(ia.filter(s)) if ia else len(s) for s in sources)
    b = {**_summary(runs[0][0], refs, runs[0][1], runs[0][2], len(sources),
                    sum(len(s) for s in sources), base), "wall_s": runs[0][3]}
    a = {**_summary(runs[1][0], refs, runs[1][1], runs[1][2], len(sources), kept, ax), "wall_s": runs[1][3]}
    return {"baseline": b, "approx": a, "time_ratio": a["time_s"] / b["time_s"],
            "wall_ratio": a["wall_s"] / b["wall_s"],
            "speedup": b["time_s"] / a["time_s"], "ops_ratio": a["ops"] / b["ops"],
            "bleu_drop": round(b["bleu"] - a["bleu"], 3),
            "skipped_frac": 1 - a["symbols_processed"] / b["symbols_processed"]}


def per_step_example(base: Weights, ax: Weights, source, ref, ia, sm, repeats: int = 5) -> dict:
    """Figs. 5.6/5.7: time of every encoder step (0 for a skipped symbol) and decoder step, batch 1."""
    from threadpoolctl import threadpool_limits

    def timed(w, ia_, sm_):
        runs = []
        with threadpool_limits(1):
            for _ in range(repeats):
                out, stats = infer(w, [source], ia_, sm_)
                runs.append((out[0], stats))
        out = runs[0][0]
        enc = np.min([r[1].enc_steps for r in runs], axis=0).tolist()
        dec = np.min([r[1].dec_steps for r in runs], axis=0).tolist()
        return out, enc, dec, float(np.min([r[1].t_ia for r in runs])), float(np.min([r[1].t_sm for r in runs]))

    b_out, b_enc, b_dec, _, _ = timed(base, None, None)
    a_out, a_enc, a_dec, t_ia, t_sm = timed(ax, ia, sm)
    kept = ia.filter(source) if ia else source
    mask = _kept_mask(source, kept)
    enc_full = [0.0] * len(mask)
    it = iter(a_enc)
    for i, k in enumerate(mask):
        enc_full[i] = next(it) if k else 0.0
    return {"source": _show(base, source), "skipped": [not k for k in mask], "reference": ref,
            "baseline_output": b_out, "approx_output": a_out,
            "baseline_enc_steps": b_enc, "approx_enc_steps": enc_full,
            "baseline_dec_steps": b_dec, "approx_dec_steps": a_dec, "t_ia": t_ia, "t_sm": t_sm}


def _kept_mask(source, kept) -> list[bool]:
    if isinstance(source, np.ndarray):
        mask, j = [], 0
        for frame in source:
            hit = j < len(kept) and np.array_equal(frame, kept[j])
            mask.append(hit)
            j += hit
        return mask
    kept_set = set(source) - set(kept)
    return [s not in kept_set for s in source]


def _show(w: Weights, source) -> list[str]:
    if w.frames:
        return [f"frame{t}" for t in range(len(source))]
    return [w.src_vocab[i] for i in source]


def dsr_sweep(w: Weights, sources: list, refs: list, thresholds: list[float], batch: int = 1,
              repeats: int = 3) -> list[dict]:
    """absThres on the baseline model without retraining: BLEU, operations and output length, and time
    as a ratio to the baseline run interleaved with it (each threshold is timed at a different moment,
    and on a shared machine the load between moments differs more than the effect)."""
    rows = []
    for t in thresholds:
        r = compare(w, w, sources, refs, None, StateMinimizer([t]), batch, repeats)
        a, b = r["approx"], r["baseline"]
        rows.append({"thres": t, **{k: a[k] for k in ("bleu", "time_s", "ops", "ops_dec", "t_dec", "t_sm",
                                                      "out_len", "kept_state_frac")},
                     "time_ratio": r["time_ratio"], "dec_ratio": a["t_dec"] / b["t_dec"],
                     "base_time_s": b["time_s"], "base_t_dec": b["t_dec"]})
    return rows
