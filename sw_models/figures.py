"""Figures of the software models (chapters 5-8): one way to draw them.

`pyplot()` gives matplotlib's pyplot on the Agg backend (no screen needed). Saving is
atomic_output.save_figure: a 300-dpi PNG at `path` and a vector PDF beside it (the form a paper
takes), each written atomically, then the figure is closed. Imports nothing heavy, so plotting needs
no torch.
"""
from __future__ import annotations


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt
