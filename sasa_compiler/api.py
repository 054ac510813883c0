"""`compile_file`: the SASA compiler's entry point (dissertation §4.2, Fig. 4.6c end to end).

preprocess (cpp) -> expand macros -> parse -> CFG -> split post-indexed loads -> liveness ->
regions -> (hoist short-distance producers, drop unneeded splits, analyse again) -> fit the table ->
emit .S + listing. Output files are written to a temporary name and renamed, so an error leaves no
partial output.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from atomic_output import write_many
from gem5_configs.params import MINOR_DEFAULT, SystemParams

from . import emit as emit_mod
from . import listing as listing_mod
from .cfg import Cfg, build_cfg
from .defuse import liveness
from .errors import CompileError, CompileWarning, Origin
from .macros import expand
from .parse import Program, parse_program, parse_reg
from .preprocess import preprocess
from .redundancy import NegZeroProver
from .regions import Analysis, analyse, and_region, sparse_pointers
from .reorder import distance, hoist, split_candidates, split_post_index
from .semantics import ret_live
from .table import Segment, plan

DEFAULT_RETURNS = "x0,x1,v0,v1,v2,v3"      # AAPCS64 result registers (incl. a 4-float HFA)


@dataclass
class CompileResult:
    out: Path
    text: str
    listing: dict
    segments: list[Segment]
    warnings: list[CompileWarning] = field(default_factory=list)

    @property
    def entries(self) -> int:
        return len(self.listing["entries"])


@dataclass
class Options:
    defines: dict[str, str] = field(default_factory=dict)
    sparse: list[str] = field(default_factory=list)
    returns: str | None = None
    overflow: str = "reload"
    sparsity: float = 0.5
    weight_sparsity: float = 0.0
    assume_no_negzero: bool = False
    ignore_annotations: bool = False      # use only `sparse` (e.g. to study another operand order)
    include_dirs: list[Path] = field(default_factory=list)    # -I for cpp (an OpenBLAS tree's top)

    def __post_init__(self) -> None:
        for name in ("sparsity", "weight_sparsity"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"--{name.replace('_', '-')} {value} is outside [0, 1]")


def compile_file(src: Path, out: Path, listing: Path | None = None, params: SystemParams = MINOR_DEFAULT,
                 report: Path | None = None, **options) -> CompileResult:
    """Compile annotated kernel `src` into SPARCE-instrumented `out` (and the JSON listing)."""
    opts = Options(**options)
    t0 = time.perf_counter()
    src, out = Path(src), Path(out)
    if not src.exists():
        raise FileNotFoundError(f"{src}: no such file")
    for path in (out, listing, report):
        if path is not None and Path(path).is_dir():
            raise ValueError(f"{path} is a folder: give the file to write")
    prog = parse_program(expand(preprocess(src, opts.defines, [Path(d) for d in opts.include_dirs])))
    if not prog.insts:
        raise CompileError(f"{src}:1", "no instructions to compile")
    if opts.ignore_annotations:
        prog.sparse.clear()
    _add_cli_sparse(prog, opts.sparse)
    if not prog.sparse:
        raise CompileError(f"{src}:1", "no sparse pointer annotated: add `// @sparse REG` or pass --sparse REG")
    ret = ret_live(opts.returns or prog.returns or DEFAULT_RETURNS)
    prog, cfg, live_in, result, notes = _analyse_twice(prog, ret, params, opts)
    live_out = liveness(cfg)[1]
    prover = NegZeroProver(cfg)
    segs = plan(cfg, result.regions, params.sasa_entries, opts.overflow, live_in,
                merge=lambda a, b: and_region(cfg, live_in, live_out, a, b, prover, opts.assume_no_negzero))
    tag = "".join(c if c.isalnum() else "_" for c in src.stem)
    text = emit_mod.emit(prog, cfg, segs, tag, str(src), params.sasa_entries)
    meta = {"source": str(src), "output": str(out), "table_size": params.sasa_entries,
            "sparsity": opts.sparsity, "returns": opts.returns or prog.returns or DEFAULT_RETURNS,
            "sparse_pointers": sorted(f"x{n}" for n in result.pointers),
            "sparse_loads": [{"asm": prog.insts[i].asm(), "origin": str(prog.insts[i].origin),
                              **({"no_region": result.why_none[i]} if i in result.why_none else {})}
                             for i in result.sparse_loads],
            "rewrites": notes, "warnings": [str(w) for w in result.warnings]}
    data = listing_mod.build(cfg, segs, tag, meta, params.sparce_min_distance())
    data["compile_seconds"] = round(time.perf_counter() - t0, 4)
    write_many({out: text, **({listing: json.dumps(data, indent=1)} if listing else {}),
               **({report: listing_mod.report(data)} if report else {})})
    return CompileResult(out, text, data, segs, result.warnings)


def _add_cli_sparse(prog: Program, names: list[str]) -> None:
    for name in names:
        reg = parse_reg(name)
        if reg is None or reg.kind != "x":
            raise CompileError("--sparse", f"{name!r} is not a 64-bit pointer register (x0-x30)")
        prog.sparse.append((f"x{reg.num}", Origin("--sparse", 0)))


def _analyse(prog: Program, ret: int, opts: Options) -> tuple[Cfg, list[int], Analysis]:
    cfg = build_cfg(prog, ret)
    live_in, live_out = liveness(cfg)
    return cfg, live_in, analyse(cfg, live_in, live_out, opts.sparsity, opts.weight_sparsity,
                                 opts.assume_no_negzero)


def _analyse_twice(prog: Program, ret: int, params: SystemParams, opts: Options):
    cfg0 = build_cfg(prog, ret)
    cands = {prog.insts[i].uid for i in split_candidates(prog, cfg0, sparse_pointers(cfg0))}
    first, split_notes = split_post_index(prog, cands)
    cfg, live_in, res = _analyse(first, ret, opts)
    in_region = {first.insts[i].uid for r in res.regions for i in range(r.first, r.last + 1)}
    needed = cands & in_region
    d_min = params.sparce_min_distance()
    hoists = set()
    for r in res.regions:
        dist, producer = distance(cfg, r.pre, r.cond.regs())
        if dist is not None and dist < d_min and cfg.block_of(producer) == cfg.block_of(r.pre):
            hoists.add(first.insts[producer].uid)
    if needed == cands and not hoists:
        return first, cfg, live_in, res, split_notes
    second, notes = split_post_index(prog, needed)
    cfg2 = build_cfg(second, ret)
    third, hoist_notes = hoist(second, cfg2, hoists)
    cfg3, live_in3, res3 = _analyse(third, ret, opts)
    return third, cfg3, live_in3, res3, notes + hoist_notes
