"""gem5 full-system runs (issue 17): gem5_configs/fs_sparce.py, `axsim gem5 --fs`, fs_artefacts.sh.

fs_sparce.py is checked against gem5's own SimObject declarations (tests/gem5_declared.py, as
tests/test_gem5_se_config.py checks se_sparce.py; needs GEM5_SRC or GEM5, else skips): only declared
parameters, ports and methods, the Table 4.1 numbers of gem5_configs/params.py, the boot/switch/ROI
sequence and its errors. The real FS run (boot Linux on gem5, run sgemm with SPARCE on and off, check
the output bit-exact) runs only when GEM5 (a gem5 binary built with isa_ext/gem5) and AXSIM_FS_DIR
(the output folder of gem5_configs/fs_artefacts.sh) are both set.
"""
from __future__ import annotations

import base64
import json
import os
import re
import runpy
import subprocess
import sys
import types
from pathlib import Path

import pytest

import gem5_declared as g5
from gem5_configs.params import MINOR_DEFAULT
from sparce_jobs import gem5_backend as gb

ROOT = Path(__file__).resolve().parents[1]
FS_CONFIG = ROOT / "gem5_configs" / "fs_sparce.py"
ARTEFACTS_SH = ROOT / "gem5_configs" / "fs_artefacts.sh"
needs_tree = pytest.mark.skipif(g5.TREE is None, reason=g5.NO_TREE)


@pytest.fixture(scope="module")
def decls():
    return g5.read_declarations(g5.TREE)


class _Event:
    def __init__(self, cause: str, code: int = 0):
        self.cause, self.code = cause, code

    def getCause(self) -> str:
        return self.cause

    def getCode(self) -> int:
        return self.code


def _artefacts(tmp_path: Path) -> dict[str, Path]:
    files = {"kernel": "vmlinux", "initrd": "initramfs.cpio", "bootloader": "boot_v2.arm64", "script": "run.sh"}
    out = {}
    for what, name in files.items():
        path = tmp_path / name
        path.write_bytes(b"x")
        out[what] = path
    return out


def _run(monkeypatch, tmp_path, decls, argv=(), causes=("m5_exit instruction encountered",) * 2,
         config_text: str | None = None, files: dict | None = None, console: str | None = None):
    """Run fs_sparce.py under the declared m5; m5.simulate returns `causes` in turn."""
    m5, objects = g5.declared_m5(decls)
    outdir = tmp_path / "m5out"
    outdir.mkdir(exist_ok=True)
    if console is not None:
        (outdir / "system.terminal").write_text(console)
    m5.options = types.SimpleNamespace(outdir=str(outdir))
    events = [_Event(c) for c in causes]
    m5.simulated = []
    m5.switched = []

    def simulate(ticks=None):
        m5.simulated.append(ticks)
        event = events.pop(0)
        if event.cause == "simulate() limit reached":      # the clock moves to the limit
            m5.tick += ticks
        return event

    m5.tick = 0
    m5.simulate = simulate
    m5.curTick = lambda: m5.tick
    m5.switchCpus = lambda system, pairs: m5.switched.append([(type(a).__name__, type(b).__name__)
                                                              for a, b in pairs])
    monkeypatch.setitem(sys.modules, "m5", m5)
    monkeypatch.setitem(sys.modules, "m5.objects", objects)
    for mod in ("gem5_configs.se_sparce", "gem5_configs.fs_sparce"):
        monkeypatch.delitem(sys.modules, mod, raising=False)
    files = files or _artefacts(tmp_path)
    config = FS_CONFIG
    if config_text is not None:
        config = tmp_path / "fs_sparce.py"
        config.write_text(config_text)
    args = [str(config)] + [a for what, path in files.items() for a in (f"--{what}", str(path))] + list(argv)
    monkeypatch.setattr(sys, "argv", args)
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(str(config), run_name="__m5_main__")
    objs: dict[str, list] = {}
    for o in g5.DeclaredObject.created:
        objs.setdefault(type(o).__name__, []).append(o.attrs)
    return exc.value.code, objs, m5


@needs_tree
def test_fs_config_uses_only_declared_names_and_takes_numbers_from_params(monkeypatch, tmp_path, decls):
    code, objs, m5 = _run(monkeypatch, tmp_path, decls)
    assert code == 0
    assert m5.instantiated == [True]
    p = MINOR_DEFAULT
    l1i, l1d, l2 = objs["Cache"]
    for got, want in ((l1i, p.l1i), (l1d, p.l1d), (l2, p.l2)):
        assert got["size"] == f"{want.size_kb}kB"
        assert got["assoc"] == want.assoc
        assert got["tag_latency"] == got["data_latency"] == got["response_latency"] == want.latency
    cpu = objs["ArmMinorCPU"][0]
    assert cpu["switched_out"] is True and cpu["cpu_id"] == 0
    assert (cpu["decodeInputWidth"], cpu["executeIssueLimit"], cpu["executeMemoryIssueLimit"],
            cpu["executeCommitLimit"]) == (p.decode_width, p.issue_limit, p.mem_issue_limit, p.commit_limit)
    assert (cpu["executeMaxAccessesInMemory"], cpu["executeLSQStoreBufferSize"],
            cpu["executeLSQTransfersQueueSize"]) == (p.mem_accesses_limit, p.store_buffer, p.lsq_transfers)
    assert cpu["fetch1ToFetch2ForwardDelay"] == p.fetch1_to_fetch2_delay
    assert objs["SparceUnit"][0] == {"enabled": True, "sasaEntries": p.sasa_entries,
                                     "sprfEntries": p.sprf_entries, "nullifyUnissued": True}
    assert objs["LocalBP"][0]["localPredictorSize"] == p.bp_entries
    assert {o["opLat"] for o in objs["MinorDefaultIntFU"]} == {p.lat_int_alu}
    assert objs["MinorDefaultFloatSimdFU"][0]["opLat"] == p.lat_float_simd
    assert objs["SimpleMemory"][-1]["latency"] == f"{p.dram_latency / p.clock_ghz}ns"
    assert objs["SrcClockDomain"][0]["clock"] == f"{p.clock_ghz}GHz"
    assert objs["Root"][0]["full_system"] is True
    assert "ArmAtomicSimpleCPU" in objs and "VExpress_GEM5_V2" in objs
    work = objs["ArmFsLinux"][0]
    assert work["object_file"].endswith("vmlinux")
    assert work["initrd_filename"].endswith("initramfs.cpio")
    assert "console=ttyAMA0" in work["command_line"] and "rdinit=/init" in work["command_line"]
    assert work["dtb_filename"].endswith("system.dtb")
    system = objs["ArmSystem"][0]
    assert system["readfile"].endswith("run.sh") and system["mem_mode"] == "atomic"
    called = {name for _, name in g5.DeclaredObject.calls}
    assert {"addPrivateSplitL1Caches", "connectAllPorts", "createThreads", "createInterruptController",
            "setupBootLoader", "generateDtb", "attachOnChipIO", "attachIO"} <= called
    # the switched-out Minor gets no interrupt controller (takeOverFrom hands over the atomic core's;
    # gem5 v24's MinorCPU::startup ticks a switched-out pipeline, which would query its own)
    assert ("ArmAtomicSimpleCPU", "createInterruptController") in g5.DeclaredObject.calls
    assert ("ArmMinorCPU", "createInterruptController") not in g5.DeclaredObject.calls
    # boot on the atomic core, switch at the first m5 exit, end at the second
    assert m5.switched == [[("ArmAtomicSimpleCPU", "ArmMinorCPU")]]
    assert len(m5.simulated) == 2 and all(t > 0 for t in m5.simulated)


@needs_tree
def test_fs_config_reads_params_json_and_sparce_off(monkeypatch, tmp_path, decls):
    params = MINOR_DEFAULT.with_overrides({"l1d.size_kb": "32", "l2.latency": "20", "sasa_entries": "8"})
    path = tmp_path / "params.json"
    path.write_text(json.dumps(params.as_dict()))
    code, objs, _ = _run(monkeypatch, tmp_path, decls, ["--params-json", str(path), "--sparce", "off",
                                                          "--mem", "ddr3"])
    assert code == 0
    assert objs["Cache"][1]["size"] == "32kB" and objs["Cache"][2]["tag_latency"] == 20
    assert objs["SparceUnit"][0]["enabled"] is False and objs["SparceUnit"][0]["sasaEntries"] == 8
    assert "DDR3_1600_8x8" in objs


@needs_tree
def test_fs_config_switch_at_a_simulated_time(monkeypatch, tmp_path, decls):
    code, _, m5 = _run(monkeypatch, tmp_path, decls, ["--switch-at-s", "0.003"],
                       causes=("simulate() limit reached", "m5_exit instruction encountered"))
    assert code == 0 and m5.switched == [[("ArmAtomicSimpleCPU", "ArmMinorCPU")]]
    assert m5.simulated[0] == 3 * 10 ** 9


@needs_tree
def test_fs_config_boots_on_minor_without_a_switch(monkeypatch, tmp_path, decls):
    code, objs, m5 = _run(monkeypatch, tmp_path, decls, ["--boot-cpu", "minor"],
                          causes=("m5_exit instruction encountered",))
    assert code == 0 and m5.switched == [] and "ArmAtomicSimpleCPU" not in objs
    assert objs["ArmSystem"][0]["mem_mode"] == "timing"


@needs_tree
@pytest.mark.parametrize("what", ["kernel", "initrd", "bootloader", "script"])
def test_fs_config_missing_file_is_a_one_line_error(monkeypatch, tmp_path, decls, capsys, what):
    files = _artefacts(tmp_path)
    files[what].unlink()
    code, _, m5 = _run(monkeypatch, tmp_path, decls, files=files)
    err = capsys.readouterr().err.strip()
    assert code == 2 and m5.instantiated == []
    assert err == f"fs_sparce.py: {what} {files[what]} not found"


@needs_tree
def test_fs_config_boot_timeout_names_the_last_console_line(monkeypatch, tmp_path, decls, capsys):
    console = "[    0.000000] Booting Linux on physical CPU 0x0\n[    1.234] Freeing unused kernel memory\n\n"
    code, _, m5 = _run(monkeypatch, tmp_path, decls, ["--boot-limit-s", "2"],
                       causes=("simulate() limit reached",), console=console)
    err = capsys.readouterr().err.strip()
    assert code == 3 and m5.switched == []
    assert m5.simulated == [2 * 10 ** 12]
    assert "boot timeout after 2 simulated s" in err
    assert err.endswith("last console line: [    1.234] Freeing unused kernel memory")
    assert len(err.splitlines()) == 1


@needs_tree
def test_fs_config_guest_end_without_exit_is_an_error(monkeypatch, tmp_path, decls, capsys):
    code, _, _ = _run(monkeypatch, tmp_path, decls, causes=("m5_exit instruction encountered",
                                                             "Kernel panic in simulated kernel"),
                      console="Kernel panic - not syncing: Attempted to kill init!\n")
    err = capsys.readouterr().err
    assert code == 1 and "Kernel panic in simulated kernel" in err and "Attempted to kill init" in err


@needs_tree
@pytest.mark.parametrize("good, bad, message", [
    ("minor.switched_out = True", "minor.switched_ot = True", "switched_ot"),
    ("system.readfile = args.script", "system.readfile = 3", "Param.String"),
    ("system.workload.initrd_filename = args.initrd", "system.workload.initrd_file = args.initrd", "initrd_file"),
])
def test_a_broken_fs_config_fails(monkeypatch, tmp_path, decls, good, bad, message):
    text = FS_CONFIG.read_text()
    assert text.count(good) == 1
    with pytest.raises((AttributeError, TypeError), match=message):
        _run(monkeypatch, tmp_path, decls, config_text=text.replace(good, bad))


@needs_tree
def test_every_imported_fs_class_is_declared_by_this_gem5(decls):
    import ast
    tree = ast.parse(FS_CONFIG.read_text())
    names = {a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "m5.objects"
             for a in node.names}
    assert "VExpress_GEM5_V2" in names and "ArmFsLinux" in names
    assert not {n for n in names - {"AddrRange"} if not g5.is_simobject(decls, n)}


def test_fs_config_reuses_se_builders():
    text = FS_CONFIG.read_text()
    assert "from gem5_configs.se_sparce import" in text and "def make_cpu" not in text
    assert "def make_cache" not in text and "def make_fu_pool" not in text


# ---------------------------------------------------------------- the backend, without gem5


def test_backend_missing_artefacts_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such directory"):
        gb.fs_artefacts(tmp_path / "nope")
    for name in ("vmlinux", "initramfs.cpio", "boot_v2.arm64"):
        (tmp_path / name).write_bytes(b"x")
    assert gb.fs_artefacts(tmp_path)["kernel"] == tmp_path / "vmlinux"
    for what, name in gb.FS_ARTEFACTS.items():
        (tmp_path / name).unlink()
        with pytest.raises(FileNotFoundError, match=f"^{what} {re.escape(str(tmp_path / name))} not found"):
            gb.fs_artefacts(tmp_path)
        (tmp_path / name).write_bytes(b"x")


def test_axsim_gem5_fs_missing_kernel_fails_before_writing(tmp_path):
    fs = tmp_path / "fs"
    fs.mkdir()
    for name in ("initramfs.cpio", "boot_v2.arm64"):
        (fs / name).write_bytes(b"x")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "axsim.cli", "gem5", "sgemm", "--fs", str(fs), "--out", str(out),
                           "--gem5", "/nonexistent/gem5.fast"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert f"kernel {fs / 'vmlinux'} not found" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_guest_script_carries_the_elf_and_the_roi_sequence():
    elf = bytes(range(256)) * 40 + b"\x7fELF"
    text = gb.guest_script(elf, "sgemm")
    payload = text.split("<<'AXSIM_ELF_END'\n", 1)[1].split("AXSIM_ELF_END\n", 1)[0]
    assert base64.decodebytes(payload.encode()) == elf
    order = [text.index(s) for s in ("m5 exit", "./sgemm > sgemm.out", "axsim-fs: program exit",
                                     f"m5 writefile sgemm.out {gb.PROGRAM_OUT}")]
    assert order == sorted(order)
    assert text.count("m5 exit") == 2 and text.rstrip().endswith("m5 exit")


def test_fs_roi_elf_marks_kernel_main_with_m5_ops(tmp_path):
    from sparce_jobs.kernel_run import dims_for, kernel_elf
    from sparce_sim.loader import load_elf
    elf = kernel_elf("dot", dims_for("dot", "small"), "none")
    baked = gb.bake_elf(elf, {}, tmp_path / "dot.elf")
    before, after = baked.read_bytes(), gb.fs_roi_elf(baked)
    assert len(after) == len(before)
    off = gb._file_offset(baked, load_elf(baked).symbol("_start").addr, 24)
    words = [int.from_bytes(after[off + 4 * i:off + 4 * i + 4], "little") for i in range(6)]
    assert words[0] == 0xFF400110 and words[5] == 0xFF410110          # m5_reset_stats, m5_dump_stats
    assert words[3:5] == [0xD2800000, 0xD2800001]                      # mov x0, #0; mov x1, #0
    assert words[2] == int.from_bytes(before[off + 8:off + 12], "little")   # bl kernel_main kept
    diff = [i for i in range(len(before)) if before[i] != after[i]]
    assert off <= min(diff) and max(diff) < off + 24
    with pytest.raises(ValueError, match="not kernels/crt0.S's"):
        bad = tmp_path / "bad.elf"
        bad.write_bytes(after)
        gb.fs_roi_elf(bad)


def test_roi_stats_is_the_first_block():
    block = "{b}\nsimSeconds 0.1\nsystem.minor.numCycles 100\n---------- End Simulation Statistics   ----------\n"
    text = block.format(b=gb.STATS_BEGIN) + "\n" + block.format(b=gb.STATS_BEGIN).replace("100", "999")
    roi = gb.roi_stats(text)
    assert "numCycles 100" in roi and "999" not in roi and roi.startswith(gb.STATS_BEGIN)
    with pytest.raises(gb.Gem5Error):
        gb.roi_stats("nothing")


def test_fs_dry_run_writes_the_script_and_command(tmp_path):
    fs = tmp_path / "fs"
    fs.mkdir()
    for name in ("vmlinux", "initramfs.cpio", "boot_v2.arm64"):
        (fs / name).write_bytes(b"x")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "axsim.cli", "gem5", "dot", "--fs", str(fs), "--out", str(out),
                           "--dry-run", "--boot-limit-s", "5"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    cmd = (out / "command.txt").read_text().split()
    assert str(gb.FS_CONFIG) in cmd and cmd[cmd.index("--kernel") + 1] == str(fs / "vmlinux")
    assert cmd[cmd.index("--boot-limit-s") + 1] == "5.0"
    script = (out / "guest.sh").read_text()
    assert script.count("m5 exit") == 2
    assert json.loads((out / "run.json").read_text())["mode"] == "fs"


def test_fs_artefacts_script_errors_are_one_line(tmp_path):
    proc = subprocess.run(["bash", str(ARTEFACTS_SH), str(tmp_path / "a"), str(tmp_path / "no-gem5")],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"fs_artefacts.sh: gem5 source tree not found at {tmp_path / 'no-gem5'} (no util/m5/src); pass GEM5_SRC"]
    proc = subprocess.run(["bash", str(ARTEFACTS_SH)], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.strip() == "fs_artefacts.sh: usage: fs_artefacts.sh DIR [GEM5_SRC]"


# ---------------------------------------------------------------- a real FS run


def _fs_env():
    gem5, fs = os.environ.get("GEM5"), os.environ.get("AXSIM_FS_DIR")
    if not gem5 or not fs:
        pytest.skip("real FS run needs GEM5 (gem5 binary built with isa_ext/gem5) and AXSIM_FS_DIR "
                    "(output of gem5_configs/fs_artefacts.sh); both must be set")
    return gem5, fs


@pytest.mark.parametrize("sparce", ["off", "on"])
def test_real_fs_run_boots_linux_and_checks_sgemm_bit_exact(tmp_path, sparce):
    gem5, fs = _fs_env()
    out = tmp_path / f"fs-{sparce}"
    proc = subprocess.run([sys.executable, "-m", "axsim.cli", "gem5", "sgemm", "--fs", fs, "--gem5", gem5,
                           "--sparce", sparce, "--out", str(out), "--timeout", "3600"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["check"]["bit_exact"] is True
    assert run["roi_cycles"] and run["roi_cycles"] > 0
    stats = (out / "stats.txt").read_text()
    assert stats.count(gb.STATS_BEGIN) == 1 and "system.minor.sparce" in stats


def _fake_gem5(tmp_path: Path, console: str, rc: int = 0, log: str = "", stats: str | None = None) -> list[str]:
    """A stand-in for gem5 that leaves a console, a stats.txt and an exit status in m5out."""
    m5out = tmp_path / "m5out"
    script = tmp_path / "fake_gem5.py"
    script.write_text(
        "import pathlib, sys\n"
        f"d = pathlib.Path({str(m5out)!r}); d.mkdir(parents=True, exist_ok=True)\n"
        f"(d / 'system.terminal').write_text({console!r})\n"
        + (f"(d / 'stats.txt').write_text({stats!r})\n" if stats is not None else "")
        + f"print({log!r})\nsys.exit({rc})\n")
    return [sys.executable, str(script)]


def test_run_gem5_fs_reports_gem5_failures_with_the_console(tmp_path):
    cmd = _fake_gem5(tmp_path, "[    0.09] GICv3: CPU0: using LPI pending table\n", rc=-6 % 256,
                     log="info: starting\nsrc/mem/cache/cache.cc:1223: panic: passing a Modified line\nbacktrace")
    with pytest.raises(gb.Gem5Error) as exc:
        gb.run_gem5_fs(cmd, tmp_path / "m5out", tmp_path)
    msg = str(exc.value)
    assert "last console line: [    0.09] GICv3: CPU0: using LPI pending table" in msg
    assert "panic: passing a Modified line" in msg and "\n" not in msg


def test_run_gem5_fs_reports_a_program_failing_in_the_guest(tmp_path):
    cmd = _fake_gem5(tmp_path, "axsim-fs: init up\nIllegal instruction\naxsim-fs: program exit 132, 0 output bytes\n",
                     stats=gb.STATS_BEGIN + "\nx 1\n")
    with pytest.raises(gb.Gem5Error, match="the program failed inside the guest: exit status 132"):
        gb.run_gem5_fs(cmd, tmp_path / "m5out", tmp_path)


def test_run_gem5_fs_reports_a_guest_command_failing_after_the_program(tmp_path):
    """The console of session 4's SPARCE-on FS run, when the SASA table outlived the program."""
    cmd = _fake_gem5(tmp_path, "axsim-fs: switching to ArmMinorCPU\nSegmentation fault\n"
                               "axsim-fs: program exit 0,  output bytes\n", stats=gb.STATS_BEGIN + "\nx 1\n")
    with pytest.raises(gb.Gem5Error, match="a guest command after the program failed"):
        gb.run_gem5_fs(cmd, tmp_path / "m5out", tmp_path)


def test_run_gem5_fs_reports_a_guest_that_never_ran_the_program(tmp_path):
    cmd = _fake_gem5(tmp_path, "axsim-fs: init up\naxsim-fs: m5 readfile gave no script\n", stats="")
    with pytest.raises(gb.Gem5Error, match="did not run the program.*m5 readfile gave no script"):
        gb.run_gem5_fs(cmd, tmp_path / "m5out", tmp_path)


def test_run_gem5_fs_wall_timeout_names_the_last_console_line(tmp_path):
    script = tmp_path / "slow.py"
    m5out = tmp_path / "m5out"
    m5out.mkdir()
    (m5out / "system.terminal").write_text("[    0.5] Freeing unused kernel memory\n")
    script.write_text("import time; time.sleep(30)\n")
    with pytest.raises(gb.Gem5Error, match=r"stopped after 1 s \(wall clock\); last console line: \[    0.5\] Freeing"):
        gb.run_gem5_fs([sys.executable, str(script)], m5out, tmp_path, timeout=1)


def test_run_gem5_fs_returns_the_roi_block(tmp_path):
    stats = gb.STATS_BEGIN + "\nsystem.minor.numCycles 5\n" + gb.STATS_BEGIN + "\nsystem.minor.numCycles 9\n"
    cmd = _fake_gem5(tmp_path, "axsim-fs: program exit 0, 4 output bytes\n", stats=stats)
    roi, console = gb.run_gem5_fs(cmd, tmp_path / "m5out", tmp_path)
    assert "numCycles 5" in roi and "numCycles 9" not in roi and "program exit 0" in console


# ---- `axsim gem5 ELF`: any static program, SE and FS (issue 17 item 2)
PROGRAM_SRC = ROOT / "benchmarks" / "results" / "gem5_reference_extra" / "src"


def _static_program(tmp_path: Path) -> Path:
    """branchy.c of the fidelity programs, built as its gem5 run was (prints a checksum)."""
    elf = tmp_path / "branchy"
    subprocess.run(["aarch64-linux-gnu-gcc", "-O2", "-static", "-nostdlib", "-ffreestanding", "-fno-pie",
                    "-no-pie", "-I", str(PROGRAM_SRC), str(PROGRAM_SRC / "branchy.c"), "-o", str(elf)],
                   check=True)
    return elf


def _fake_se_gem5(tmp_path: Path, program_out: bytes) -> Path:
    """An executable stand-in for gem5 in SE mode: writes stats.txt and the program's stdout."""
    fake = tmp_path / "fake_gem5"
    fake.write_text("#!" + sys.executable + "\n"
                    "import pathlib, sys\n"
                    "d = pathlib.Path(sys.argv[sys.argv.index('-d') + 1]); d.mkdir(parents=True, exist_ok=True)\n"
                    f"(d / 'stats.txt').write_text({gb.STATS_BEGIN!r} + '\\nsystem.cpu.numCycles 1234\\n')\n"
                    f"(d / sys.argv[sys.argv.index('--output') + 1]).write_bytes({program_out!r})\n")
    fake.chmod(0o755)
    return fake


def _axsim(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "axsim.cli", *argv], cwd=ROOT, capture_output=True, text=True)


def test_gem5_runs_a_static_program_and_checks_its_stdout_against_qemu(tmp_path):
    elf = _static_program(tmp_path)
    want = subprocess.run(["qemu-aarch64", str(elf)], capture_output=True, check=True).stdout
    assert want.strip()                                  # the program prints its checksum
    out = tmp_path / "run"
    proc = _axsim("gem5", str(elf), "--gem5", str(_fake_se_gem5(tmp_path, want)), "--sparce", "off",
                  "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["check"] == {"oracle": "qemu-aarch64", "bytes": len(want), "expected_bytes": len(want),
                            "identical": True}
    assert run["cycles"] == 1234 and run["mode"] == "se"
    assert "--binary" in run["command"] and str(elf.resolve()) in run["command"]


def test_gem5_static_program_with_wrong_output_fails(tmp_path):
    elf = _static_program(tmp_path)
    proc = _axsim("gem5", str(elf), "--gem5", str(_fake_se_gem5(tmp_path, b"0\n")), "--out", str(tmp_path / "r"))
    assert proc.returncode == 1 and "DIFFERENT" in proc.stdout


def test_gem5_target_neither_kernel_nor_elf_is_a_one_line_error(tmp_path):
    fake = _fake_se_gem5(tmp_path, b"")
    proc = _axsim("gem5", str(tmp_path / "nope"), "--gem5", str(fake), "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "no such file, and not a kernel" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    text = tmp_path / "text.elf"
    text.write_text("not an ELF")
    proc = _axsim("gem5", str(text), "--gem5", str(fake), "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and str(text) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_fs_program_dry_run_brackets_the_process_with_m5_stats(tmp_path):
    elf = _static_program(tmp_path)
    fs = tmp_path / "fs"
    fs.mkdir()
    for name in gb.FS_ARTEFACTS.values():
        (fs / name).write_bytes(b"x")
    out = tmp_path / "run"
    proc = _axsim("gem5", str(elf), "--fs", str(fs), "--dry-run", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    script = (out / "guest.sh").read_text()
    body = script[script.index("AXSIM_ELF_END\nchmod"):]
    lines = [ln for ln in body.splitlines() if ln.strip()]
    run_at = lines.index("./prog > prog.out")
    assert lines[run_at - 1] == "m5 resetstats" and lines[run_at + 2] == "m5 dumpstats"
    packed = script.split("<<'AXSIM_ELF_END'\n")[1].split("AXSIM_ELF_END")[0]
    assert base64.b64decode(packed) == elf.read_bytes()
    assert json.loads((out / "run.json").read_text())["mode"] == "fs"
