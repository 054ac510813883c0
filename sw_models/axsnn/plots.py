"""Figures of chapter 6 (§6.4): Fig. 6.4 (iso-accuracy benefits), Fig. 6.5 (energy vs accuracy),
Fig. 6.6 (levels per neuron per step, easy vs hard input). Matplotlib (Agg), written atomically."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from atomic_output import save_figure
from sw_models.figures import pyplot




def fig6_4(results: dict[str, dict], path: Path) -> Path:
    """Bars per network: spike updates, SNNAP energy and software time improvement at iso (loss 0)."""
    plt = pyplot()
    names = [n for n, r in results.items() if "loss_0" in r["runs"]]
    keys = [("updates_reduction", "spike updates"), ("energy_improvement", "SNNAP energy"),
            ("time_improvement", "software time")]
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(names), 3.2))
    for k, (key, label) in enumerate(keys):
        runs = [results[n]["runs"]["loss_0"] for n in names]
        vals = [r.get(key + "_min", r[key]) for r in runs]  # the interleaved, repeated timing if made
        ax.bar(np.arange(len(names)) + (k - 1) * 0.27, vals, 0.27, label=label)
    ax.axhline(1, color="k", lw=0.6)
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_ylabel("improvement over exact SNN (x)")
    ax.set_title("Fig. 6.4 analog: AxSNN at iso-accuracy (tuning set)")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def fig6_5(results: dict[str, dict], path: Path) -> Path:
    """Normalised SNNAP energy against test accuracy for each searched quality constraint."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    for name, r in results.items():
        runs = sorted(r["runs"].values(), key=lambda v: -v["accuracy"])
        base = r["runs"]["exact"]["snnap_energy_uJ"]
        ax.plot([100 * v["accuracy"] for v in runs], [v["snnap_energy_uJ"] / base for v in runs], "o-", label=name)
    ax.set_xlabel("test accuracy (%)")
    ax.set_ylabel("SNNAP energy / exact SNN")
    ax.set_title("Fig. 6.5 analog: energy vs accuracy")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def fig6_6(trace_path: Path, path: Path) -> Path:
    """Levels (colour = alpha, white = alpha 0, grey = stopped) of every neuron per step, easy vs hard."""
    plt = pyplot()
    with np.load(trace_path) as f:
        data, levels = {k: f[k] for k in f.files}, f["levels"]
    fig, axes = plt.subplots(2, 2, figsize=(9, 6), gridspec_kw={"width_ratios": [4, 1]})
    for row, tag in enumerate(("easy", "hard")):
        layers = sorted(k for k in data if k.startswith(f"{tag}_layer"))
        alpha = [np.ma.masked_less(np.where(data[k] < 0, -1.0, levels[np.clip(data[k], 0, None)]), 0)
                 for k in layers]
        i, label, pred, stop = data[f"{tag}_info"]
        cmap = plt.get_cmap("Reds").with_extremes(bad="0.8")  # grey: the input has terminated
        for col, mat in enumerate((np.ma.concatenate(alpha, axis=1), alpha[-1])):
            ax = axes[row, col]
            image = ax.imshow(mat.T, aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
            fig.colorbar(image, ax=ax, label="alpha (firing-rate level)")
            ax.set_xlabel("time step")
            ax.set_ylabel("neuron" if col == 0 else "output neuron (class)")
        axes[row, 0].set_title(f"{tag} input #{i} (label {label}): all neurons, stops at step {stop}")
        axes[row, 1].set_title(f"outputs, class {pred}")
    fig.tight_layout()
    return save_figure(fig, path)


def make_all(out_dirs: list[Path], fig_dir: Path) -> list[Path]:
    """Every figure the given run directories have data for."""
    from sw_models.empir.store import load_json
    results = {Path(d).name: load_json(Path(d) / "results.json") for d in out_dirs
               if (Path(d) / "results.json").exists()}
    if not results:
        raise FileNotFoundError("no results.json in the given directories (run `axsim snn evaluate` first)")
    made = [fig6_4(results, fig_dir / "fig6_4.png"), fig6_5(results, fig_dir / "fig6_5.png")]
    for d in out_dirs:
        if (Path(d) / "trace.npz").exists():
            made.append(fig6_6(Path(d) / "trace.npz", fig_dir / f"fig6_6_{Path(d).name}.png"))
    return made
