"""The SASA compiler's listing: one JSON row per table entry plus a human-readable report (§4.2.2).

Each row names the original file:line of its region, the instructions skipped, the SpRF condition,
the expected saving under the modelled sparsity, the producer distance against D, the SIMD operand
roles (which operand is the lane-broadcast, shared one: §4.2.1 "Mapping sparse data-structures to
vector processors") and the value assumptions the proof relies on. Rewrites, dropped entries and
warnings are listed too.
"""
from __future__ import annotations

from .cfg import Cfg
from .parse import Reg
from .regions import Region, describe_units, zero_init_regs
from .reorder import distance
from .table import Segment


def simd_roles(cfg: Cfg, r: Region) -> list[str]:
    out = []
    for i in range(r.first, r.last + 1):
        inst = cfg.prog.insts[i]
        regs = [o for o in inst.operands if isinstance(o, Reg)]
        if inst.mnemonic in ("fmla", "fmls", "fmul") and len(regs) == 3 and regs[2].elem:
            out.append(f"{inst.asm()}: shared (lane-broadcast) operand {regs[2]}, vector operand {regs[1]}")
    return out


def row(cfg: Cfg, r: Region, seg_index: int, label: str, d_min: int) -> dict:
    insts = cfg.prog.insts
    dist, producer = distance(cfg, r.pre, r.cond.regs())
    return {
        "table": seg_index,
        "precedingPC_label": label,
        "precedingPC": {"asm": insts[r.pre].asm(), "origin": str(insts[r.pre].origin)},
        "instsToSkip": r.length,
        "condition": {"op": r.cond.op.name, "operands": [str(a) for a in r.cond.atoms], "text": str(r.cond)},
        "region_origin": insts[r.first].origin.site(),
        "instructions": [{"asm": insts[i].asm(), "origin": str(insts[i].origin),
                          **({"note": insts[i].note} if insts[i].note else {})}
                         for i in range(r.first, r.last + 1)],
        "expected_saving": {"p_condition": round(r.cond.prob, 6), "loop_depth": cfg.depth[r.first],
                            "weighted_insts": round(r.saving, 6)},
        "producer_distance": dist,
        "producer": None if producer is None else {"asm": insts[producer].asm(),
                                                   "origin": str(insts[producer].origin)},
        "meets_D": dist is not None and dist >= d_min,
        "simd": simd_roles(cfg, r),
        "absorbed_downstream": describe_units(r.absorbed),
        "assumptions": _assumptions(r),
    }


def _assumptions(r: Region) -> list[str]:
    out = ["finite: values multiplied by a zero are finite (Inf*0 and NaN*0 are NaN)"]
    if r.needs_nz:
        out.append("no -0.0 accumulator: " + ("ASSUMED (assume_no_negative_zero)" if r.assumed_nz
                                               else "proven from the accumulators' definitions"))
    return out


def build(cfg: Cfg, segs: list[Segment], tag: str, meta: dict, d_min: int) -> dict:
    from .emit import pre_label, table_label
    rows = []
    for k, seg in enumerate(segs):
        rows += [row(cfg, r, k, pre_label(tag, r), d_min) for r in seg.regions]
    dropped = [{"region_origin": cfg.prog.insts[r.first].origin.site(), "instsToSkip": r.length,
                "condition": str(r.cond), "weighted_insts": round(r.saving, 6)}
               for s in segs for r in s.dropped]
    merged = [{"region_origin": cfg.prog.insts[a.first].origin.site(),
               "conditions": [str(a.cond), str(b.cond)], "instsToSkip": a.length + b.length,
               "weighted_insts_lost": round(a.saving + b.saving - _saving_of(s, a), 6)}
              for s in segs for a, b in s.merged]
    absorbed = 0
    for s in segs:
        for r in s.regions:
            absorbed |= r.absorbed
    tables = [{"label": table_label(tag, k), "entries": len(s.regions),
               "loaded_at": str(cfg.prog.insts[s.start].origin.site()) if s.start else "function entry",
               "scratch": f"x{s.scratch}"} for k, s in enumerate(segs) if s.regions]
    return {**meta, "D": d_min, "entries": rows, "tables": tables, "dropped": dropped, "and_merged": merged,
            "zero_initialised": [f"v{n}" for n in zero_init_regs(absorbed)]}


def _saving_of(seg: Segment, first: Region) -> float:
    """Saving of the AND entry that now starts where `first` started."""
    return next((r.saving for r in seg.regions if r.first == first.first), 0.0)


def report(listing: dict) -> str:
    lines = [f"SASA compiler report for {listing['source']}",
             f"  entries: {len(listing['entries'])} in {len(listing['tables'])} table(s) "
             f"(hardware table: {listing['table_size']}); dropped: {len(listing['dropped'])}",
             f"  D (producer spacing from the pipeline): {listing['D']}; modelled sparsity: "
             f"{listing['sparsity']}; compile time {listing['compile_seconds']:.3f} s", ""]
    for t in listing["tables"]:
        lines.append(f"  table {t['label']}: {t['entries']} entries, SASA-LD at {t['loaded_at']} via {t['scratch']}")
    lines.append("")
    for k, e in enumerate(listing["entries"]):
        lines.append(f"  [{k:2}] skip {e['instsToSkip']} after {e['precedingPC']['asm']!r} if "
                     f"{e['condition']['text']}  (region {e['region_origin']}, p={e['expected_saving']['p_condition']:.3g}, "
                     f"distance {e['producer_distance']}{'' if e['meets_D'] else ' < D'})")
        for ins in e["instructions"]:
            lines.append(f"         {ins['asm']:<36} {ins['origin']}")
    for key, title in (("rewrites", "Rewrites"), ("warnings", "Warnings"), ("dropped", "Dropped entries"),
                       ("and_merged", "Entry pairs merged into one AND entry (table overflow)")):
        if listing.get(key):
            lines += ["", f"  {title}:"] + [f"    {x}" for x in listing[key]]
    silent = [x for x in listing.get("sparse_loads", []) if "no_region" in x]
    if silent:
        lines += ["", f"  Sparse loads that decide no region ({len(silent)} of {len(listing['sparse_loads'])}):"]
        lines += [f"    {x['asm']!r} at {x['origin']}: {x['no_region']}" for x in silent]
    if listing.get("zero_initialised"):
        lines += ["", "  Zeroed at entry: " + ", ".join(listing["zero_initialised"])]
    return "\n".join(lines) + "\n"
