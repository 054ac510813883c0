"""SASA compiler benchmarks (issue 4; dissertation §4.2.2, Figs. 4.8, 4.13, 4.14).

1. Compile time of the OpenBLAS-style sgemm kernel (must be < 2 s) and the SASA entries it uses.
2. Instructions skipped per k-step at 50% sparsity (engine stat / number of kernel k-steps).
3. sgemm cycles with SPARCE (compiled table) normalised to the baseline at 0/30/50/70/90% sparsity.
4. Fig. 4.14 operand ordering: activations as the shared (lane-broadcast, B) operand vs as the
   vector (A) operand, for sparse activations only and for sparse activations and weights.
Every SPARCE run is also checked bit-identical to the baseline. Usage:
    python benchmarks/compiler_sgemm.py [--m 64 --n 32 --k 64] [--out benchmarks/results/compiler_sgemm.json]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from kernels.build import KERNEL_DIR, build
from sasa_compiler.api import compile_file
from sparce_jobs.kernel_run import build_params, to_memory
from sparce_sim.runner import simulate

SRC = KERNEL_DIR / "sgemm_kernel_16x4.S"


def compile_sgemm(out_dir: Path, sparse: list[str], repeats: int = 3) -> tuple[Path, dict, float]:
    """Compile with the file's `@sparse pB` (sparse == []) or with exactly the registers `sparse`."""
    out = out_dir / f"sgemm_{'_'.join(sparse) or 'pB'}.S"
    best = 1e9
    for _ in range(repeats):
        t = time.perf_counter()
        res = compile_file(SRC, out, out.with_suffix(".json"), returns="none", sparse=sparse,
                           ignore_annotations=bool(sparse))
        best = min(best, time.perf_counter() - t)
    return out, res.listing, best


def inputs(m: int, n: int, k: int, act_sparsity: float, w_sparsity: float, act_shared: bool, seed: int):
    rng = np.random.default_rng(seed)
    act = rng.uniform(0.1, 2.0, size=(k, n) if act_shared else (m, k)).astype(np.float32)
    w = rng.standard_normal((m, k) if act_shared else (k, n)).astype(np.float32)
    for arr, s in ((act, act_sparsity), (w, w_sparsity)):
        flat = arr.reshape(-1)
        flat[rng.choice(flat.size, int(round(s * flat.size)), replace=False)] = 0.0
    a, b = (w, act) if act_shared else (act, w)
    return {"A": np.asfortranarray(a), "B": np.asfortranarray(b)}


def run_pair(base: Path, elf: Path, ins: dict, m: int, n: int) -> dict:
    mem = {k: to_memory(v) for k, v in ins.items()}
    want = {"C": ((m * n,), np.float32)}
    r0 = simulate(base, mem, want, sparce=False)
    r1 = simulate(elf, mem, want, sparce=True)
    same = bool(np.array_equal(r0.outputs["C"].view(np.uint32), r1.outputs["C"].view(np.uint32)))
    return {"cycles_base": r0.stats["system.cpu.numCycles"], "cycles_sparce": r1.stats["system.cpu.numCycles"],
            "insts_base": r0.stats["simInsts"], "insts_sparce": r1.stats["simInsts"],
            "skipped": r1.stats.get("system.cpu.sparce.instsSkipped", 0), "bit_identical": same}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--m", type=int, default=64)
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/compiler_sgemm.json"))
    args = ap.parse_args()
    m, n, k = args.m, args.n, args.k
    tmp = Path(tempfile.mkdtemp(prefix="axsim-compbench-"))
    out, listing, secs = compile_sgemm(tmp, [])
    out_a, _, _ = compile_sgemm(tmp, ["x1"], 1)          # activations in A (the vector operand)
    out_ab, _, _ = compile_sgemm(tmp, ["x1", "x2"], 1)   # both operands sparse
    params = build_params("sgemm", {"m": m, "n": n, "k": k})
    base = build("sgemm", params, "none")
    elf = build("sgemm", params, "source", replace={SRC.name: out})
    elf_a = build("sgemm", params, "source", replace={SRC.name: out_a})
    elf_ab = build("sgemm", params, "source", replace={SRC.name: out_ab})
    res = {"shape": {"m": m, "n": n, "k": k}, "compile_seconds": round(secs, 3),
           "entries": len(listing["entries"]), "tables": listing["tables"], "dropped": len(listing["dropped"])}
    ksteps = ((m + 15) // 16) * ((n + 3) // 4) * k
    sweep = []
    for s in (0.0, 0.3, 0.5, 0.7, 0.9):
        r = run_pair(base, elf, inputs(m, n, k, s, 0.0, True, 7), m, n)
        r.update(sparsity=s, norm_cycles=r["cycles_sparce"] / r["cycles_base"],
                 norm_insts=r["insts_sparce"] / r["insts_base"], skipped_per_kstep=r["skipped"] / ksteps)
        sweep.append(r)
        print(json.dumps(r))
    res["sweep"] = sweep
    order = []
    for case, ws in (("sparse activations", 0.0), ("sparse activations and weights", 0.7)):
        for shared in (True, False):
            kernel = elf_ab if ws else (elf if shared else elf_a)
            r = run_pair(base, kernel, inputs(m, n, k, 0.5, ws, shared, 11), m, n)
            r.update(case=case, activations=("shared (B, lane-broadcast)" if shared else "vector (A)"),
                     weight_sparsity=ws, act_sparsity=0.5, benefit=1 - r["cycles_sparce"] / r["cycles_base"])
            order.append(r)
            print(json.dumps(r))
    res["operand_ordering"] = order
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    print(json.dumps({k: v for k, v in res.items() if k not in ("sweep", "operand_ordering")}, indent=1))


if __name__ == "__main__":
    main()
