"""Table 8.3's Baseline FP and EMPIR rows on the FULL held-out set (paper-style attacks, §8.2.2), for a
run directory made by empir_digits_table.py (its members and search.json). Prints JSON and writes it
atomically to --result. The two rows run in two single-thread processes.

Run: python benchmarks/empir_full_heldout.py --out runs/empir_mnist --data mnist \\
         --result benchmarks/results/empir_mnist_full_heldout.json
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from atomic_output import write_text  # noqa: E402


def _row(job) -> dict:
    out, data, names = job
    import torch
    torch.set_num_threads(1)
    from sw_models.empir import pipeline
    from sw_models.empir.evaluate import attack_suite
    from sw_models.empir.search import build_ensemble
    from sw_models.empir.train import load_member
    arch, *d = pipeline.load_data(data)
    pool = {r["name"]: r for r in pipeline.load_pool(Path(out))}
    recs = [pool[n] for n in names]
    target = build_ensemble(recs, "vote") if len(recs) > 1 else load_member(recs[0]["dir"])[0]
    t = time.time()
    res = attack_suite(target, d[2], d[3], pipeline.default_params(arch))
    res.pop("fgsm_pred", None)
    return {"members": names, **res, "seconds": round(time.time() - t, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="run directory of empir_digits_table.py")
    ap.add_argument("--data", default="mnist", choices=["digits", "mnist"])
    ap.add_argument("--result", type=Path)
    args = ap.parse_args()
    from sw_models.empir import pipeline
    from sw_models.empir.store import load_json
    found = load_json(args.out / "search.json")
    base = pipeline.baseline(pipeline.load_pool(args.out))["name"]
    jobs = [(args.out, args.data, [base]), (args.out, args.data, found["best"]["members"])]
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as ex:
        base_row, empir_row = ex.map(_row, jobs)
    text = json.dumps({"benchmark": "empir_full_heldout", "data": args.data,
                       "table": {"Baseline FP": base_row, "EMPIR": empir_row}}, indent=1)
    if args.result:
        write_text(args.result, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
