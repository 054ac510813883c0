"""Speed and memory of the three encoders on AlexNet's largest FC layer (9216 x 4096), as JSON.

Goal (issue 5): encode in all three formats within 2 minutes and 4 GiB. The layer holds seeded
random weights pruned by magnitude (AGP on random weights would give the same unclustered zeros).
Usage: python benchmarks/compression_speed.py [--sparsity 0.9] [--bits 2] [--rows 9216 --cols 4096]
"""
from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sparsity", type=float, default=0.9)
    ap.add_argument("--bits", type=int, default=2)
    ap.add_argument("--rows", type=int, default=9216)
    ap.add_argument("--cols", type=int, default=4096)
    ap.add_argument("--fc", type=float, default=0.0)
    ap.add_argument("--channels", type=int, default=None,
                    help="fix E so every block goes through the GF(2) solver (default: chosen per layer)")
    ap.add_argument("--verify", action="store_true", help="also decode and compare (not timed in the goal)")
    args = ap.parse_args()
    from sw_models.compression.csc import decode_csc, encode_csc
    from sw_models.compression.csmap import CsmapParams, decode_csmap, encode_csmap
    from sw_models.compression.pruning import prune_one_shot
    from sw_models.compression.quantize import quantize
    from sw_models.compression.smap import decode_smap, encode_smap

    rng = np.random.default_rng(0)
    w = rng.standard_normal((args.cols, args.rows), dtype=np.float32)   # torch Linear layout (out, in)
    t0 = time.perf_counter()
    w = prune_one_shot({"fc6": w}, args.sparsity)["fc6"]
    codes = quantize(w, args.bits).codes.T                              # (M=9216, N=4096)
    prep = time.perf_counter() - t0
    out = {"layer": f"{args.rows}x{args.cols}", "sparsity": args.sparsity, "bits": args.bits,
           "fixed_channels": args.channels, "prepare_s": round(prep, 2)}
    total = 0.0
    for name, fn in [("csc", lambda: encode_csc(codes, args.bits)), ("smap", lambda: encode_smap(codes, args.bits)),
                     ("csmap", lambda: encode_csmap(codes, args.bits, CsmapParams(fc=args.fc, channels=args.channels), where="fc6"))]:
        t = time.perf_counter()
        enc = fn()
        dt = time.perf_counter() - t
        total += dt
        rec = {"encode_s": round(dt, 2), "total_bits": enc.total_bits,
               "ratio": codes.size * args.bits / enc.total_bits}
        if name == "csmap":
            rec.update(sm_ratio=enc.sm_ratio, **enc.stats, spurious=enc.spurious, spurious_plain=enc.spurious_plain)
        if args.verify:
            dec = {"csc": decode_csc, "smap": decode_smap, "csmap": decode_csmap}[name]
            rec["lossless"] = bool(np.array_equal(dec(enc), codes))
        out[name] = rec
        del enc
    out["encode_all_s"] = round(total, 2)
    out["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20, 3)
    out["goal_met"] = total <= 120 and out["peak_rss_gib"] <= 4
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
