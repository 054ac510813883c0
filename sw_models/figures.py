"""Figures of the software models (chapters 5-8): one way to draw and save them.

`pyplot()` gives matplotlib's pyplot on the Agg backend (no screen needed); `save_figure` writes a
figure atomically as a 300-dpi PNG at `path` and a vector PDF beside it (the form a paper takes),
then closes it. Imports nothing heavy, so plotting needs no torch.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path: str | Path) -> Path:
    """Write `fig` to `path` (PNG, 300 dpi) and to `path` with .pdf, each atomically; close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for target, options in ((path, {"dpi": 300, "format": "png"}), (path.with_suffix(".pdf"), {"format": "pdf"})):
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        try:
            fig.savefig(tmp, bbox_inches="tight", **options)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    pyplot().close(fig)
    return path
