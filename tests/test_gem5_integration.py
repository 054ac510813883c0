"""`axsim gem5` against a real gem5 (issue 16), compared with sparce_sim on the same ELFs.

Runs only when $GEM5 (a gem5.opt/gem5.fast binary) or $GEM5_ROOT (a gem5 tree with build/ARM/gem5.opt
or gem5.fast) names a gem5 v24.0.0.1 built with isa_ext/gem5 applied; skipped with a message otherwise.
Each kernel runs once with SPARCE off and once on (default shapes, 50% sparsity, seed 0), about 10 s
of gem5 in all.

What must hold:
- both simulators produce the numpy reference bit for bit;
- with SPARCE off, gem5 and sparce_sim commit the same number of instructions (same ELF);
- instruction accounting with SPARCE on: committed + skipped + nullified = committed with SPARCE off +
  the SASA set-up instructions, in gem5 as in sparce_sim;
- SASA hits at committed precedingPCs are the same in both (the same program path);
- on gem5, SPARCE skips regions, resolves skippable regions true, and makes dirconv and sgemm faster
  (normalized time < 1).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.stats_parser import last_dump, parse_stats

ROOT = Path(__file__).resolve().parents[1]
KERNELS = ("dot", "dirconv", "sgemm")


def _gem5() -> str | None:
    from sparce_jobs.gem5_backend import find_gem5
    if not (os.environ.get("GEM5") or os.environ.get("GEM5_ROOT")):
        return None
    return str(find_gem5(None))


pytestmark = pytest.mark.skipif(
    not (os.environ.get("GEM5") or os.environ.get("GEM5_ROOT")),
    reason="set GEM5 to a gem5 binary (or GEM5_ROOT to a gem5 tree) built with isa_ext/gem5 to run the "
           "gem5 integration tests")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(kernel, 'on'|'off') -> {'gem5': stats, 'ss': stats, 'gem5_exact': bool, 'ss_exact': bool}"""
    from sparce_jobs.kernel_run import dims_for, make_inputs, reference
    from sparce_sim.runner import simulate
    gem5 = _gem5()
    out = {}
    for kernel in KERNELS:
        for mode in ("off", "on"):
            d = tmp_path_factory.mktemp(f"{kernel}_{mode}")
            r = subprocess.run([sys.executable, "-m", "sparce_jobs.gem5_backend", kernel, "--gem5", gem5,
                                "--sparce", mode, "--sparsity", "0.5", "--out", str(d)],
                               cwd=ROOT, capture_output=True, text=True, timeout=600)
            assert r.returncode in (0, 1), f"axsim gem5 {kernel} --sparce {mode}: {r.stderr[-800:]}"
            meta = json.loads((d / "run.json").read_text())
            ref = reference(kernel, make_inputs(kernel, dims_for(kernel, "small", **meta["dims"]), 0.5, 0))
            ss = simulate(d / f"{kernel}.elf", sparce=mode == "on")
            out[kernel, mode] = {"gem5": last_dump(parse_stats(d / "stats.txt")), "ss": dict(ss.stats),
                                 "gem5_exact": meta["check"]["bit_exact"],
                                 "ss_exact": ss.stdout[:ref.nbytes] == ref.tobytes()}
    return out


def _s(stats: dict, name: str) -> float:
    return stats.get(f"system.cpu.sparce.{name}", 0.0)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("mode", ("off", "on"))
def test_outputs_bit_exact_on_both(runs, kernel, mode):
    r = runs[kernel, mode]
    assert r["gem5_exact"], f"gem5 output of {kernel} (SPARCE {mode}) differs from numpy"
    assert r["ss_exact"], f"sparce_sim output of {kernel} (SPARCE {mode}) differs from numpy"


@pytest.mark.parametrize("kernel", KERNELS)
def test_same_committed_instructions_with_sparce_off(runs, kernel):
    r = runs[kernel, "off"]
    assert r["gem5"]["simInsts"] == r["ss"]["simInsts"]
    assert _s(r["gem5"], "regionsSkipped") == 0


@pytest.mark.parametrize("kernel", KERNELS)
def test_instruction_accounting_with_sparce_on(runs, kernel):
    def total(stats):
        return stats["simInsts"] + _s(stats, "instsSkipped") + _s(stats, "squashedInsts")
    setup_ss = total(runs[kernel, "on"]["ss"]) - runs[kernel, "off"]["ss"]["simInsts"]
    setup_gem5 = total(runs[kernel, "on"]["gem5"]) - runs[kernel, "off"]["gem5"]["simInsts"]
    loads = _s(runs[kernel, "on"]["ss"], "sasaLoads")
    # the SASA-LD sequences (one table for the hand tables; sgemm's compiled table is loaded at
    # every kernel call) and the compiler's split post-index loads: small, and the same on both
    assert 0 < setup_ss < 0.01 * runs[kernel, "off"]["ss"]["simInsts"] and setup_ss >= loads
    assert setup_gem5 == setup_ss


@pytest.mark.parametrize("kernel", KERNELS)
def test_sasa_hits_agree(runs, kernel):
    g, s = runs[kernel, "on"]["gem5"], runs[kernel, "on"]["ss"]
    assert _s(g, "sasaLoads") == _s(s, "sasaLoads") >= 1
    assert _s(g, "sasaHits") == _s(s, "sasaHits")


@pytest.mark.parametrize("kernel", ("dirconv", "sgemm"))
def test_sparce_speeds_up_gem5(runs, kernel):
    on, off = runs[kernel, "on"]["gem5"], runs[kernel, "off"]["gem5"]
    assert _s(on, "regionsSkipped") > 0 and _s(on, "skippableResolvedTrue") > 0
    assert on["system.cpu.numCycles"] < off["system.cpu.numCycles"], \
        f"{kernel}: SPARCE on takes {on['system.cpu.numCycles']:.0f} cycles, off {off['system.cpu.numCycles']:.0f}"
