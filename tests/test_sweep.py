"""`axsim sweep`: CSV + plot, ideal line, energy, and resume after an interruption (issue 3)."""
import csv

import pytest

from analysis.energy import CORE_MW, SPARCE_MW, energy_ratio
from sparce_jobs.sweep import parse_sparsities, run_sweep


def test_parse_sparsities():
    assert parse_sparsities("0:0.9:0.1") == pytest.approx([i / 10 for i in range(10)])
    assert parse_sparsities("0.2,0.5") == [0.2, 0.5]
    with pytest.raises(ValueError):
        parse_sparsities("0:1.5:0.5")


def test_sweep_writes_csv_plot_and_resumes(tmp_path, monkeypatch):
    run_sweep("dot", "small", [0.0], tmp_path)
    path = tmp_path / "sweep.csv"
    rows = list(csv.DictReader(path.open()))
    rows[0]["base_cycles"] = "123456789"            # a sentinel: a resumed sweep must keep it
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out = run_sweep("dot", "small", [0.0, 0.6], tmp_path)
    assert [float(r["sparsity"]) for r in out] == [0.0, 0.6]
    again = list(csv.DictReader(path.open()))
    assert again[0]["base_cycles"] == "123456789"
    hi = again[1]
    assert float(hi["ideal"]) == pytest.approx(0.4)
    assert float(hi["norm_time"]) < 1.0 and hi["outputs_identical"] == "True"
    assert float(hi["energy_ratio"]) == pytest.approx(
        float(hi["sparce_cycles"]) * (CORE_MW + SPARCE_MW) / (float(hi["base_cycles"]) * CORE_MW), rel=1e-4)
    assert (tmp_path / "sweep.png").stat().st_size > 0


def test_energy_ratio_formula():
    assert energy_ratio(100, 100) == pytest.approx((CORE_MW + SPARCE_MW) / CORE_MW)


def test_sgemm_sweep_uses_the_compiled_table(tmp_path):
    """`axsim sweep sgemm`: the SASA compiler's table (there is no hand table), Fig. 4.13's SIMD4 curve."""
    from sparce_jobs.run_cli import default_sasa
    sasa = default_sasa("sgemm", None)
    assert sasa == "compiled"
    rows = run_sweep("sgemm", "small", [0.0, 0.7], tmp_path, sasa=sasa)
    zero, high = rows
    assert zero["sasa"] == high["sasa"] == "compiled"
    assert zero["outputs_identical"] and high["outputs_identical"]
    assert zero["insts_skipped"] == 0 and high["insts_skipped"] > 0
    assert zero["norm_time"] <= 1.01                      # no slowdown without sparsity
    assert high["norm_time"] < zero["norm_time"]
    with pytest.raises(ValueError, match="compiled table"):   # resuming with another table is refused
        run_sweep("sgemm", "small", [0.0], tmp_path, sasa="hand")


def test_sampled_sgemm_sweep_estimates_the_whole_gemm(tmp_path):
    """Sub-GEMM sampling (for conv4-sized GEMMs) scaled back: close to the full run on a small one."""
    full = run_sweep("sgemm", "small", [0.7], tmp_path / "full", sasa="compiled")[0]
    est = run_sweep("sgemm", "small", [0.7], tmp_path / "sampled", sasa="compiled", sample=(32, 16, 3))[0]
    assert est["sampling"] == "skeleton:32x16x3" and est["outputs_identical"] and full["norm_time_ci95"] == 0.0
    assert est["base_cycles"] == pytest.approx(full["base_cycles"], rel=0.15)
    assert abs(est["norm_time"] - full["norm_time"]) <= est["norm_time_ci95"] < 0.05
    assert est["insts_skipped"] > 0
    with pytest.raises(ValueError, match="rows >= 32"):
        run_sweep("sgemm", "small", [0.7], tmp_path / "bad", sasa="compiled", sample=(8, 16, 2))
    with pytest.raises(ValueError, match="sgemm"):
        run_sweep("dot", "small", [0.7], tmp_path / "bad2", sasa="hand", sample=(32, 16, 2))


def test_resumed_sweep_with_other_parameters_is_refused(tmp_path):
    import os
    import stat
    from gem5_configs.params import MINOR_DEFAULT
    run_sweep("dot", "small", [0.0], tmp_path)
    assert stat.S_IMODE(os.stat(tmp_path / "sweep.csv").st_mode) == 0o644
    other = MINOR_DEFAULT.with_overrides({"l1d.size_kb": "32"})
    with pytest.raises(ValueError, match="other system parameters"):
        run_sweep("dot", "small", [0.0, 0.5], tmp_path, params=other)
    assert len(list(csv.DictReader((tmp_path / "sweep.csv").open()))) == 1
