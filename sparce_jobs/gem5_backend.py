"""`axsim gem5`: run a kernel on gem5 (SE mode, ArmMinorCPU + the SPARCE unit of isa_ext/gem5).

The same kernel ELF as `axsim run` is built; since gem5 SE mode cannot take inputs from the host,
the inputs are written into a copy of the ELF (the kernels keep their arrays in .data, so every
input symbol has file-backed bytes) and the crt's `dump_output` flag is set, so the program writes
its output array to stdout, which gem5 stores in its outdir. The run uses
gem5_configs/se_sparce.py with the parameters of gem5_configs/params.py (a JSON dump after
--param overrides), then copies m5out/stats.txt to the output directory and checks the output
against the numpy reference bit for bit, as `axsim run` does.

gem5 itself is not part of axsim: build it with docker/Dockerfile.gem5 (gem5 v24.0.0.1 with
isa_ext/gem5 applied) and point --gem5 or $GEM5_ROOT at it (or $GEM5 at the binary).

Full system (`--fs DIR`, issue 17): DIR holds the artefacts of gem5_configs/fs_artefacts.sh (vmlinux,
initramfs.cpio, boot_v2.arm64). The baked ELF is put, base64-encoded, into a guest script
(guest.sh, read by the guest's /init with `m5 readfile`) that switches to the Minor core (`m5 exit`),
runs the program with its stdout in a file, copies the output to the host (`m5 writefile` ->
m5out/program.out) and exits. The ELF's crt marks the region of interest itself (fs_roi_elf: gem5
pseudo-instructions reset the stats before kernel_main and dump them after it). gem5 runs gem5_configs/fs_sparce.py; the
first stats block (the region of interest) becomes --out/stats.txt, the output is checked as in SE.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from atomic_output import copy_file, write_bytes
from gem5_configs.params import SystemParams

REPO = Path(__file__).resolve().parents[1]
SE_CONFIG = REPO / "gem5_configs" / "se_sparce.py"
FS_CONFIG = REPO / "gem5_configs" / "fs_sparce.py"
FS_ARTEFACTS = {"kernel": "vmlinux", "initrd": "initramfs.cpio", "bootloader": "boot_v2.arm64"}
STATS_BEGIN = "---------- Begin Simulation Statistics ----------"
GEM5_BINARY = Path("build") / "ARM" / "gem5.opt"
GEM5_BINARIES = (GEM5_BINARY, Path("build") / "ARM" / "gem5.fast")
PROGRAM_OUT = "program.out"


class Gem5Error(RuntimeError):
    """gem5 ran but failed (non-zero exit, no stats)."""


def find_gem5(explicit: str | Path | None = None, env: dict | None = None) -> Path:
    """The gem5 binary: --gem5 (a binary or a gem5 checkout), else $GEM5 (a binary), else
    $GEM5_ROOT/build/ARM/gem5.opt (or gem5.fast). FileNotFoundError names every path it looked at."""
    env = os.environ if env is None else env
    candidates: list[Path] = []
    if explicit:
        path = Path(explicit)
        candidates += [path / b for b in GEM5_BINARIES] if path.is_dir() else [path]
    elif env.get("GEM5"):
        candidates.append(Path(env["GEM5"]))
    elif env.get("GEM5_ROOT"):
        candidates += [Path(env["GEM5_ROOT"]) / b for b in GEM5_BINARIES]
    else:
        raise FileNotFoundError(
            "gem5 not found: pass --gem5 PATH (gem5.opt/gem5.fast or a gem5 checkout), set GEM5 to the binary "
            f"or GEM5_ROOT to a gem5 tree with {GEM5_BINARY} (build one with docker/Dockerfile.gem5; see "
            "isa_ext/gem5/README.md)")
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"gem5 binary not found at {looked} (build gem5 v24.0.0.1 with isa_ext/gem5 "
                            "applied: docker/Dockerfile.gem5, or see isa_ext/gem5/README.md)")


def bake_elf(elf: Path, inputs: dict[str, np.ndarray], out: Path, dump_output: bool = True) -> Path:
    """Copy `elf` to `out` with each input array written at its symbol (file-backed bytes of a
    PT_LOAD segment) and `dump_output` set to 1. ValueError when a symbol has no file bytes."""
    from sparce_sim.loader import load_elf

    program = load_elf(elf)
    data = bytearray(elf.read_bytes())

    def put(name: str, payload: bytes) -> None:
        sym = program.symbol(name)
        if len(payload) > sym.size:
            raise ValueError(f"{elf}: input {name} has {len(payload)} bytes, the symbol {sym.size}")
        start = program.file_offset(sym.addr, len(payload))
        if start is None:
            raise ValueError(f"{elf}: symbol {name} at {sym.addr:#x} has no file-backed bytes (.bss?); "
                             "gem5 SE mode cannot receive it")
        data[start:start + len(payload)] = payload

    for name, array in inputs.items():
        put(name, np.ascontiguousarray(array).tobytes())
    if dump_output:
        put("dump_output", (1).to_bytes(8, "little"))
    write_bytes(out, bytes(data), mode=0o755)
    return out


def gem5_command(gem5: Path | str, elf: Path, m5out: Path, params_json: Path, sparce: bool,
                 mem: str = "simple", max_insts: int | None = None,
                 skippable_rule: str = "issue") -> list[str]:
    cmd = [str(gem5), "-d", str(m5out), str(SE_CONFIG), "--binary", str(elf),
           "--sparce", "on" if sparce else "off", "--params-json", str(params_json), "--mem", mem,
           "--output", PROGRAM_OUT]
    if skippable_rule != "issue":
        cmd += ["--skippable-rule", skippable_rule]
    if max_insts:
        cmd += ["--max-insts", str(max_insts)]
    return cmd


def run_gem5(cmd: list[str], m5out: Path, out_dir: Path, timeout: float | None = None) -> Path:
    """Run gem5; copy m5out/stats.txt to out_dir/stats.txt (atomically) and return that path."""
    log = out_dir / "gem5.log"
    with log.open("w") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout)
    stats = m5out / "stats.txt"
    if proc.returncode != 0 or not stats.is_file() or stats.stat().st_size == 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise Gem5Error(f"gem5 exited with {proc.returncode} (log {log}):\n" + "\n".join(tail))
    return copy_file(stats, out_dir / "stats.txt")


def fs_artefacts(fs_dir: str | Path) -> dict[str, Path]:
    """The FS artefacts in fs_dir; FileNotFoundError names the first one missing."""
    fs_dir = Path(fs_dir)
    if not fs_dir.is_dir():
        raise FileNotFoundError(f"--fs {fs_dir}: no such directory (make it with gem5_configs/fs_artefacts.sh DIR)")
    found = {}
    for what, name in FS_ARTEFACTS.items():
        path = fs_dir / name
        if not path.is_file() or path.stat().st_size == 0:
            raise FileNotFoundError(f"{what} {path} not found (make it with gem5_configs/fs_artefacts.sh {fs_dir})")
        found[what] = path
    return found


M5OP_INST = 0xFF000110            # gem5's AArch64 pseudo-instruction (util/m5/src/abi/arm64/m5op.S)
M5OP_RESET_STATS, M5OP_DUMP_STATS = 0x40, 0x41
# kernels/crt0.S's _start: (word, mask) per instruction; masked bits are addresses the linker fills in
CRT_START = [(0xD280001D, ~0), (0xD280001E, ~0), (0x94000000, 0xFC000000),          # mov x29/x30, #0; bl kernel_main
             (0x90000009, 0x9F00001F), (0xF9400129, 0xFFC003FF), (0xB4000009, 0xFF00001F)]  # adrp/ldr x9; cbz x9


def fs_roi_elf(elf: Path) -> bytes:
    """The baked ELF with the region of interest marked by gem5 pseudo-instructions in the crt:
    `_start`'s `mov x29, #0` becomes m5_reset_stats (x0 = x1 = 0: Linux starts a process with every
    register zero, so x29 is zero anyway), and the dump_output test after kernel_main (always true in
    a baked ELF) becomes `mov x0, #0; mov x1, #0; m5_dump_stats`. The ROI is then kernel_main alone,
    as in SE mode minus the crt's write/exit; for FS runs only (other simulators do not decode m5ops).
    ValueError when _start is not kernels/crt0.S's."""
    from sparce_sim.loader import load_elf

    data = bytearray(elf.read_bytes())
    start = load_elf(elf).symbol("_start").addr
    offset = _file_offset(elf, start, 4 * len(CRT_START))
    words = [int.from_bytes(data[offset + 4 * i:offset + 4 * i + 4], "little") for i in range(len(CRT_START))]
    for i, (word, (want, mask)) in enumerate(zip(words, CRT_START)):
        if word & mask & 0xFFFFFFFF != want & mask & 0xFFFFFFFF:
            raise ValueError(f"{elf}: _start+{4 * i:#x} is {word:#010x}, not kernels/crt0.S's; cannot mark the ROI")
    new = {0: M5OP_INST | M5OP_RESET_STATS << 16, 3: 0xD2800000, 4: 0xD2800001, 5: M5OP_INST | M5OP_DUMP_STATS << 16}
    for i, word in new.items():
        data[offset + 4 * i:offset + 4 * i + 4] = word.to_bytes(4, "little")
    return bytes(data)


def _file_offset(elf: Path, vaddr: int, size: int) -> int:
    from elftools.elf.elffile import ELFFile
    with elf.open("rb") as fh:
        for s in ELFFile(fh).iter_segments():
            if s["p_type"] == "PT_LOAD" and s["p_vaddr"] <= vaddr and vaddr + size <= s["p_vaddr"] + s["p_filesz"]:
                return s["p_offset"] + vaddr - s["p_vaddr"]
    raise ValueError(f"{elf}: {vaddr:#x} has no file-backed bytes")


def guest_script(elf_bytes: bytes, name: str = "prog", roi_in_script: bool = False) -> str:
    """The script the guest's /init runs (m5 readfile): unpack the ELF, switch CPUs, run it (the ELF
    of fs_roi_elf resets and dumps the stats around kernel_main itself; any other program gets
    `m5 resetstats` / `m5 dumpstats` around its process with roi_in_script), send its stdout to the
    host as program.out, exit."""
    import base64
    import hashlib
    b64 = base64.encodebytes(elf_bytes).decode()
    return f"""#!/bin/sh
# written by axsim gem5 --fs (sparce_jobs/gem5_backend.py); run by the guest's /init
cd /tmp
base64 -d > {name} <<'AXSIM_ELF_END'
{b64}AXSIM_ELF_END
chmod 755 {name}
echo "axsim-fs: {name} $(wc -c < {name}) bytes md5 $(md5sum {name} | cut -d' ' -f1) (host {hashlib.md5(elf_bytes).hexdigest()})"
echo "axsim-fs: switching to ArmMinorCPU"
m5 exit
{"m5 resetstats" if roi_in_script else ""}
./{name} > {name}.out
rc=$?
{"m5 dumpstats" if roi_in_script else ""}
echo "axsim-fs: program exit $rc, $(wc -c < {name}.out) output bytes"
m5 writefile {name}.out {PROGRAM_OUT} > /dev/null
m5 exit
"""


def fs_gem5_command(gem5: Path | str, artefacts: dict[str, Path], script: Path, m5out: Path,
                    params_json: Path, sparce: bool, mem: str = "simple", skippable_rule: str = "issue",
                    boot_limit_s: float | None = None) -> list[str]:
    cmd = [str(gem5), "-d", str(m5out), str(FS_CONFIG), "--kernel", str(artefacts["kernel"]),
           "--initrd", str(artefacts["initrd"]), "--bootloader", str(artefacts["bootloader"]),
           "--script", str(script), "--sparce", "on" if sparce else "off",
           "--params-json", str(params_json), "--mem", mem]
    if skippable_rule != "issue":
        cmd += ["--skippable-rule", skippable_rule]
    if boot_limit_s:
        cmd += ["--boot-limit-s", str(boot_limit_s)]
    return cmd


def last_console_line(m5out: Path) -> str:
    path = m5out / "system.terminal"
    if not path.is_file():
        return "(no console output)"
    lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "(console empty)"


def roi_stats(stats_text: str) -> str:
    """The first stats block of a gem5 stats.txt (the one `m5 dumpstats` wrote at the ROI's end)."""
    blocks = stats_text.split(STATS_BEGIN)
    if len(blocks) < 2:
        raise Gem5Error("stats.txt has no statistics block")
    return STATS_BEGIN + blocks[1].rstrip("\n") + "\n"


def run_gem5_fs(cmd: list[str], m5out: Path, out_dir: Path, timeout: float | None = None) -> tuple[str, str]:
    """Run an FS simulation. Returns (ROI stats text, console text). Gem5Error names the last console
    line on a timeout, a gem5 failure or a program that failed inside the guest."""
    import re
    log = out_dir / "gem5.log"
    with log.open("w") as fh:
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                                  timeout=timeout)   # no tty: gem5 opens no terminal/VNC listeners
        except subprocess.TimeoutExpired:
            raise Gem5Error(f"gem5 FS run stopped after {timeout:g} s (wall clock); last console line: "
                            f"{last_console_line(m5out)}") from None
    console = (m5out / "system.terminal").read_text(errors="replace") if (m5out / "system.terminal").is_file() else ""
    if proc.returncode != 0:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
        why = [ln for ln in lines if re.search(r"\b(panic|fatal):|^fs_sparce\.py: ", ln)] or lines[-3:]
        raise Gem5Error(f"gem5 FS run exited with {proc.returncode} (log {log}); last console line: "
                        f"{last_console_line(m5out)}; gem5: " + " | ".join(why[:3]))
    m = re.search(r"axsim-fs: program exit (\d+)", console)
    if not m:
        raise Gem5Error(f"the guest did not run the program (log {log}); last console line: "
                        f"{last_console_line(m5out)}")
    if m.group(1) != "0":
        raise Gem5Error(f"the program failed inside the guest: exit status {m.group(1)} (console {m5out / 'system.terminal'})")
    if not re.search(r"axsim-fs: program exit 0, \d+ output bytes", console):
        # the guest's own `wc` after the program failed: the system is not sound after it (this
        # is how a SASA table that outlived its program showed itself)
        raise Gem5Error(f"a guest command after the program failed (console {m5out / 'system.terminal'}); "
                        f"last console line: {last_console_line(m5out)}")
    stats = m5out / "stats.txt"
    if not stats.is_file() or stats.stat().st_size == 0:
        raise Gem5Error(f"gem5 wrote no stats.txt (log {log})")
    return roi_stats(stats.read_text()), console


def register(sub: argparse._SubParsersAction) -> None:
    from kernels.build import KERNELS

    p = sub.add_parser("gem5", help="run a kernel or a static program on gem5 (ArmMinorCPU + SPARCE unit) "
                                    "-> stats.txt")
    p.add_argument("kernel", metavar="TARGET",
                   help=f"kernel name ({', '.join(sorted(KERNELS))}: built, fed and checked against numpy) or "
                        "path to a static AArch64 ELF (its stdout checked against qemu-aarch64's)")
    p.add_argument("--gem5", default=None, metavar="PATH",
                   help="gem5.opt/gem5.fast, or a gem5 checkout with build/ARM/gem5.opt "
                        "(default: $GEM5, then $GEM5_ROOT)")
    p.add_argument("--shape", default="small", help="shape preset: small (default) or conv4")
    for dim in ("m", "n", "k", "c", "h", "w", "oc"):
        p.add_argument(f"--{dim}", type=int)
    p.add_argument("--sparsity", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sasa", choices=("hand", "compiled"), default=None,
                   help="SASA table source (default: hand for dot/dirconv, compiled for sgemm)")
    p.add_argument("--sparce", choices=("on", "off"), default="on")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a system parameter (gem5_configs/params.py)")
    p.add_argument("--mem", choices=("simple", "ddr3"), default="simple",
                   help="main memory: fixed dram_latency (as sparce_sim) or gem5's DDR3 model")
    p.add_argument("--skippable-rule", choices=("issue", "fetch"), default="issue",
                   help="gem5 unit: a skippable region resolving true is skipped while none of its "
                        "instructions has issued (issue, default) or only while fetch is inside it "
                        "(fetch, sparce_sim's rule); see isa_ext/gem5/README.md")
    p.add_argument("--max-insts", type=int, default=None)
    p.add_argument("--fs", default=None, metavar="DIR",
                   help="full system: boot Linux (artefacts of gem5_configs/fs_artefacts.sh in DIR) and run "
                        "the kernel there on ArmMinorCPU; stats.txt is the region of interest only")
    p.add_argument("--boot-limit-s", type=float, default=None,
                   help="--fs: simulated seconds allowed for the boot (fs_sparce.py's default: 30)")
    p.add_argument("--timeout", type=float, default=None, help="seconds before gem5 is stopped")
    p.add_argument("--dry-run", action="store_true",
                   help="build the ELF, params.json and the gem5 command line, but do not run gem5")
    p.add_argument("--out", type=Path, default=Path("out/gem5"))
    p.set_defaults(func=cmd_gem5)


def cmd_gem5(args: argparse.Namespace) -> int:
    """`axsim gem5`: a failed gem5 run (Gem5Error, which names the log and the console's last line)
    is a one-line error and exit status 1."""
    try:
        return _cmd_gem5(args)
    except Gem5Error as exc:
        print(f"axsim gem5: error: {exc}", file=sys.stderr)
        return 1


def _cmd_gem5(args: argparse.Namespace) -> int:
    from .run_cli import default_sasa, system_params
    from .kernel_run import dims_for, kernel_elf, make_inputs, reference, to_memory
    from kernels.build import kernel_spec

    params: SystemParams = system_params(args.param)
    if args.max_insts is not None and args.max_insts <= 0:
        raise ValueError(f"--max-insts must be positive, got {args.max_insts}")
    artefacts = fs_artefacts(args.fs) if args.fs else None          # fail before any build
    if artefacts and args.max_insts is not None:
        raise ValueError("--max-insts is for SE mode; an FS run ends when the guest script exits")
    gem5 = "gem5.opt" if args.dry_run else find_gem5(args.gem5)   # fail before any build
    from kernels.build import KERNELS
    if args.kernel not in KERNELS:
        return _cmd_gem5_program(args, gem5, artefacts, params)
    dims = dims_for(args.kernel, args.shape, m=args.m, n=args.n, k=args.k, c=args.c, h=args.h,
                    w=args.w, oc=args.oc)
    sparce = args.sparce == "on"
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    elf = kernel_elf(args.kernel, dims, default_sasa(args.kernel, args.sasa) if sparce else "none")
    inputs = make_inputs(args.kernel, dims, args.sparsity, args.seed)
    ref = reference(args.kernel, inputs)
    baked = bake_elf(elf, {k: to_memory(v) for k, v in inputs.items()}, out / f"{args.kernel}.elf")
    params_json = out / "params.json"
    params_json.write_text(json.dumps(params.as_dict(), indent=1))
    m5out = out / "m5out"
    if artefacts:
        return _cmd_gem5_fs(args, gem5, artefacts, baked, params_json, m5out, sparce, dims, ref)
    cmd = gem5_command(gem5, baked, m5out, params_json, sparce, args.mem, args.max_insts,
                       args.skippable_rule)
    (out / "command.txt").write_text(" ".join(cmd) + "\n")
    meta = {"kernel": args.kernel, "dims": dims, "sparsity": args.sparsity, "seed": args.seed,
            "sparce": sparce, "mem": args.mem, "skippable_rule": args.skippable_rule, "command": cmd}
    if args.dry_run:
        (out / "run.json").write_text(json.dumps(meta, indent=1))
        print(" ".join(cmd))
        return 0
    stats = run_gem5(cmd, m5out, out, args.timeout)
    spec = kernel_spec(args.kernel)
    raw = (m5out / PROGRAM_OUT).read_bytes() if (m5out / PROGRAM_OUT).is_file() else b""
    output = np.frombuffer(raw[:ref.nbytes], dtype=np.float32)
    exact = output.size == ref.size and bool(np.array_equal(output.view(np.uint32), ref.view(np.uint32)))
    meta["check"] = {"output": spec.output, "bytes": len(raw), "bit_exact": exact}
    (out / "run.json").write_text(json.dumps(meta, indent=1))
    print(f"gem5 stats in {stats}; output vs numpy: {'bit-exact' if exact else 'MISMATCH'}")
    return 0 if exact else 1


def _cmd_gem5_fs(args, gem5, artefacts, baked: Path, params_json: Path, m5out: Path, sparce: bool,
                 dims: dict, ref: np.ndarray) -> int:
    import re
    import time

    from atomic_output import write_bytes, write_text
    from kernels.build import kernel_spec

    out: Path = args.out
    script = out / "guest.sh"
    roi_elf = write_bytes(out / f"{baked.stem}.fs.elf", fs_roi_elf(baked), mode=0o755)
    write_text(script, guest_script(roi_elf.read_bytes(), baked.stem))
    cmd = fs_gem5_command(gem5, artefacts, script, m5out, params_json, sparce, args.mem,
                          args.skippable_rule, args.boot_limit_s)
    (out / "command.txt").write_text(" ".join(cmd) + "\n")
    meta = {"kernel": args.kernel, "mode": "fs", "fs": {k: str(v) for k, v in artefacts.items()},
            "dims": dims, "sparsity": args.sparsity, "seed": args.seed, "sparce": sparce, "mem": args.mem,
            "skippable_rule": args.skippable_rule, "command": cmd}
    if args.dry_run:
        (out / "run.json").write_text(json.dumps(meta, indent=1))
        print(" ".join(cmd))
        return 0
    _fresh_m5out(m5out)
    t0 = time.monotonic()
    roi, console = run_gem5_fs(cmd, m5out, out, args.timeout)
    meta["wall_s"] = round(time.monotonic() - t0, 1)
    stats = write_text(out / "stats.txt", roi)
    spec = kernel_spec(args.kernel)
    raw = (m5out / PROGRAM_OUT).read_bytes() if (m5out / PROGRAM_OUT).is_file() else b""
    output = np.frombuffer(raw[:ref.nbytes], dtype=np.float32)
    exact = output.size == ref.size and bool(np.array_equal(output.view(np.uint32), ref.view(np.uint32)))
    cycles = re.search(r"^system\.minor\.numCycles\s+(\d+)", roi, re.M)
    meta["check"] = {"output": spec.output, "bytes": len(raw), "bit_exact": exact}
    meta["roi_cycles"] = int(cycles.group(1)) if cycles else None
    meta["console_tail"] = [ln for ln in console.splitlines() if ln.startswith("axsim-fs:")]
    (out / "run.json").write_text(json.dumps(meta, indent=1))
    print(f"gem5 FS ROI stats in {stats} (system.minor.numCycles {meta['roi_cycles']}); "
          f"output vs numpy: {'bit-exact' if exact else 'MISMATCH'}")
    return 0 if exact else 1


def _fresh_m5out(m5out: Path) -> None:
    """Remove an earlier run's m5out: its console and stats must not be read as this run's."""
    if m5out.exists():
        import shutil
        shutil.rmtree(m5out)


def program_oracle(elf: Path, timeout: float = 600) -> tuple[bytes, str]:
    """The program's expected stdout and where it came from: qemu-aarch64 (an independent emulator),
    or, for an ELF qemu cannot run (SASA-LD is undefined there), sparce_sim with SPARCE off, where
    SASA-LD loads nothing (its plain execution is checked against qemu in tests/test_engine_kernels.py)."""
    from .kernel_verify import VerifyError, run_qemu
    try:
        return run_qemu(elf, timeout), "qemu-aarch64"
    except VerifyError as exc:
        from sparce_sim.runner import simulate
        result = simulate(elf, sparce=False)
        if result.exit_code != 0:
            raise ValueError(f"{elf}: the program exits with {result.exit_code} on sparce_sim too; "
                             f"qemu-aarch64: {exc}") from None
        return result.stdout, "sparce_sim (SPARCE off; qemu-aarch64 could not run it)"


def _cmd_gem5_program(args, gem5, artefacts, params: SystemParams) -> int:
    """`axsim gem5 ELF`: a static program as it is, in SE or (--fs) FS mode; its stdout is checked
    against program_oracle's. In FS mode the region of interest is the program's process."""
    import re
    import time

    from atomic_output import write_text
    from sparce_sim.loader import load_elf

    elf = Path(args.kernel)
    if not elf.is_file():
        from kernels.build import KERNELS
        raise FileNotFoundError(f"{elf}: no such file, and not a kernel ({', '.join(sorted(KERNELS))})")
    load_elf(elf)                                   # a static AArch64 ELF, or a one-line LoadError
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    params_json = write_text(out / "params.json", json.dumps(params.as_dict(), indent=1))
    m5out = out / "m5out"
    sparce = args.sparce == "on"
    if artefacts:
        script = write_text(out / "guest.sh", guest_script(elf.read_bytes(), "prog", roi_in_script=True))
        cmd = fs_gem5_command(gem5, artefacts, script, m5out, params_json, sparce, args.mem,
                              args.skippable_rule, args.boot_limit_s)
    else:
        cmd = gem5_command(gem5, elf.resolve(), m5out, params_json, sparce, args.mem, args.max_insts,
                           args.skippable_rule)
    (out / "command.txt").write_text(" ".join(cmd) + "\n")
    meta = {"program": str(elf), "mode": "fs" if artefacts else "se", "sparce": sparce, "mem": args.mem,
            "skippable_rule": args.skippable_rule, "command": cmd}
    if args.dry_run:
        (out / "run.json").write_text(json.dumps(meta, indent=1))
        print(" ".join(cmd))
        return 0
    expected, oracle = program_oracle(elf)
    _fresh_m5out(m5out)
    t0 = time.monotonic()
    if artefacts:
        roi, _console = run_gem5_fs(cmd, m5out, out, args.timeout)
        stats = write_text(out / "stats.txt", roi)
        cycles = re.search(r"^system\.minor\.numCycles\s+(\d+)", roi, re.M)
    else:
        stats = run_gem5(cmd, m5out, out, args.timeout)
        cycles = re.search(r"^system\.cpu\.numCycles\s+(\d+)", stats.read_text(), re.M)
    meta["wall_s"] = round(time.monotonic() - t0, 1)
    raw = (m5out / PROGRAM_OUT).read_bytes() if (m5out / PROGRAM_OUT).is_file() else b""
    meta["check"] = {"oracle": oracle, "bytes": len(raw), "expected_bytes": len(expected),
                     "identical": raw == expected}
    meta["cycles"] = int(cycles.group(1)) if cycles else None
    (out / "run.json").write_text(json.dumps(meta, indent=1))
    print(f"gem5 {'FS ROI ' if artefacts else ''}stats in {stats} (cycles {meta['cycles']}); program stdout vs "
          f"{oracle}: {'identical' if raw == expected else 'DIFFERENT'}")
    return 0 if raw == expected else 1


if __name__ == "__main__":   # python3 -m sparce_jobs.gem5_backend KERNEL ... (before cli.py wires it)
    parser = argparse.ArgumentParser(prog="axsim")
    register(parser.add_subparsers(dest="command", required=True))
    ns = parser.parse_args(["gem5"] + sys.argv[1:])
    try:
        sys.exit(ns.func(ns))
    except (ValueError, FileNotFoundError) as exc:
        print(f"axsim gem5: error: {exc}", file=sys.stderr)
        sys.exit(2)
