"""Figures of chapter 5 from <bench>/evaluate.json files (matplotlib Agg, written atomically).

fig5_4.png      normalized time (a) and operations (b) vs BLEU drop, DTS / DSR / both, per benchmark
fig5_5.png      encode / decode time and Input Analyzer / State Minimizer overheads, baseline vs AxLSTM
fig5_6_7.png    per-symbol encode and per-output decode time, simple and complex input (first benchmark)
dsr_sweep.png   DSR without retraining: time, operations and output length vs absThres
"""
from __future__ import annotations

from pathlib import Path

from atomic_output import save_figure
from sw_models.figures import pyplot

MODE_STYLE = {"dts": ("DTS", "o-"), "dsr": ("DSR", "s-"), "both": ("AxLSTM (both)", "^-")}




def fig5_4(results: dict[str, dict], path: Path) -> Path:
    plt = pyplot()
    fig, axes = plt.subplots(2, len(results), figsize=(4.2 * len(results), 6.5), squeeze=False)
    for col, (bench, res) in enumerate(results.items()):
        for mode, (label, style) in MODE_STYLE.items():
            pts = sorted((e["bleu_drop"], e["time_ratio"], e["ops_ratio"])
                         for e in res.get("levels", {}).get(mode, {}).values() if e)
            if pts:
                drops, times, ops = zip(*([(0.0, 1.0, 1.0)] + pts))
                axes[0][col].plot(drops, times, style, label=label)
                axes[1][col].plot(drops, ops, style, label=label)
        axes[0][col].set_title(bench)
        axes[0][col].set_ylabel("normalized execution time")
        axes[1][col].set_ylabel("normalized operations")
        axes[1][col].set_xlabel("BLEU drop")
        axes[0][col].legend(fontsize=8)
    return save_figure(fig, path)


def fig5_5(results: dict[str, dict], path: Path) -> Path:
    """Per benchmark, the tightest 'both' level that exists (<1, else <3, else <6)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.9 * 2 * len(results) + 1, 4))
    names, parts = [], {"encode": [], "decode": [], "IA overhead": [], "SM overhead": []}
    for bench, res in results.items():
        levels = res.get("levels", {}).get("both", {})
        level = next((q for q in ("<1", "<3", "<6") if levels.get(q)), None)
        if level is None:
            continue
        entry = levels[level]
        b, a = entry["baseline"], entry["approx"]
        norm = b["time_s"]
        for tag, r in (("base", b), (f"AxLSTM {level}", a)):
            names.append(f"{bench}\n{tag}")
            parts["encode"].append(r["t_enc"] / norm)
            parts["decode"].append(r["t_dec"] / norm)
            parts["IA overhead"].append(r["t_ia"] / norm)
            parts["SM overhead"].append(r["t_sm"] / norm)
    bottom = [0.0] * len(names)
    for label, vals in parts.items():
        ax.bar(names, vals, bottom=bottom, label=label)
        bottom = [x + y for x, y in zip(bottom, vals)]
    ax.set_ylabel("time / baseline time")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def fig5_6_7(examples: dict, path: Path, bench: str) -> Path:
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5))
    for row, name in enumerate(("simple", "complex")):
        ex = examples.get(name)
        if not ex:
            continue
        base = max(ex["baseline_enc_steps"]) or 1.0
        xs = range(len(ex["baseline_enc_steps"]))
        axes[row][0].plot(xs, [t / base for t in ex["baseline_enc_steps"]], "o-", label="LSTM")
        axes[row][0].plot(xs, [t / base for t in ex["approx_enc_steps"]], "s-", label="AxLSTM")
        if len(ex["source"]) <= 30:
            axes[row][0].set_xticks(list(xs))
            axes[row][0].set_xticklabels(ex["source"], rotation=70, fontsize=7)
        axes[row][0].set_title(f"{bench} {name}: encode time per input symbol")
        dbase = max(ex["baseline_dec_steps"]) or 1.0
        axes[row][1].plot([t / dbase for t in ex["baseline_dec_steps"]], "o-", label="LSTM")
        axes[row][1].plot([t / dbase for t in ex["approx_dec_steps"]], "s-", label="AxLSTM")
        axes[row][1].set_title("decode time per output symbol\n"
                               f"base: {' '.join(ex['baseline_output'])[:60]}\n"
                               f"ax:   {' '.join(ex['approx_output'])[:60]}", fontsize=8)
        axes[row][0].legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def dsr_sweep(results: dict[str, dict], path: Path) -> Path:
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for bench, res in results.items():
        rows = res.get("dsr_sweep", [])
        if not rows:
            continue
        o0 = rows[0]["ops"]
        th = [r["thres"] for r in rows]
        axes[0].plot(th, [r["time_ratio"] for r in rows], "o-", label=bench)
        axes[1].plot(th, [r["ops"] / o0 for r in rows], "o-", label=bench)
        axes[2].plot(th, [r["out_len"] for r in rows], "o-", label=bench)
    for ax, label in zip(axes, ("time / interleaved baseline", "normalized operations", "mean output length")):
        ax.set_xlabel("absThres (no retraining)")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_all(results: dict[str, dict], out: Path) -> list[Path]:
    """All figures for the benchmarks in `results` (bench -> evaluate.json content)."""
    files = [fig5_4(results, out / "fig5_4.png"), fig5_5(results, out / "fig5_5.png"),
             dsr_sweep(results, out / "dsr_sweep.png")]
    for bench, res in results.items():
        if res.get("examples"):
            files.append(fig5_6_7(res["examples"], out / f"fig5_6_7_{bench}.png", bench))
    return files
