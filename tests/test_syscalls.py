"""Ordinary static glibc programs on the engine (issue 11; the SE-mode setting of dissertation §4.3.1).

qemu-aarch64 is the oracle: the same ELF must print the same stdout and stderr and exit with the
same code on both engines. Also: simout/simerr beside stats.txt, a store into .text faults with its
PC (as on hardware), an unsupported system call is refused with its PC and name.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sparce_sim.engine import SimulationError
from sparce_sim.loader import load_elf
from sparce_sim.runner import simulate

pytestmark = pytest.mark.skipif(shutil.which("aarch64-linux-gnu-gcc") is None or shutil.which("qemu-aarch64") is None,
                                reason="needs aarch64-linux-gnu-gcc and qemu-aarch64")

HELLO = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/utsname.h>
int main(void) {
    struct utsname u; uname(&u);
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    float *small = malloc(1000 * sizeof(float));             /* brk */
    double *big = malloc(3 << 20);                             /* mmap (above the threshold) */
    double s = 0;
    for (int i = 0; i < 1000; i++) small[i] = i * 0.5f;
    for (int i = 0; i < (3 << 20) / 8; i += 4096) big[i] = i;
    for (int i = 0; i < 1000; i++) s += small[i];
    for (int i = 0; i < (3 << 20) / 8; i += 4096) s += big[i];
    big = realloc(big, 5 << 20);
    free(big);                                                 /* munmap */
    printf("machine %s sum %.3f\n", u.machine, s);
    fprintf(stderr, "to stderr %d\n", 42);
    free(small);
    return 3;
}
"""


def _build(tmp: Path, name: str, source: str) -> Path:
    c = tmp / f"{name}.c"
    c.write_text(source)
    elf = tmp / name
    subprocess.run(["aarch64-linux-gnu-gcc", "-O2", "-static", str(c), "-o", str(elf)], check=True)
    return elf


@pytest.fixture(scope="module")
def hello(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("prog"), "hello", HELLO)


@pytest.mark.parametrize("engine", ["native", "python"])
def test_static_glibc_program_matches_qemu(hello, engine):
    want = subprocess.run(["qemu-aarch64", str(hello)], capture_output=True)
    got = simulate(hello, engine=engine)
    assert want.stdout.startswith(b"machine aarch64 sum")
    assert (got.stdout, got.stderr, got.exit_code) == (want.stdout, want.stderr, want.returncode)


def test_axsim_run_shows_and_saves_simout_simerr(hello, tmp_path, capfd):
    from axsim.cli import main
    rc = main(["run", str(hello), "--out", str(tmp_path / "o"), "--sparce", "off"])
    out, err = capfd.readouterr()
    assert rc == 3
    assert "machine aarch64 sum" in out and "to stderr 42" in err
    assert (tmp_path / "o" / "simout").read_bytes().startswith(b"machine aarch64")
    assert (tmp_path / "o" / "simerr").read_bytes() == b"to stderr 42\n"
    assert (tmp_path / "o" / "stats.txt").is_file()


def test_store_into_text_faults_with_its_pc(tmp_path):
    elf = _build(tmp_path, "wtext", "int main(void){ volatile unsigned *p = (unsigned *)(void *)main; "
                                    "*p = 0; return 0; }")
    assert subprocess.run(["qemu-aarch64", str(elf)], capture_output=True).returncode != 0
    main = load_elf(elf).symbol("main")
    for engine in ("native", "python"):
        with pytest.raises(SimulationError, match=rf"PC 0x[0-9a-f]+: write to read-only address {main.addr:#x}") as e:
            simulate(elf, engine=engine)
        assert main.addr <= e.value.pc < main.addr + main.size


def test_unsupported_syscall_is_refused_with_pc_and_name(tmp_path):
    elf = _build(tmp_path, "sock", "int main(void){ register long x8 __asm__(\"x8\") = 198; "
                                   "register long x0 __asm__(\"x0\") = 2; "
                                   "__asm__ volatile(\"svc #0\" : \"+r\"(x0) : \"r\"(x8)); return 0; }")
    main = load_elf(elf).symbol("main")
    for engine in ("native", "python"):
        with pytest.raises(SimulationError, match=r"PC 0x[0-9a-f]+: unsupported syscall 198 \(socket\)") as e:
            simulate(elf, engine=engine)
        assert main.addr <= e.value.pc < main.addr + main.size
