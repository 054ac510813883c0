"""Can DSR win at batch 1 with a wider decoder? A timing-only check, no training, no BLEU.

A random 2-layer decoder of width H (20-word vocabulary, EOS never chosen, so exactly `steps` steps)
is run from a random context in full, and with the State Minimizer's work in place: a random `kept`
fraction of each layer's units is gathered (slice_decoder, the same code as AxLSTM's) and the sliced
decoder is run. Both are timed alternately, CPU time of the thread, median of `reps`.

    python -m sw_models.axlstm.dsr_width [--reps 30] [--json benchmarks/results/axlstm_dsr_width.json]

Prints one JSON line per (H, kept, steps): decoder time with DSR (gather included) / without; --json
also writes them all (atomically).
"""
from __future__ import annotations

import argparse
import json

import numpy as np


def measure(hidden: int, kept: float, steps: int, reps: int = 30, seed: int = 0) -> dict:
    import torch
    from . import onnx_model
    from .engine import clock, decode_greedy, slice_decoder
    from .model import Config, Seq2Seq
    vocab = ["<pad>", "<bos>", "<eos>", "<unk>"] + [f"w{i}" for i in range(16)]
    torch.manual_seed(seed)
    w = onnx_model.from_torch(Seq2Seq(Config(list(vocab), list(vocab), hidden, 2, 64, 0)))
    w.proj_b = w.proj_b.copy()
    w.proj_b[vocab.index("<eos>")] = -1e9
    rng = np.random.default_rng(seed)
    h = [rng.normal(0, 1, (1, hidden)).astype(np.float32) for _ in range(2)]
    c = [a.copy() for a in h]
    full, dsr = [], []
    for _ in range(reps):
        t0 = clock()
        decode_greedy(w, h, c, steps)
        full.append(clock() - t0)
        keep = [np.sort(rng.choice(hidden, int(kept * hidden), replace=False)) for _ in range(2)]
        t0 = clock()
        dw = slice_decoder(w, keep)
        decode_greedy(dw, [a[:, k] for a, k in zip(h, keep)], [a[:, k] for a, k in zip(c, keep)], steps)
        dsr.append(clock() - t0)
    a, b = float(np.median(full)), float(np.median(dsr))
    return {"hidden": hidden, "kept": kept, "steps": steps, "full_us": round(a * 1e6, 1),
            "dsr_us": round(b * 1e6, 1), "ratio": round(b / a, 3)}


def main() -> None:
    from .pipeline import single_thread
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--hidden", type=int, nargs="+", default=[128, 256, 512, 1024])
    ap.add_argument("--json", default=None, help="also write the rows to this file")
    args = ap.parse_args()
    single_thread()
    rows = []
    for hidden in args.hidden:
        for kept in (0.7, 0.5):
            for steps in (5, 10):
                rows.append(measure(hidden, kept, steps, args.reps))
                print(json.dumps(rows[-1]), flush=True)
    if args.json:
        from sw_models.empir.store import save_json
        save_json(args.json, {"what": __doc__.splitlines()[0], "reps": args.reps, "batch": 1,
                              "threads": 1, "rows": rows})


if __name__ == "__main__":
    main()
