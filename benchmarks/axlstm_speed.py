"""AxLSTM (chapter 5) on the three offline benchmarks: wall-clock, operations and BLEU per quality level.

Run:  python benchmarks/axlstm_speed.py [--work out/axlstm] [--benches nmt1 nmt2 s2vt s2vt_scenes] [--n-test 400]

For each benchmark it trains the baseline, runs Algorithm 1 (DTS, DSR, both) and evaluates, reusing
whatever `--work/<bench>` already holds (the same jobs as `axsim lstm train|analyze|evaluate`). Baseline
and approximate models are timed in the same process, interleaved, minimum of `--repeats` runs, batch 1,
one thread. Prints JSON and writes it atomically to benchmarks/results/axlstm_speed.json, with the
figures in benchmarks/results/axlstm_figs/.

The three stand-ins for Table 5.1 are nmt1, nmt2 and s2vt_scenes (captions of what a clip shows).
s2vt (captions that also depend on how long a digit is held) is the first video stand-in, kept as
measured history; the averages beside the paper's are over the three stand-ins (`PAPER_SET`).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAPER = {"time_reduction_pct": {"<1": 13.0, "<3": 19.1, "<6": 23.5},
         "bleu_drop": {"<1": 0.9, "<3": 2.5, "<6": 5.8},
         "ops_reduction_pct": {"<1": 22.2, "<3": 29.8, "<6": 36.29},
         "speedup_minimal_loss": "1.08-1.31x", "overheads_pct": {"encode": 6.4, "decode": 2.08}}

ANALYZE = {"nmt1": dict(per_step=1, delta=0.05, max_steps=12, iters=40),
           "nmt2": dict(per_step=1, delta=0.05, max_steps=10, iters=30),
           "s2vt": dict(diff_delta=0.015, delta=0.1, max_steps=3, iters=1200),
           # per mode. DiffThres rises by 0.03 per step: the scale of the frame features' differences
           # (median 0.013 between noise-only repeats, 0.045 after a drift, >= 0.17 at a scene cut, in 300
           # validation-pool clips), measured before any BLEU; DSR at the recorded s2vt DSR settings.
           # T = 5000: with T = 1200 a step's retraining had not converged (validation drop 3.1, 2.7, 1.6,
           # -0.1, 0.7, -0.2 over DiffThres 0.03..0.18, each step continuing the last; notes/issue12.md).
           # n_valid = 1200, the whole validation split: on 300 clips the same model family's BLEU moved
           # by +-0.7 (baseline retrained without approximations: 92.8, 93.9, 93.5 against 93.2).
           "s2vt_scenes": {"dts": dict(diff_delta=0.03, delta=0.1, max_steps=6, iters=5000, n_valid=1200),
                           "both": dict(diff_delta=0.03, delta=0.1, max_steps=6, iters=5000, n_valid=1200),
                           "dsr": dict(diff_delta=0.03, delta=0.1, max_steps=10, iters=100, lr=3e-4,
                                       n_valid=1200)}}
PAPER_SET = ("nmt1", "nmt2", "s2vt_scenes")
# test pairs per benchmark (default --n-test): s2vt_scenes uses its whole test split, 1200 clips, for
# the same reason as n_valid above (set before any test-split measurement)
N_TEST = {"s2vt_scenes": 1200}
AIM = {"speedup": 1.3, "bleu_drop": 1.0}
# The recorded s2vt DSR-only trajectory (algo_dsr) was run with iters=100, lr=3e-4, max_steps=10 before
# DTS showed that 100-400 retraining iterations could not teach the model single-frame segments; a
# rerun keeps it (resume) and only fills in what is missing.


def _level_row(entry: dict) -> dict:
    b, a = entry["baseline"], entry["approx"]
    return {"step": entry["step"]["step"], "skip": entry["step"]["skip"],
            "diff_thres": entry["step"]["diff_thres"], "abs_thres": entry["step"]["dsr_thres"],
            "baseline_time_s": round(b["time_s"], 4), "approx_time_s": round(a["time_s"], 4),
            "time_ratio": round(entry["time_ratio"], 4), "speedup": round(entry["speedup"], 3),
            "wall_ratio": round(entry["wall_ratio"], 4),
            "baseline_ops": b["ops"], "approx_ops": a["ops"], "ops_ratio": round(entry["ops_ratio"], 4),
            "baseline_bleu": b["bleu"], "approx_bleu": a["bleu"], "bleu_drop": entry["bleu_drop"],
            "skipped_frac": round(entry["skipped_frac"], 4), "kept_state_frac": round(a["kept_state_frac"], 4),
            "overhead_ia_s": round(a["t_ia"], 5), "overhead_sm_s": round(a["t_sm"], 5),
            "baseline_enc_dec_s": [round(b["t_enc"], 4), round(b["t_dec"], 4)],
            "approx_enc_dec_s": [round(a["t_enc"], 4), round(a["t_dec"], 4)],
            "baseline_out_len": round(b["out_len"], 3), "approx_out_len": round(a["out_len"], 3),
            "baseline_errors": b.get("errors"), "approx_errors": a.get("errors")}


def summarize(results: dict[str, dict]) -> dict:
    """Per benchmark, mode and level; plus the 'both' averages beside the paper's."""
    out = {"benchmarks": {}, "average_both": {}, "paper": PAPER}
    for bench, res in results.items():
        out["benchmarks"][bench] = {mode: {q: (_level_row(e) if e else None) for q, e in levels.items()}
                                    for mode, levels in res.get("levels", {}).items()}
        out["benchmarks"][bench]["dsr_sweep_no_retraining"] = res.get("dsr_sweep", [])
    paper_set = {b: v for b, v in out["benchmarks"].items() if b in PAPER_SET}
    out["average_both_over"] = sorted(paper_set)
    for q in ("<1", "<3", "<6"):
        named = [(b, v["both"][q]) for b, v in paper_set.items() if v.get("both", {}).get(q)]
        if named:
            rows = [r for _, r in named]
            mean = lambda k: sum(r[k] for r in rows) / len(rows)  # noqa: E731
            out["average_both"][q] = {"time_reduction_pct": round(100 * (1 - mean("time_ratio")), 2),
                                      "ops_reduction_pct": round(100 * (1 - mean("ops_ratio")), 2),
                                      "bleu_drop": round(mean("bleu_drop"), 3),
                                      "speedups": {b: r["speedup"] for b, r in named}}
    # the aim, read off the test-split rows (levels are chosen on validation by Algorithm 1)
    out["aim"] = {**AIM, "met_by": [
        {"bench": b, "mode": m, "level": q, "speedup": r["speedup"], "wall_speedup": round(1 / r["wall_ratio"], 3),
         "bleu_drop": r["bleu_drop"]}
        for b, modes in out["benchmarks"].items() for m, levels in modes.items() if m in ("dts", "dsr", "both")
        for q, r in levels.items()
        if r and r["speedup"] >= AIM["speedup"] and r["bleu_drop"] < AIM["bleu_drop"]]}
    return out


def analyze_settings(bench: str, mode: str) -> dict:
    spec = ANALYZE[bench]
    return spec[mode] if mode in spec else spec


def main() -> int:
    from sw_models.axlstm import pipeline
    from sw_models.axlstm.plots import plot_all
    from sw_models.empir.store import save_json
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "axlstm")
    ap.add_argument("--benches", nargs="+", default=["nmt1", "nmt2", "s2vt", "s2vt_scenes"])
    ap.add_argument("--n-test", type=int, default=None, help="test pairs (default 400; N_TEST)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()
    pipeline.single_thread()
    results, seconds = {}, {}
    for bench in args.benches:
        t0 = time.time()
        out = args.work / bench
        pipeline.train(out, bench)
        for mode in ("dts", "dsr", "both"):
            pipeline.analyze(out, (mode,), **analyze_settings(bench, mode))
        results[bench] = pipeline.evaluate(out, n_test=args.n_test or N_TEST.get(bench, 400), batch=1,
                                           repeats=args.repeats)
        seconds[bench] = round(time.time() - t0, 1)
    summary = summarize(results)
    summary["seconds_this_run"] = seconds
    summary["settings"] = {"batch": 1, "repeats": args.repeats, "threads": 1,
                           "n_test": {b: r["settings"]["n_test"] for b, r in results.items()},
                           "shapes": {b: pipeline.BENCH_SHAPES[b] for b in args.benches},
                           "analyze": {b: {m: analyze_settings(b, m) for m in ("dts", "dsr", "both")}
                                       for b in args.benches}}
    save_json(args.results / "axlstm_speed.json", summary)
    plot_all(results, args.results / "axlstm_figs")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
