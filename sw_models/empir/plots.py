"""Figures of chapter 8 from <out>/evaluate.json (matplotlib, Agg backend, written atomically).

  fig8_1_bits.png        clean and adversarial accuracy of individual members vs {weight, activation} bits
  fig8_3_tradeoff.png    clean vs adversarial accuracy: individual members (dots) and EMPIR (diamond)
  fig8_4_confusion.png   confusion matrices of the baseline and EMPIR under FGSM
  fig8_5_vary_mn.png     EMPIR(M, N): clean and FGSM accuracy, eq. 8.2 time and storage overheads
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from atomic_output import save_figure

from .store import load_json


def fig_bits(res: dict, path: Path) -> Path:
    """Fig. 8.1: one bar pair (clean, adversarial) per individual member."""
    import matplotlib.pyplot as plt
    ind = sorted(res["individual"], key=lambda i: (-i["wbits"], -i["abits"], i["name"]))
    labels = [f"{{{i['wbits']},{i['abits']}}}" for i in ind]
    pos = np.arange(len(ind))
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(ind)), 4))
    ax.bar(pos - 0.2, [i["clean"] for i in ind], 0.4, label="unperturbed")
    ax.bar(pos + 0.2, [i["adv"] for i in ind], 0.4, label=f"adversarial ({ind[0]['attack']})")
    ax.set_xticks(pos, labels, rotation=45)
    ax.set_xlabel("{weight, activation} bits")
    ax.set_ylabel("accuracy (%)")
    ax.legend()
    return save_figure(fig, path)


def fig_tradeoff(res: dict, path: Path) -> Path:
    """Fig. 8.3: the clean/adversarial trade-off."""
    import matplotlib.pyplot as plt
    ind = res["individual"]
    attack = ind[0]["attack"]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter([i["clean"] for i in ind], [i["adv"] for i in ind], label="individual models")
    for i in ind:
        ax.annotate(f"{{{i['wbits']},{i['abits']}}}", (i["clean"], i["adv"]), fontsize=7)
    empir = res["table"]["EMPIR"]
    ax.scatter([empir["clean"]], [empir[attack]], marker="D", color="red", s=60, label="EMPIR")
    ax.set_xlabel("unperturbed accuracy (%)")
    ax.set_ylabel(f"adversarial accuracy, {attack} (%)")
    ax.legend()
    return save_figure(fig, path)


def confusion(labels, preds, n_classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    m = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(m, (np.asarray(labels), np.asarray(preds)), 1)
    return m


def fig_confusion(res: dict, path: Path) -> Path:
    """Fig. 8.4: baseline vs EMPIR confusion matrices under FGSM."""
    import matplotlib.pyplot as plt
    n = max(res["labels"]) + 1
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, name in zip(axes, ["Baseline FP", "EMPIR"]):
        image = ax.imshow(confusion(res["labels"], res["table"][name]["fgsm_pred"], n), cmap="viridis")
        fig.colorbar(image, ax=ax, label="test images")
        ax.set_title(f"{name} (FGSM)")
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
    return save_figure(fig, path)


def fig_vary_mn(res: dict, path: Path) -> Path:
    """Fig. 8.5: (a) clean, (b) adversarial accuracy, (c) time and (d) storage overheads."""
    import matplotlib.pyplot as plt
    rows = res["vary_mn"]
    labels = [f"{r['m']}FP+{r['n']}LP" for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    for ax, key, title in zip(axes.flat, ["clean", "fgsm", "time", "storage"],
                              ["(a) unperturbed accuracy (%)", "(b) FGSM accuracy (%)",
                               "(c) time overhead (eq. 8.2)", "(d) storage overhead (eq. 8.2)"]):
        ax.bar(labels, [r[key] for r in rows])
        ax.set_title(title)
        ax.tick_params(axis="x", rotation=60, labelsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def make_all(out: str | Path) -> list[Path]:
    """Draw every figure from <out>/evaluate.json into <out>/plots/."""
    out = Path(out)
    res = load_json(out / "evaluate.json")
    plots = out / "plots"
    return [fig_bits(res, plots / "fig8_1_bits.png"), fig_tradeoff(res, plots / "fig8_3_tradeoff.png"),
            fig_confusion(res, plots / "fig8_4_confusion.png"),
            fig_vary_mn(res, plots / "fig8_5_vary_mn.png")]
