"""The stored gem5 results, checked without gem5 (issue 16).

- ../shared/gem5_reference (real gem5 v24.0.0.1 runs of the kernels; CI has shared/ beside the clone):
  the stats parse, the runs were bit-exact, and sparce_sim runs the very ELFs gem5 ran to the numpy
  reference and, with SPARCE off, to the same committed instruction count;
- benchmarks/results/fidelity_gem5 and gem5_reference_extra (gem5 runs made with this repository's
  backend), when stored: the same checks, and SPARCE faster on gem5 for dirconv and sgemm;
- the further C programs of gem5_reference_extra/src build and print on sparce_sim the checksum that
  a Python model of each program computes (and gem5's output, when stored);
- benchmarks/results/fidelity.json holds the numbers of the stored gem5 stats.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from analysis.stats_parser import last_dump, parse_stats

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
KERNEL_RUNS = RESULTS / "fidelity_gem5"
EXTRA = RESULTS / "gem5_reference_extra"
SHARED = Path(os.environ.get("AXSIM_GEM5_REFERENCE", ROOT.parent / "shared" / "gem5_reference"))
CROSS_GCC = os.environ.get("AXSIM_CROSS_GCC", "aarch64-linux-gnu-gcc")
CFLAGS = ["-O2", "-static", "-nostdlib", "-ffreestanding", "-fno-pie", "-no-pie"]

SHARED_DIRS = sorted(p for p in SHARED.glob("*") if (p / "stats.txt").is_file()) if SHARED.is_dir() else []
KERNEL_DIRS = sorted(p for p in KERNEL_RUNS.glob("*") if (p / "run.json").is_file())
EXTRA_DIRS = sorted(p for p in EXTRA.glob("*") if (p / "case.json").is_file())
OPENBLAS_DIRS = sorted(p for p in (RESULTS / "fidelity_openblas").glob("*") if (p / "case.json").is_file())
PROGRAMS = sorted(p.stem for p in (EXTRA / "src").glob("*.c"))
M64 = (1 << 64) - 1


def _stats(d: Path) -> dict[str, float]:
    return last_dump(parse_stats(d / "stats.txt"))


def _ids(d: Path) -> str:
    return f"{d.parent.name}/{d.name}"


# ---------------------------------------------------------------- stored gem5 stats

@pytest.mark.skipif(not SHARED_DIRS, reason=f"no gem5 reference runs at {SHARED}")
def test_shared_reference_is_complete():
    assert {d.name for d in SHARED_DIRS} == {f"{k}-{m}" for k in ("sgemm", "dirconv", "dot") for m in ("on", "off")}


@pytest.mark.parametrize("d", SHARED_DIRS + KERNEL_DIRS + EXTRA_DIRS, ids=_ids)
def test_stored_stats_parse_and_are_whole(d):
    s = _stats(d)
    assert s["simInsts"] > 1000 and s["system.cpu.numCycles"] > s["simInsts"] / 2
    assert s["system.cpu.commitStats0.numInsts"] == s["simInsts"]
    assert s["system.cpu.icache.overallAccesses::total"] > 0
    assert s["system.cpu.dcache.overallAccesses::total"] > 0
    assert s["system.cpu.branchPred.condPredicted"] > 0


@pytest.mark.parametrize("d", SHARED_DIRS + KERNEL_DIRS, ids=_ids)
def test_kernel_runs_were_bit_exact_and_say_their_mode(d):
    meta = json.loads((d / "run.json").read_text())
    assert meta["check"]["bit_exact"] is True
    assert meta["sparsity"] == 0.5 and meta["seed"] == 0
    assert _stats(d).get("system.cpu.sparce.enabled", 0) == (1 if meta["sparce"] else 0)


@pytest.mark.skipif(not KERNEL_DIRS, reason="no gem5 runs of this backend stored in benchmarks/results/fidelity_gem5")
def test_stored_kernel_runs_show_sparce_speedup():
    """The issue's aim for the gem5 backend: at 50% sparsity SPARCE makes dirconv and sgemm faster on
    gem5, with skips and skippable regions resolved true."""
    for kernel in ("dirconv", "sgemm"):
        on, off = _stats(KERNEL_RUNS / f"{kernel}-on"), _stats(KERNEL_RUNS / f"{kernel}-off")
        assert on["system.cpu.numCycles"] < off["system.cpu.numCycles"], kernel
        assert on["system.cpu.sparce.regionsSkipped"] > 0 and on["system.cpu.sparce.skippableResolvedTrue"] > 0


@pytest.mark.parametrize("d", [d for d in SHARED_DIRS if d.name.endswith("-off")], ids=_ids)
def test_sparce_sim_runs_the_elf_gem5_ran(d):
    """Same ELF, same committed instructions (SPARCE off), same output as gem5 and numpy."""
    from sparce_jobs.kernel_run import dims_for, make_inputs, reference
    from sparce_sim.runner import simulate
    meta = json.loads((d / "run.json").read_text())
    (elf,) = d.glob("*.elf")
    r = simulate(elf)
    ref = reference(meta["kernel"], make_inputs(meta["kernel"], dims_for(meta["kernel"], "small", **meta["dims"]),
                                                meta["sparsity"], meta["seed"]))
    assert r.stdout[:ref.nbytes] == ref.tobytes()
    assert r.stats["simInsts"] == _stats(d)["simInsts"]


def test_fidelity_json_holds_the_stored_gem5_numbers():
    data = json.loads((RESULTS / "fidelity.json").read_text())
    by_name = {r["case"]: r for r in data["cases"]}
    compared = [d for d in KERNEL_DIRS if not d.name.endswith("-fetchrule")]   # gem5's other rule: not compared
    stored = [(f"shared/{d.name}", d) for d in SHARED_DIRS] + [(f"kernel/{d.name}", d) for d in compared] + \
        [(f"program/{d.name}", d) for d in EXTRA_DIRS] + [(f"openblas/{d.name}", d) for d in OPENBLAS_DIRS]
    for name, d in stored:
        assert by_name[name]["gem5"]["cycles"] == _stats(d)["system.cpu.numCycles"], name
    for rec in data["cases"]:
        assert rec["ratio"]["cycles"] == pytest.approx(rec["sparce_sim"]["cycles"] / rec["gem5"]["cycles"], abs=1e-4)


# ---------------------------------------------------------------- the further programs

def _expected(program: str) -> int:
    """What each program of gem5_reference_extra/src prints, computed independently in Python."""
    if program == "memstream":
        i = np.arange(0, 1 << 20, 16, dtype=np.uint64)
        a = (i * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)
        return int(a.sum()) & M64
    if program == "pchase":
        slots = 32768
        nxt = list(range(slots))
        x = 12345
        for i in range(slots - 1, 0, -1):
            x = (x * 6364136223846793005 + 1442695040888963407) & M64
            j = ((x >> 33) % i)
            nxt[i], nxt[j] = nxt[j], nxt[i]
        p = s = 0
        for _ in range(40000):
            p = nxt[p]
            s += p
        return s & M64
    if program == "branchy":
        x, acc = 88172645463325252, 0
        for i in range(60000):
            x ^= (x << 13) & M64
            x ^= x >> 7
            x ^= (x << 17) & M64
            if x & 1:
                acc = (acc + (x >> 3)) & M64
            elif x & 2:
                acc ^= x
            else:
                acc = (acc - i) & M64
            if (x >> 8) % 3 == 0:
                acc = (acc * 3 + 1) & M64
        return acc
    if program == "matmul":
        n = 40
        a = [[float((i * 7 + j * 3) % 17) - 8.0 for j in range(n)] for i in range(n)]
        b = [[float((i * 5 + j * 11) % 13) - 6.0 for j in range(n)] for i in range(n)]
        h = 0
        for i in range(n):
            for j in range(n):
                c = int(sum(a[i][k] * b[k][j] for k in range(n)))     # small integers: exact in float32
                h = (h * 31 + (c & M64)) & M64
        return h
    if program == "stores":
        words = 1 << 17
        return sum(i + 3 for i in range(0, words, 1024)) & M64
    raise KeyError(program)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if shutil.which(CROSS_GCC) is None:
        pytest.skip(f"{CROSS_GCC} not installed: cannot build the further programs")
    out = tmp_path_factory.mktemp("extra")
    elfs = {}
    for name in PROGRAMS:
        src = EXTRA / "src" / f"{name}.c"
        subprocess.run([CROSS_GCC, *CFLAGS, "-I", str(src.parent), "-o", str(out / name), str(src)], check=True)
        elfs[name] = out / name
    return elfs


def test_programs_are_there():
    assert set(PROGRAMS) >= {"memstream", "pchase", "branchy", "matmul", "stores"}


@pytest.mark.parametrize("program", PROGRAMS)
def test_program_runs_on_sparce_sim(built, program):
    from sparce_sim.runner import simulate
    r = simulate(built[program])
    assert r.stdout.decode() == f"{_expected(program):016x}\n"
    stored = EXTRA / program
    if (stored / "case.json").is_file():
        meta = json.loads((stored / "case.json").read_text())
        assert meta["output"] == r.stdout.decode()              # gem5 printed the same
        if hashlib.sha256(built[program].read_bytes()).hexdigest() == meta["sha256"]:
            assert r.stats["simInsts"] == _stats(stored)["simInsts"]
