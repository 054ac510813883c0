"""Bad input gets a clear error naming the file, symbol or PC and the cause, and no output (issue 2/3)."""
from pathlib import Path

import pytest

from axsim.cli import main
from kernels.build import build_snippet
from sparce_sim.engine import SimulationError
from sparce_sim.loader import LoadError, load_elf
from sparce_sim.runner import simulate


def test_non_aarch64_elf(tmp_path):
    with pytest.raises(LoadError, match="not an AArch64 ELF"):
        load_elf("/bin/sh")


def test_corrupt_elf(tmp_path):
    bad = tmp_path / "bad.elf"
    bad.write_bytes(b"\x7fELF" + b"\x02\x01\x01" + b"\x00" * 9 + b"garbage")
    with pytest.raises(LoadError, match="bad.elf"):
        load_elf(bad)


def test_missing_symbol():
    elf = build_snippet("    nop\n")
    with pytest.raises(LoadError, match="symbol 'NOPE' not found"):
        simulate(elf, inputs={"NOPE": __import__("numpy").zeros(4)})


ENGINES = pytest.mark.parametrize("engine", ["native", "python"])


@ENGINES
def test_unmapped_access_names_pc_and_address(engine):
    elf = build_snippet("    mov x1, #0x10\n    ldr x2, [x1]\n")
    with pytest.raises(SimulationError, match=r"PC 0x[0-9a-f]+: read from unmapped address 0x10"):
        simulate(elf, engine=engine)


@ENGINES
def test_undefined_instruction(engine):
    elf = build_snippet("    nop\n    .inst 0x00000000\n")
    with pytest.raises(SimulationError, match=r"PC 0x[0-9a-f]+: undefined instruction 0x00000000"):
        simulate(elf, engine=engine)


@ENGINES
def test_unsupported_syscall_names_pc_and_number(engine):
    elf = build_snippet("    mov x8, #4000\n    svc #0\n")
    with pytest.raises(SimulationError, match=r"PC 0x[0-9a-f]+: unsupported syscall 4000"):
        simulate(elf, engine=engine)


def test_instruction_limit_stops_runaway():
    elf = build_snippet("1:\n    add x1, x1, #1\n    b 1b\n")
    for engine in ("native", "python"):
        with pytest.raises(SimulationError, match="instruction limit of 5000 committed instructions exceeded"):
            simulate(elf, max_insts=5000, engine=engine)


@pytest.mark.parametrize("args,message", [
    (["run", "sgemm", "--m", "-4"], "must be positive"),
    (["run", "dot", "--sparsity", "1.5"], "outside [0, 1]"),
    (["run", "dot", "--param", "l1d.size_kb=-1"], "must be positive"),
    (["run", "dot", "--param", "nosuch=1"], "unknown parameter"),
    (["sweep", "dot", "--sparsity", "0:2:0.5"], "outside [0, 1]"),
])
def test_bad_parameters_exit_2_and_write_nothing(args, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(args + ["--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_runaway_from_cli_writes_nothing(tmp_path, capsys):
    elf = build_snippet("1:\n    b 1b\n")
    out = tmp_path / "out"
    assert main(["run", str(elf), "--max-insts", "1000", "--out", str(out)]) == 1
    assert "instruction limit" in capsys.readouterr().err
    assert not out.exists()


def test_ctrl_c_stops_a_run_with_one_line(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    elf = build_snippet("1:\n    add x1, x1, #1\n    b 1b\n")
    proc = subprocess.Popen([sys.executable, "-m", "axsim.cli", "run", str(elf), "--out", str(tmp_path / "o")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # send the signal once the engine runs (its native module is mapped), not while Python is still
    # importing: on a loaded machine start-up alone can take seconds
    try:
        maps = Path(f"/proc/{proc.pid}/maps")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "_native" not in maps.read_text():
            time.sleep(0.1)
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()                          # never leave the endless loop running
    assert proc.returncode == 130
    assert err.strip().splitlines() == ["axsim run: interrupted"]
