"""The EMPIR attack matrix (sw_models/empir/matrix.py) on a given ensemble: trains only its members
(resumable, same training as the table benchmark), then prints JSON with the matrix, the members'
input-gradient norms and §8.1.2's averaging vs voting, and writes it atomically to --result.

Run: python benchmarks/empir_attack_matrix.py --data digits --members 32:32:0,2:2:2,2:4:1 \\
         --out runs/empir_digits --n 100 --result benchmarks/results/empir_digits_matrix.json
(--members: wbits:abits:seed per member, the first full precision; digits' defaults are the
issue-6 search's pick.)
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from atomic_output import write_text  # noqa: E402
from empir_digits_table import mechanism_studies  # noqa: E402
from sw_models.empir import pipeline  # noqa: E402


def _members(text: str) -> list[tuple[int, int, int]]:
    try:
        out = [tuple(int(v) for v in m.split(":")) for m in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--members: expected wbits:abits:seed,..., got {text!r}")
    if not out or any(len(m) != 3 for m in out):
        raise argparse.ArgumentTypeError(f"--members: expected wbits:abits:seed,..., got {text!r}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="digits", choices=["digits", "mnist"])
    ap.add_argument("--members", type=_members, default=_members("32:32:0,2:2:2,2:4:1"))
    ap.add_argument("--out", type=Path, default=Path("runs/empir_digits"))
    ap.add_argument("--n", type=int, default=100, help="attacked test images")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--result", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    t0 = time.time()
    arch, *data = pipeline.load_data(args.data)
    records = [pipeline.train_all(args.out, data, arch, [(w, a)], [s], "none", args.epochs, log=log)[0]
               for w, a, s in args.members]
    params = pipeline.default_params(arch)
    studies = mechanism_studies(args.out, records, data[2], data[3], params, args.n, log)
    text = json.dumps({"benchmark": "empir_attack_matrix", "data": args.data,
                       "members": {r["name"]: round(100 * r["clean_acc"], 2) for r in records},
                       "params": params.__dict__, **studies, "seconds": round(time.time() - t0, 1)}, indent=1)
    if args.result:
        write_text(args.result, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
