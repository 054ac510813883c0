"""The stats parser reads our stats.txt and gem5's format, old and new names (issue 2)."""
import pytest

from analysis.stats_parser import StatsFormatError, compare, last_dump, parse_stats
from axsim.cli import main
from sparce_jobs.kernel_run import dims_for, run_kernel
from sparce_sim.stats import write_outputs

# hand-written in gem5's format: two dumps, old snake_case names in the first, a distribution row
GEM5_SAMPLE = """
---------- Begin Simulation Statistics ----------
sim_seconds                                  0.000120                       # Number of seconds simulated
sim_insts                                       50000                       # Number of instructions simulated
system.cpu.num_cycles                          120000                       # number of cpu cycles simulated
system.cpu.dcache.overall_misses::total           310                       # number of overall misses
system.cpu.op_class_0::IntAlu                   20000     40.00%     40.00% # Class of committed instruction
---------- End Simulation Statistics   ----------

---------- Begin Simulation Statistics ----------
simSeconds                                   0.000200                       # Number of seconds simulated (Second)
simInsts                                        80000                       # Number of instructions simulated (Count)
system.cpu.numCycles                           200000                       # Number of cpu cycles simulated (Cycle)
system.cpu.cpi                               2.500000                       # CPI: cycles per instruction ((Cycle/Count))
system.cpu.dcache.overallMisses::total            400                       # number of overall misses (Count)
---------- End Simulation Statistics   ----------
"""


def test_parses_handwritten_gem5_sample(tmp_path):
    f = tmp_path / "stats.txt"
    f.write_text(GEM5_SAMPLE)
    df = parse_stats(f)
    assert sorted(df["dump"].unique()) == [0, 1]
    first = df[df["dump"] == 0].set_index("name")["value"]
    assert first["simInsts"] == 50000 and first["system.cpu.numCycles"] == 120000
    assert first["system.cpu.dcache.overallMisses::total"] == 310
    assert last_dump(df)["system.cpu.cpi"] == 2.5


def test_round_trips_our_output(tmp_path):
    run = run_kernel("dot", dims_for("dot", n=64), 0.5, 1)
    write_outputs(tmp_path, run.result.stats, run.result.descriptions)
    parsed = last_dump(parse_stats(tmp_path / "stats.txt"))
    for name, value in run.result.stats.items():
        assert parsed[name] == pytest.approx(value, rel=1e-6), name


def test_compare_gives_ratios(tmp_path, capsys):
    (tmp_path / "a.txt").write_text(GEM5_SAMPLE.split("\n\n")[0] + "\n")
    (tmp_path / "b.txt").write_text(GEM5_SAMPLE)
    df = compare(tmp_path / "a.txt", tmp_path / "b.txt").set_index("stat")
    assert df.loc["simInsts", "B/A"] == pytest.approx(80000 / 50000)
    assert main(["stats", "compare", str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]) == 0
    assert "system.cpu.numCycles" in capsys.readouterr().out


def test_rejects_non_stats_file(tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("hello world\n")
    with pytest.raises(StatsFormatError, match="x.txt"):
        parse_stats(f)
