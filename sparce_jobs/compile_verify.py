"""`--verify`: the soundness oracle of issue 4 (dissertation §4.1: skipping must not change results).

A compiled kernel is built and run on the engine (sparce_sim) over random sparse inputs, with
SPARCE on and off; the outputs must be bit-identical to each other and to the uncompiled baseline.
Any mismatch is a compiler bug: the report names the input (kernel, shape, sparsity, seed), the
differing output elements and the SASA entries that skipped in that run (precedingPCs read back from
the table in the ELF and matched to the listing's rows).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from isa_ext.encoding import ENTRY_BYTES, decode_table
from kernels.build import KERNELS, build


@dataclass
class VerifyCase:
    """One verify run (compile --verify here, kernel_verify for OpenBLAS's kernels): SPARCE on and
    off bit-identical, and, when checked, every skip shown redundant."""
    sparsity: float
    seed: int
    identical: bool
    skipped: int
    cycles_on: float
    cycles_off: float
    detail: str = ""
    redundancy: object = None    # redundancy_check.RedundancyReport, None when not checked

    @property
    def redundancy_ok(self) -> bool:
        return self.redundancy is None or self.redundancy.ok

    @property
    def ok(self) -> bool:
        return self.identical and self.redundancy_ok


def kernel_for_source(src: Path) -> str:
    """The kernels.build kernel whose source file is `src` (by file name)."""
    for name, spec in KERNELS.items():
        if Path(src).name in spec.sources:
            return name
    raise ValueError(f"--verify needs a kernel known to kernels.build (one of "
                     f"{', '.join(KERNELS)}); {Path(src).name} is not one of their sources")


def table_pcs(elf: Path) -> list[int]:
    """precedingPCs of every SASA table in the ELF, in table then row order."""
    return [e.preceding_pc for e in table_entries(elf)]


def table_entries(elf: Path) -> list:
    """Every SASA table row in the ELF (isa_ext.encoding.SasaEntry), in table then row order."""
    from sparce_sim.loader import load_elf
    program = load_elf(elf)
    tables = sorted((name, s.addr) for name, s in program.symbols.items()
                    if name.startswith("sasa_table_") and not name.endswith("_entries"))
    entries = []
    for name, addr in tables:
        count = program.absolutes.get(f"{name}_entries", 0)
        raw = program.read(addr, count * ENTRY_BYTES) if count else b""
        entries += decode_table(raw) if raw else []
    return entries


def verify(kernel: str, compiled: Path, listing: dict, dims: dict[str, int],
           sparsities: list[float], seeds: list[int]) -> list[VerifyCase]:
    """Run baseline, compiled+SPARCE off and compiled+SPARCE on for every (sparsity, seed), and the
    dynamic redundancy check (redundancy_check) of every would-be skip."""
    from .redundancy_check import check_elf
    from sparce_jobs.kernel_run import build_params, make_inputs, reference, to_memory
    from sparce_sim.runner import simulate
    spec = KERNELS[kernel]
    params = build_params(kernel, dims)
    base = build(kernel, params, "none")
    src_name = next(s for s in spec.sources if s.endswith(".S") and s != "crt0.S"
                    and Path(listing["source"]).name == s)
    elf = build(kernel, params, "source", replace={src_name: Path(compiled)})
    entries = table_entries(elf)
    pcs = [e.preceding_pc for e in entries]
    cases = []
    for s in sparsities:
        for seed in seeds:
            inputs = make_inputs(kernel, dims, s, seed)
            size = reference(kernel, inputs).size
            mem = {k: to_memory(v) for k, v in inputs.items()}
            want = {spec.output: ((size,), np.float32)}
            r0 = simulate(base, mem, want, sparce=False)
            r_off = simulate(elf, mem, want, sparce=False)
            r_on = simulate(elf, mem, want, sparce=True)
            case = _compare(s, seed, spec.output, r0, r_off, r_on, pcs, listing)
            case.redundancy = check_elf(elf, mem, entries)
            cases.append(case)
    return cases


def _compare(s, seed, out, r0, r_off, r_on, pcs, listing) -> VerifyCase:
    a, b, c = (r.outputs[out].view(np.uint32) for r in (r0, r_off, r_on))
    same = bool(np.array_equal(a, b) and np.array_equal(a, c))
    detail = ""
    if not same:
        bad = np.nonzero((a != c) | (a != b))[0][:8]
        used = [f"entry {pcs.index(pc)} ({_entry_text(listing, pcs.index(pc))}) skipped {n}x"
                for pc, n in sorted(r_on.skips_by_pc.items()) if pc in pcs]
        detail = (f"MISMATCH at sparsity {s}, seed {seed}: output elements {bad.tolist()} differ "
                  f"(baseline {a[bad].view(np.float32).tolist()}, SPARCE on {c[bad].view(np.float32).tolist()}); "
                  f"entries that skipped: {'; '.join(used) or 'none'}")
    # region instructions not executed: never fetched, or fetched and dropped at issue (nullified)
    skipped = int(r_on.stats.get("system.cpu.sparce.instsSkipped", 0)
                  + r_on.stats.get("system.cpu.sparce.squashedInsts", 0))
    return VerifyCase(s, seed, same, skipped, r_on.stats.get("system.cpu.numCycles", 0),
                      r0.stats.get("system.cpu.numCycles", 0), detail)


def _entry_text(listing: dict, k: int) -> str:
    if k >= len(listing["entries"]):
        return "?"
    e = listing["entries"][k]
    return f"skip {e['instsToSkip']} at {e['region_origin']} if {e['condition']['text']}"
