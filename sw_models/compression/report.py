"""Result tables and plots: the analogs of Fig. 7.3 (ratio heat map), Fig. 7.4 (storage breakdown of
locations vs values) and Fig. 7.5 (best format per layer), plus the hybrid gains of §7.3.3.

Every file is written atomically through atomic_output (temp file in the same directory, then
os.replace). The figures are 110-dpi PNGs only.
"""
from __future__ import annotations

from pathlib import Path

from atomic_output import save_figure, write_csv


def plot_heatmap(network_rows: list[dict], path: Path, title: str) -> None:
    """Fig. 7.3: rows = format x precision, columns = sparsity, colour = ratio (red < 1 < green)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm
    import numpy as np
    sps = sorted({r["sparsity"] for r in network_rows})
    keys = sorted({(r["format"], r["bits"]) for r in network_rows})
    grid = np.full((len(keys), len(sps)), np.nan)
    for r in network_rows:
        grid[keys.index((r["format"], r["bits"])), sps.index(r["sparsity"])] = r["ratio"]
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(sps), 0.9 + 0.35 * len(keys)))
    hi = max(float(np.nanmax(grid)), 1.01)
    norm = TwoSlopeNorm(vmin=min(float(np.nanmin(grid)), 0.99), vcenter=1.0, vmax=hi)
    image = ax.imshow(grid, cmap="RdYlGn", norm=norm, aspect="auto")
    fig.colorbar(image, ax=ax, label="compression ratio (x, dense = 1)")
    for i in range(len(keys)):
        for j in range(len(sps)):
            ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(sps)), [f"{s:.0%}" for s in sps])
    ax.set_yticks(range(len(keys)), [f"{f} {b}b" for f, b in keys])
    ax.set_xlabel("weight sparsity")
    ax.set_title(title)
    save_figure(fig, path)


def plot_breakdown(network_rows: list[dict], path: Path, title: str) -> None:
    """Fig. 7.4: location and value bits, normalised to the dense model of the same precision."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = sorted(network_rows, key=lambda r: (r["format"], r["sparsity"], r["bits"]))
    labels = [f"{r['format']}\n{r['sparsity']:.0%} {r['bits']}b" for r in rows]
    loc = [r["location_bits"] / r["dense_bits"] for r in rows]
    val = [r["value_bits"] / r["dense_bits"] for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(rows)), 3.5))
    ax.bar(range(len(rows)), loc, label="non-zero locations", color="tab:blue")
    ax.bar(range(len(rows)), val, bottom=loc, label="non-zero values", color="tab:orange")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(range(len(rows)), labels, fontsize=6, rotation=90)
    ax.set_ylabel("storage / dense")
    ax.set_title(title)
    ax.legend(fontsize=7)
    save_figure(fig, path)


def plot_best_format(layer_rows: list[dict], path: Path, title: str) -> None:
    """Fig. 7.5: per-layer compression ratio of each format (best marked) at one setting."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    layers = list(dict.fromkeys(r["layer"] for r in layer_rows))
    fmts = sorted({r["format"] for r in layer_rows})
    ratio = {(r["layer"], r["format"]): r["ratio"] for r in layer_rows}
    fig, ax = plt.subplots(figsize=(max(5, 0.7 * len(layers)), 3.5))
    width = 0.8 / len(fmts)
    for k, f in enumerate(fmts):
        ax.bar(np.arange(len(layers)) + k * width, [ratio.get((l, f), 0) for l in layers], width, label=f)
    for i, l in enumerate(layers):
        best = max(fmts, key=lambda f: ratio.get((l, f), 0))
        ax.text(i + fmts.index(best) * width, ratio[(l, best)], "*", ha="center")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(np.arange(len(layers)) + 0.4 - width / 2, layers, rotation=60, fontsize=7, ha="right")
    ax.set_ylabel("compression ratio")
    ax.set_title(title)
    ax.legend(fontsize=7)
    save_figure(fig, path)


def combine_networks(dirs: list[str | Path], out: str | Path) -> Path:
    """Fig. 7.3 across networks: merge the network.csv of several `axsim compress` runs into
    OUT/networks.csv and one heat map (rows: network x format, columns: precision x sparsity)."""
    import csv
    rows = []
    for d in dirs:
        path = Path(d) / "network.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no network.csv (run axsim compress with --out {d} first)")
        with path.open() as fh:
            rows += [{**r, "sparsity": float(r["sparsity"]), "bits": int(r["bits"]), "ratio": float(r["ratio"])}
                     for r in csv.DictReader(fh)]
    out = Path(out)
    write_csv(out / "networks.csv", rows)
    plot_networks_heatmap(rows, out / "ratio_heatmap_networks.png")
    return out / "networks.csv"


def plot_networks_heatmap(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm
    import numpy as np
    cols = sorted({(r["bits"], r["sparsity"]) for r in rows})
    keys = sorted({(r["model"], r["format"]) for r in rows})
    grid = np.full((len(keys), len(cols)), np.nan)
    for r in rows:
        grid[keys.index((r["model"], r["format"])), cols.index((r["bits"], r["sparsity"]))] = r["ratio"]
    fig, ax = plt.subplots(figsize=(1.6 + 0.7 * len(cols), 0.9 + 0.3 * len(keys)))
    norm = TwoSlopeNorm(vmin=min(float(np.nanmin(grid)), 0.99), vcenter=1.0, vmax=max(float(np.nanmax(grid)), 1.01))
    image = ax.imshow(grid, cmap="RdYlGn", norm=norm, aspect="auto")
    fig.colorbar(image, ax=ax, label="compression ratio (x, dense = 1)")
    for i in range(len(keys)):
        for j in range(len(cols)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=6)
    ax.set_xticks(range(len(cols)), [f"{b}b {s:.0%}" for b, s in cols], rotation=60, fontsize=7)
    ax.set_yticks(range(len(keys)), [f"{m} {f}" for m, f in keys], fontsize=7)
    ax.set_title("Network compression ratio (Fig. 7.3 analog)")
    save_figure(fig, path)
