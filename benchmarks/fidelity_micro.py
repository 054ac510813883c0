"""Micro-benchmarks of MinorCPU's timing, gem5 beside sparce_sim (issue 16's diagnostics).

Each program in benchmarks/results/gem5_reference_micro/src isolates one mechanism of the timing
model in a 2,000-20,000-iteration loop of hand-written AArch64 (inline assembly, built like the
fidelity programs): taken-branch fetch bubbles by loop size, mispredicts, FloatSimd throughput and
dependency chains, load latency and throughput, loads whose address comes from an instruction that
commits behind other loads, post-indexed and NEON structure loads (the folder's README says which
is which). gem5's cycles are stored in gem5.json (gem5.fast v24.0.0.1 + isa_ext/gem5, SE,
gem5_configs/se_sparce.py, SPARCE off, MINOR_DEFAULT); this script builds each program, runs
sparce_sim on it and prints JSON with both cycle counts and the ratio. With --gem5 it runs gem5
too, and --record rewrites gem5.json. These are diagnostics for calibration, not acceptance cases:
benchmarks/fidelity.py holds those.

    python3 benchmarks/fidelity_micro.py [--only NAME,...] [--gem5 BIN [--record]]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fidelity  # noqa: E402
from analysis.stats_parser import last_dump, parse_stats  # noqa: E402
from atomic_output import write_text  # noqa: E402

MICRO = fidelity.RESULTS / "gem5_reference_micro"
KEYS = {"cycles": "system.cpu.numCycles", "insts": "simInsts",
        "cond_mispredicts": "system.cpu.branchPred.condIncorrect",
        "l1i_accesses": "system.cpu.icache.overallAccesses::total"}


def measure(stats: dict) -> dict:
    return {k: stats.get(name, 0.0) for k, name in KEYS.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated program names (default: all)")
    ap.add_argument("--gem5", default=os.environ.get("GEM5"), help="gem5 binary: run gem5 too")
    ap.add_argument("--record", action="store_true", help="with --gem5: rewrite gem5.json")
    args = ap.parse_args(argv)
    stored = json.loads((MICRO / "gem5.json").read_text()) if (MICRO / "gem5.json").is_file() else {}
    only = set(filter(None, args.only.split(",")))
    rows = []
    with tempfile.TemporaryDirectory(prefix="axsim_micro_") as tmp:
        for source in sorted((MICRO / "src").glob("*.c")):
            if only and source.stem not in only:
                continue
            elf = fidelity.build_program(source, Path(tmp) / source.stem)
            ours = measure(fidelity.run_sparce_sim(elf, False)[0])
            row = {"program": source.stem, "sparce_sim": ours}
            if args.gem5:
                live, _, _ = fidelity.run_gem5_live(Path(args.gem5), elf, False, Path(tmp) / f"g_{source.stem}")
                row["gem5"] = measure(live)
                if args.record:
                    stored[source.stem] = {**row["gem5"], "sha256": fidelity.sha256(elf)}
            elif source.stem in stored:
                row["gem5"] = {k: stored[source.stem][k] for k in KEYS}
                row["elf_matches_gem5_run"] = fidelity.sha256(elf) == stored[source.stem]["sha256"]
            if "gem5" in row and row["gem5"]["cycles"]:
                row["cycle_ratio"] = round(ours["cycles"] / row["gem5"]["cycles"], 4)
            print(json.dumps(row), flush=True)
            rows.append(row)
    if args.record and args.gem5:
        write_text(MICRO / "gem5.json", json.dumps(stored, indent=1, sort_keys=True) + "\n")
    ratios = [r["cycle_ratio"] for r in rows if "cycle_ratio" in r]
    within = sum(abs(x - 1) <= 0.10 for x in ratios)
    print(json.dumps({"summary": {"programs": len(rows), "within_10pct": within,
                                  "ratio_range": [min(ratios), max(ratios)] if ratios else None}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
