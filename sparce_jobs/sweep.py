"""Baseline vs SPARCE over sparsity levels: the analog of dissertation Fig. 4.13 (§4.4.2).

Each point runs the baseline kernel (SPARCE off) and the SPARCE kernel on the same random input
(zeros at random positions in the sparse operand), checks both against numpy, and records
normalized execution time and instructions beside the ideal line (1 - sparsity) and the energy
ratio of analysis.energy. The CSV is rewritten atomically after every point and a rerun skips
points already in it, so an interrupted sweep resumes.

Large sgemm shapes can be swept on sampled sub-GEMMs (random rows and columns, full K; the
estimator of sparce_jobs.network: packing timed whole, the micro-kernel scaled by tiles, the
copy-out as a range) instead: the CSV's `sampling` column says which, and `norm_time_ci95` gives
the estimate's 95% half-width (0 for a whole run).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tqdm import tqdm

from analysis.energy import energy_ratio
from atomic_output import save_figure, write_csv
from gem5_configs.params import MINOR_DEFAULT, SystemParams

from .kernel_run import dims_for, make_inputs, run_kernel
from sparce_sim.stats import read_csv

SAMPLER = "skeleton"      # the estimator's name in the `sampling` column (an older one's rows are not resumed)
FIELDS = ["kernel", "shape", "sasa", "sampling", "sparsity", "seed", "base_cycles", "sparce_cycles", "base_insts",
          "sparce_insts", "norm_time", "norm_insts", "ideal", "energy_ratio", "regions_skipped",
          "insts_skipped", "squashed_insts", "outputs_identical", "params", "norm_time_ci95"]


def parse_sparsities(text: str) -> list[float]:
    """'0:0.9:0.1' (inclusive) or '0,0.5,0.9'; every value must lie in [0, 1]."""
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if step <= 0:
                raise ValueError
            values = [round(start + i * step, 6) for i in range(int(round((stop - start) / step)) + 1)]
        else:
            values = [float(x) for x in text.split(",")]
    except ValueError:
        raise ValueError(f"bad --sparsity {text!r}: use START:STOP:STEP or a,b,c") from None
    bad = [v for v in values if not 0.0 <= v <= 1.0]
    if bad or not values:
        raise ValueError(f"sparsity values {bad or values} outside [0, 1]")
    return values


def run_point(kernel: str, dims: dict, sparsity: float, seed: int, sasa: str,
              params: SystemParams, max_insts: int | None) -> dict:
    inputs = make_inputs(kernel, dims, sparsity, seed)
    base = run_kernel(kernel, dims, sparce=False, sasa="none", params=params, max_insts=max_insts, inputs=inputs)
    spar = run_kernel(kernel, dims, sparce=True, sasa=sasa, params=params, max_insts=max_insts, inputs=inputs)
    if not (base.ok and spar.ok):
        raise RuntimeError(f"{kernel} at sparsity {sparsity}: output differs from numpy "
                           f"(baseline err {base.max_abs_err}, SPARCE err {spar.max_abs_err})")
    b, s = base.result.stats, spar.result.stats
    bc, sc = b["system.cpu.numCycles"], s["system.cpu.numCycles"]
    return {"sparsity": sparsity, "seed": seed, "base_cycles": bc, "sparce_cycles": sc,
            "base_insts": b["simInsts"], "sparce_insts": s["simInsts"],
            "norm_time": round(sc / bc, 5), "norm_insts": round(s["simInsts"] / b["simInsts"], 5),
            "ideal": round(1.0 - sparsity, 5), "energy_ratio": round(energy_ratio(sc, bc), 5),
            "regions_skipped": s["system.cpu.sparce.regionsSkipped"],
            "insts_skipped": s["system.cpu.sparce.instsSkipped"],
            "squashed_insts": s["system.cpu.sparce.squashedInsts"],
            "outputs_identical": bool((base.output.view("u4") == spar.output.view("u4")).all()),
            "norm_time_ci95": 0.0}


def run_sampled_point(dims: dict, sparsity: float, seed: int, params: SystemParams,
                      sample: tuple[int, int, int]) -> dict:
    """A big sgemm point estimated from sampled sub-GEMMs (sparce_jobs.network.simulate_layer):
    `sample` = (rows, cols, count). Every simulated sub-GEMM is checked against numpy."""
    import numpy as np
    from .network import Layer, simulate_layer
    rows, cols, count = sample
    inputs = make_inputs("sgemm", dims, sparsity, seed)
    a, b = np.ascontiguousarray(inputs["A"]), np.ascontiguousarray(inputs["B"])
    layer = Layer(f"sgemm@{sparsity}", "Gemm", a, b, (a.astype(np.float64) @ b).astype(np.float32))
    r = simulate_layer(layer, cols, count, seed, params, rows)
    bc, sc = r["base_cycles"], r["sparce_cycles"]
    return {"sparsity": sparsity, "seed": seed, "base_cycles": round(bc), "sparce_cycles": round(sc),
            "base_insts": round(r["base_insts"]), "sparce_insts": round(r["sparce_insts"]),
            "norm_time": round(sc / bc, 5), "norm_insts": round(r["sparce_insts"] / r["base_insts"], 5),
            "ideal": round(1.0 - sparsity, 5), "energy_ratio": round(energy_ratio(sc, bc), 5),
            **{k: round(r[k]) for k in ("regions_skipped", "insts_skipped", "squashed_insts")},
            "outputs_identical": True,     # simulate_layer raises on any mismatch
            "norm_time_ci95": r["norm_time_ci95"]}


def run_sweep(kernel: str, shape: str, sparsities: list[float], out: Path, seed: int = 0,
              sasa: str = "hand", params: SystemParams = MINOR_DEFAULT,
              max_insts: int | None = None, sample: tuple[int, int, int] | None = None) -> list[dict]:
    """sample = (rows, cols, count): simulate sgemm on `count` sampled sub-GEMMs per point."""
    if sample is not None and (kernel != "sgemm" or sasa != "compiled"):
        raise ValueError("sampled sweeps (--rows/--cols/--samples) are for sgemm with the compiled table")
    if sample is not None and (sample[0] < 32 or sample[1] < 8 or sample[2] < 1):
        raise ValueError(f"sampling needs rows >= 32, cols >= 8 and samples >= 1, got {sample}")
    out = Path(out)
    csv_path = out / "sweep.csv"
    sampling = "full" if sample is None else SAMPLER + ":" + "x".join(str(v) for v in sample)
    params_id = params_fingerprint(params)
    rows = _load_rows(csv_path, kernel, shape, sasa, seed, sampling, params_id)
    dims = dims_for(kernel, shape)
    todo = [s for s in sparsities if s not in {float(r["sparsity"]) for r in rows}]
    for sparsity in tqdm(todo, desc=f"sweep {kernel}/{shape}", unit="pt"):
        point = (run_point(kernel, dims, sparsity, seed, sasa, params, max_insts) if sample is None
                 else run_sampled_point(dims, sparsity, seed, params, sample))
        if not point["outputs_identical"]:
            raise RuntimeError(f"{kernel} at sparsity {sparsity}: SPARCE changed the output bits "
                               "(a skipped region was not redundant)")
        row = {"kernel": kernel, "shape": shape, "sasa": sasa, "sampling": sampling, **point, "params": params_id}
        rows.append(row)
        rows.sort(key=lambda r: float(r["sparsity"]))
        write_csv(csv_path, rows, FIELDS)
    plot_sweep(rows, out / "sweep.png", f"{kernel} ({shape})")
    return rows


def params_fingerprint(params: SystemParams) -> str:
    """A short id of the full system parameter set and the timing model's version (a resumed
    sweep must use the same ones)."""
    from sparce_sim.pipeline import TIMING_MODEL
    text = json.dumps({**params.as_dict(), "timing_model": TIMING_MODEL}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _load_rows(path: Path, kernel: str, shape: str, sasa: str, seed: int, sampling: str,
               params_id: str) -> list[dict]:
    rows = read_csv(path)
    first = rows[0] if rows else None
    if first and first.get("params") != params_id:
        raise ValueError(f"{path} was swept with other system parameters (id {first.get('params') or 'unknown'}, "
                         f"now {params_id}); use the same --param values or another --out")
    if first and (first["kernel"], first["shape"], first.get("sasa"), int(first["seed"]), first.get("sampling")) \
            != (kernel, shape, sasa, seed, sampling):
        raise ValueError(f"{path} holds a sweep of {first['kernel']}/{first['shape']} with the "
                         f"{first.get('sasa')} table, seed {first['seed']}, sampling {first.get('sampling')}; "
                         "use another --out to start a new one")
    return rows


def plot_sweep(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    xs = [100 * float(r["sparsity"]) for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.plot(xs, [float(r["norm_time"]) for r in rows], "o-", label="execution time")
    ax.plot(xs, [float(r["norm_insts"]) for r in rows], "s-", label="instructions executed")
    ax.plot(xs, [float(r["ideal"]) for r in rows], "k:", label="ideal (1 - sparsity)")
    ax.set_xlabel("sparsity of the sparse operand (%)")
    ax.set_ylabel("normalized to baseline")
    ax.set_ylim(0, max([1.1] + [float(r["norm_time"]) + 0.05 for r in rows]))
    ax.set_title(f"SPARCE scaling with sparsity: {title}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
