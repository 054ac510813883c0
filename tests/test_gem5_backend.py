"""The gem5 backend, checked without gem5 (it cannot be installed or built on this machine).

- The C++ constants of isa_ext/gem5 (sparce_core.hh) equal isa_ext/encoding.py, parsed from the header.
- The C++ core logic (entry/SASA-LD decoding, SpRF, PSRU) is compiled with the host g++ and driven
  against encoding.py and the PSRU rules of sparce_sim/sparce.py.
- gem5_configs/se_sparce.py is checked against gem5's own declarations in
  tests/test_gem5_se_config.py.
- The patch applier's anchors are checked against a real gem5 v24.0.0.1 tree when GEM5_SRC points
  at one (skipped otherwise).
- `axsim gem5` without gem5 fails with exit code 2 and the path it looked for; the ELF it would hand
  gem5 (inputs baked in, dump_output set) runs on sparce_sim and prints the reference output.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gem5_configs.params import MINOR_DEFAULT
from isa_ext import encoding as enc

ROOT = Path(__file__).resolve().parents[1]
GEM5_DIR = ROOT / "isa_ext" / "gem5"
CORE_HH = GEM5_DIR / "src" / "cpu" / "sparce" / "sparce_core.hh"
UNIT_CC = GEM5_DIR / "src" / "cpu" / "sparce" / "sparce_unit.cc"
UNIT_PY = GEM5_DIR / "src" / "cpu" / "sparce" / "SparceUnit.py"
SE_CONFIG = ROOT / "gem5_configs" / "se_sparce.py"


# ---------------------------------------------------------------- constants


def header_constants() -> dict[str, int]:
    text = CORE_HH.read_text()
    return {m.group(1): int(m.group(2), 0)
            for m in re.finditer(r"constexpr\s+\w+\s+(\w+)\s*=\s*(0x[0-9A-Fa-f]+|\d+)\s*;", text)}


def test_header_constants_match_encoding_py():
    c = header_constants()
    assert c["SASA_LD_BASE"] == enc.SASA_LD_BASE
    assert c["SASA_LD_MASK"] == enc.SASA_LD_MASK
    assert c["ENTRY_BYTES"] == enc.ENTRY_BYTES
    assert c["MAX_INSTS_TO_SKIP"] == enc.MAX_INSTS_TO_SKIP
    assert c["MAX_TABLE_SIZE"] == enc.MAX_TABLE_SIZE
    assert c["NO_OPERAND"] == enc.NO_OPERAND
    assert c["VECTOR_LANES"] == enc.VECTOR_LANES
    assert (c["COND_SINGLE"], c["COND_OR"], c["COND_AND"]) == (enc.CondOp.SINGLE, enc.CondOp.OR, enc.CondOp.AND)
    # SASA-LD field layout, derived from encode_sasa_ld rather than restated
    assert enc.encode_sasa_ld(7, 1) == c["SASA_LD_BASE"] | 1 << c["SASA_LD_SIZE_SHIFT"] | 7
    assert enc.encode_sasa_ld(30, enc.MAX_TABLE_SIZE) >> c["SASA_LD_SIZE_SHIFT"] & c["SASA_LD_SIZE_MASK"] \
        == enc.MAX_TABLE_SIZE
    assert enc.encode_sasa_ld(30, 1) & c["SASA_LD_RN_MASK"] == 30
    # SpRF operand code layout, from SpRFOperand.code()
    assert enc.SpRFOperand("x30").code() == 30 & c["OPND_REG_MASK"]
    assert enc.SpRFOperand("v0").code() == c["OPND_VFILE"]
    for lane in range(enc.VECTOR_LANES):
        assert enc.SpRFOperand("v9", lane).code() == \
            9 | c["OPND_VFILE"] | c["OPND_HAS_LANE"] | (lane & c["OPND_LANE_MASK"]) << c["OPND_LANE_SHIFT"]
    assert c["OPND_VALID_BITS"] == 0x1FF       # encoding.py rejects code & ~0x1FF
    with pytest.raises(enc.SasaError):
        enc.SpRFOperand.from_code(c["OPND_VALID_BITS"] + 1)


def test_header_constant_parser_sees_every_constant():
    """The regex must not silently miss a constant (e.g. after a reformat)."""
    declared = re.findall(r"constexpr\s+\w+\s+(\w+)\s*=", CORE_HH.read_text())
    assert set(declared) == set(header_constants())
    assert len(declared) >= 20


def test_stat_names_match_sparce_sim():
    """The Scalars SparceUnit registers are the system.cpu.sparce.* names sparce_sim writes, plus the
    gem5-only ones that explain its differences (documented in isa_ext/gem5/README.md)."""
    import inspect

    from sparce_sim import stats
    py_names = set(re.findall(r'put\(f"\{base\}\.(\w+)"', inspect.getsource(stats._sparce_stats)))
    cc = UNIT_CC.read_text()
    cc_names = set(re.findall(r"ADD_STAT\((\w+),", cc))
    assert cc_names - py_names == {"skippableTooLate", "fetchRedirects", "otherSpaceFetches"}
    assert py_names <= cc_names
    assert {"instsSkipped", "regionsSkipped", "regionsSkippable", "skippableResolvedTrue", "squashedInsts",
            "sasaLookups", "sasaHits", "sasaLoads"} <= cc_names


def test_simobject_param_defaults_are_table_4_1():
    text = UNIT_PY.read_text()
    sasa = re.search(r"sasaEntries\s*=\s*Param\.Unsigned\(\s*(\d+)", text)
    sprf = re.search(r"sprfEntries\s*=\s*Param\.Unsigned\(\s*(\d+)", text)
    assert int(sasa.group(1)) == MINOR_DEFAULT.sasa_entries
    assert int(sprf.group(1)) == MINOR_DEFAULT.sprf_entries


# ---------------------------------------------------------------- the C++ core, compiled here


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    gxx = shutil.which(os.environ.get("CXX", "g++"))
    if gxx is None:
        pytest.skip("no host C++ compiler")
    exe = tmp_path_factory.mktemp("core") / "core_check"
    base = [gxx, "-std=c++17", "-Wall", "-Wextra", "-Werror", "-O1", "-o", str(exe),
            str(GEM5_DIR / "test" / "core_check.cc")]
    # with AddressSanitizer/UBSan where the compiler has them: the PSRU keeps pointers into the
    # table and deques of records, and a use-after-free there would otherwise pass silently
    sanitized = subprocess.run(base + ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"],
                               capture_output=True)
    if sanitized.returncode != 0:
        subprocess.run(base, check=True, capture_output=True)

    def run(lines: list[str]) -> list[str]:
        out = subprocess.run([str(exe)], input="\n".join(lines) + "\n", text=True, capture_output=True,
                             check=True).stdout
        return out.splitlines()
    return run


def test_cpp_sasa_ld_decode_matches_encoding_py(core):
    rng = np.random.default_rng(1)
    words = [enc.encode_sasa_ld(int(rng.integers(0, 31)), int(rng.integers(1, 0x10000))) for _ in range(50)]
    words += [0x02000000 | 31, 0x02000000 | 5, 0x02200005 | 1 << 5, 0x12345678, 0xD503201F, 0x02000000 | 3 << 5 | 31]
    answers = core([f"ld {w:08x}" for w in words])
    for w, ans in zip(words, answers):
        try:
            py = enc.decode_sasa_ld(w)
        except enc.SasaError:
            assert ans.startswith("sasa ") and ans.endswith(" 0"), (hex(w), ans)
            continue
        if py is None:
            assert ans == "none", (hex(w), ans)
        else:
            assert ans == f"sasa {py[0]} {py[1]} 1", (hex(w), ans)


def _random_entry(rng) -> enc.SasaEntry:
    def operand():
        if rng.random() < 0.4:
            return enc.SpRFOperand(f"x{int(rng.integers(0, 31))}")
        lane = None if rng.random() < 0.3 else int(rng.integers(0, 4))
        return enc.SpRFOperand(f"v{int(rng.integers(0, 32))}", lane)
    op = enc.CondOp(int(rng.integers(0, 3)))
    ops = (operand(),) if op == enc.CondOp.SINGLE else (operand(), operand())
    return enc.SasaEntry(int(rng.integers(0, 1 << 40)) * 4, int(rng.integers(1, 0x10000)), op, ops)


def test_cpp_entry_decode_matches_encoding_py(core):
    rng = np.random.default_rng(2)
    raws = [enc.encode_entry(_random_entry(rng)) for _ in range(200)]
    # corrupt some rows in each field so both decoders must reject (or accept) them alike
    for i in range(120):
        raw = bytearray(raws[i % 40])
        pos = int(rng.integers(8, 16))
        raw[pos] = int(rng.integers(0, 256))
        raws.append(bytes(raw))
    raws.append(struct.pack("<QHBBHH", 0x1000, 0, 0, 0, 1, 0xFFFF))      # instsToSkip 0
    raws.append(struct.pack("<QHBBHH", 0x1002, 1, 0, 0, 1, 0xFFFF))      # unaligned
    raws.append(struct.pack("<QHBBHH", 0x1000, 1, 0, 0, 31, 0xFFFF))     # x31
    answers = core([f"entry {r.hex()}" for r in raws])
    accepted = rejected = 0
    for raw, ans in zip(raws, answers):
        try:
            e = enc.decode_entry(raw)
        except enc.SasaError:
            assert ans.startswith("err "), (raw.hex(), ans)
            rejected += 1
            continue
        fields = [e.preceding_pc, e.insts_to_skip, int(e.op), len(e.operands)]
        for o in e.operands:
            fields += [int(o.reg[1:]), int(o.reg[0] == "v"), int(o.lane is not None), o.lane or 0]
        assert ans == "ok " + " ".join(map(str, fields)), (raw.hex(), ans)
        accepted += 1
    assert accepted > 150 and rejected > 30


def _table(*entries: enc.SasaEntry) -> str:
    return enc.encode_table(list(entries)).hex()


X5, V8L2 = enc.SpRFOperand("x5"), enc.SpRFOperand("v8", 2)
ZERO8, NONZERO8 = "00" * 8, "01" + "00" * 7


def _counters(line: str) -> dict[str, int]:
    names = ("loads lookups hits skipped skippable resolved insts squashed too_late redirects").split()
    return dict(zip(names, map(int, line.split())))


def test_cpp_psru_definite_skip_and_miss(core):
    e = enc.SasaEntry(0x1000, 3, enc.CondOp.SINGLE, (X5,))
    out = core([
        f"table 20 32 {_table(e)}",
        f"wb X 5 1 {ZERO8}",              # x5 = 0, written back: settled sparse
        "fetch 1000 2 0",                 # precedingPC: skip to 0x1010
        "commit 2",
        f"wb X 5 3 {NONZERO8}",           # x5 = 1
        "fetch 1000 4 0",                 # settled dense: execute
        "commit 3", "commit 4",
        "fetch 1004 5 0",
        "commit 5",
        "fetch 1000 6 1",                 # predicted taken: no region entry
        "commit 6",
        "counters",
    ])
    assert out[0] == "ok"
    assert out[1] == "redirect 1010"
    assert out[2:5] == ["continue"] * 3
    c = _counters(out[5])
    assert (c["loads"], c["lookups"], c["hits"], c["skipped"], c["skippable"], c["insts"], c["squashed"]) == \
        (1, 5, 2, 1, 0, 3, 0)


def test_cpp_psru_counts_only_committed_hits(core):
    """A hit fetched on a wrong path (its precedingPC never commits) is not counted."""
    e = enc.SasaEntry(0x1000, 2, enc.CondOp.SINGLE, (X5,))
    out = core([
        f"table 20 32 {_table(e)}",
        f"wb X 5 1 {ZERO8}",
        "fetch 1000 5 0",                 # skip, but on a wrong path
        "stream",                         # the older branch mispredicted
        "fetch 1000 9 0",                 # the right path skips too
        "commit 9",
        "counters",
    ])
    assert out[1:3] == ["redirect 100c", "redirect 100c"]
    c = _counters(out[3])
    assert (c["hits"], c["skipped"], c["insts"]) == (1, 1, 2)


def test_cpp_psru_skippable_resolves_at_writeback_inside_region(core):
    e = enc.SasaEntry(0x2000, 4, enc.CondOp.SINGLE, (V8L2,))
    lane2_zero = "11" * 8 + "00" * 4 + "22" * 4
    out = core([
        f"table 20 32 {_table(e)}",
        "writer V 8 10",                  # a load of v8 in flight
        "fetch 2000 11 0",                # skippable
        "fetch 2004 12 0",                # two region insts fetched
        "fetch 2008 13 0",
        "writer V 8 14",                  # a younger writer (next iteration) fetched: irrelevant
        f"wb V 8 10 {lane2_zero}",        # the condition writer writes back: lane 2 zero -> true
        "skip 200c",                      # Fetch2 steps to the region end
        "issue 10", "issue 11", "issue 12", "issue 13",
        "commit 10", "commit 11",
        "counters",
    ])
    assert out[:4] == ["ok", "continue", "continue", "continue"]
    assert out[4] == "skip 2014"
    assert out[5:9] == ["issue", "issue", "drop", "drop"]      # the fetched region insts are nullified
    c = _counters(out[9])
    assert (c["hits"], c["skipped"], c["skippable"], c["resolved"], c["insts"], c["squashed"]) == \
        (1, 1, 1, 1, 2, 2)


def test_cpp_psru_late_resolution_nullifies_unissued_region(core):
    """Fetch has left the region when the condition resolves: with nullifyUnissued (the default)
    the region is still skipped if none of its insts issued; with sparce_sim's rule it is too late."""
    e = enc.SasaEntry(0x3000, 2, enc.CondOp.OR, (X5, enc.SpRFOperand("x6")))
    script = [
        f"table 20 32 {_table(e)}",
        f"wb X 6 1 {NONZERO8}",
        "writer X 5 2",
        "fetch 3000 3 0",                 # x6 settled dense, x5 in flight: skippable
        "fetch 3004 4 0", "fetch 3008 5 0", "fetch 300c 6 0",   # the whole region and beyond
        "issue 2", "issue 3",
        f"wb X 5 2 {ZERO8}",              # x5 = 0: holds
        "skip 300c",                      # nothing to skip in fetch any more
        "issue 4", "issue 5", "issue 6",
        "commit 2", "commit 3", "commit 6",
        "counters",
    ]
    out = core(script)
    assert out[-5:-1] == ["none", "drop", "drop", "issue"]
    c = _counters(out[-1])
    assert (c["skipped"], c["skippable"], c["resolved"], c["insts"], c["squashed"], c["too_late"]) == \
        (1, 1, 1, 0, 2, 0)
    out = core(["late 0"] + script)
    assert out[-4:-1] == ["issue", "issue", "issue"]
    c = _counters(out[-1])
    assert (c["skipped"], c["skippable"], c["resolved"], c["too_late"]) == (0, 1, 0, 1)


def test_cpp_psru_late_nullify_only_when_fetch_went_on_at_the_region_end(core):
    """A region whose last instruction was predicted taken (fetch went to the target, not the region
    end) cannot be nullified after fetch left it: the instructions fetched after it are not the ones
    that follow a skip."""
    e = enc.SasaEntry(0x3000, 2, enc.CondOp.SINGLE, (X5,))
    out = core([
        f"table 20 32 {_table(e)}",
        "writer X 5 2",
        "fetch 3000 3 0",                 # skippable
        "fetch 3004 4 0", "fetch 3008 5 1",   # the region's last inst predicted taken
        "fetch 5000 6 0",                 # fetch at the branch target
        f"wb X 5 2 {ZERO8}",              # holds, fetch left the region: too late
        "issue 3", "issue 4", "issue 5",
        "commit 2", "commit 3", "commit 4", "commit 5",
        "counters",
    ])
    assert "drop" not in out
    c = _counters(out[-1])
    assert (c["skippable"], c["resolved"], c["too_late"]) == (1, 0, 1)


def test_cpp_psru_skippable_false_too_late_and_stream_change(core):
    e = enc.SasaEntry(0x3000, 2, enc.CondOp.AND, (X5, enc.SpRFOperand("x6")))
    out = core([
        f"table 20 32 {_table(e)}",
        f"wb X 6 1 {ZERO8}",
        "writer X 5 2",
        "fetch 3000 3 0",                 # x6 settled sparse, x5 in flight: skippable
        f"wb X 5 2 {NONZERO8}",           # resolves false
        "commit 2", "commit 3",
        "writer X 5 4",
        "fetch 3000 5 0",
        "fetch 3004 6 0", "fetch 3008 7 0",   # whole region fetched
        "issue 4", "issue 5", "issue 6",  # a region inst issued before the condition resolved
        f"wb X 5 4 {ZERO8}",              # true, but too late
        "issue 7",
        "commit 4", "commit 5", "commit 6", "commit 7",
        "writer X 5 8",
        "fetch 3000 9 0",
        "stream",                         # mispredict squashes everything
        "commit 10",
        "counters",
    ])
    assert "drop" not in out and not any(line.startswith("skip") for line in out)
    c = _counters(out[-1])
    assert (c["hits"], c["skipped"], c["skippable"], c["resolved"], c["too_late"]) == (2, 0, 2, 0, 1)


def test_cpp_psru_nullified_writer_settles_the_next_region(core):
    """dirconv's pair: region A (the weight load ldr s1) skipped if s0 is zero, region B (the fmadd)
    if s0 or s1 is zero. When A resolves true its ldr s1 is nullified, which settles B's s1."""
    s0, s1 = enc.SpRFOperand("v0", 0), enc.SpRFOperand("v1", 0)
    a = enc.SasaEntry(0x4000, 1, enc.CondOp.SINGLE, (s0,))
    b = enc.SasaEntry(0x4004, 1, enc.CondOp.OR, (s0, s1))
    out = core([
        f"table 20 32 {_table(a, b)}",
        f"wb V 1 1 {'33' * 16}",
        "writer V 0 2",                   # ldr s0 in flight
        "fetch 4000 3 0",                 # A skippable
        "writer V 1 4", "fetch 4004 4 0",  # ldr s1 (A's region, B's precedingPC): B skippable
        "fetch 4008 5 0",                 # fmadd (B's region)
        "fetch 400c 6 0",
        f"wb V 0 2 {'00' * 16}",          # s0 = 0: A true (ldr s1 nullified) -> B settles, true
        "issue 2", "issue 3", "issue 4", "issue 5", "issue 6",
        "commit 2", "commit 3", "commit 6",
        "counters",
    ])
    assert out[-6:-1] == ["issue", "issue", "drop", "drop", "issue"]
    c = _counters(out[-1])
    # B's precedingPC (seq 4) was nullified with A: B's hit is counted when the commit passes it
    assert (c["hits"], c["skipped"], c["skippable"], c["resolved"], c["squashed"]) == (2, 2, 2, 2, 2)


def test_cpp_psru_resolution_inside_region_chains_like_a_definite_skip(core):
    """dirconv's pair again, resolved before Fetch2 produced the weight load: the Fetch2 skip goes on
    over the fmadd region too (s0 is sparse, so `s0 or s1` holds), as sparce_sim's landing chain."""
    s0, s1 = enc.SpRFOperand("v0", 0), enc.SpRFOperand("v1", 0)
    a = enc.SasaEntry(0x4000, 1, enc.CondOp.SINGLE, (s0,))
    b = enc.SasaEntry(0x4004, 1, enc.CondOp.OR, (s0, s1))
    out = core([
        f"table 20 32 {_table(a, b)}",
        f"wb V 1 1 {'33' * 16}",
        "writer V 0 2",                   # ldr s0 in flight
        "fetch 4000 3 0",                 # A skippable
        f"wb V 0 2 {'00' * 16}",          # s0 = 0 before Fetch2 produced 0x4004
        "skip 4004",
        "fetch 400c 4 0",
        "commit 2", "commit 3", "commit 4",
        "counters",
    ])
    assert out[1:3] == ["continue", "skip 400c"]
    c = _counters(out[-1])
    assert (c["hits"], c["skipped"], c["skippable"], c["resolved"], c["insts"], c["squashed"]) == \
        (2, 2, 1, 1, 2, 0)


def test_cpp_psru_table_reload_drops_the_old_tables_records(core):
    """A SASA-LD replaces the table; hits fetched after it under the old table (discarded by the stream
    change that follows the serialising SASA-LD) must not be resolved or counted against the new one."""
    old = enc.SasaEntry(0x1000, 2, enc.CondOp.SINGLE, (X5,))
    new = enc.SasaEntry(0x2000, 1, enc.CondOp.SINGLE, (X5,))
    out = core([
        f"table 20 32 {_table(old)}",
        "writer X 5 2",
        "fetch 1000 3 0",                 # skippable under the old table, younger than the SASA-LD
        "fetch 1004 4 0",
        f"table 20 32 {_table(new)}",     # the SASA-LD (older) commits
        f"wb X 5 2 {ZERO8}",
        "skip 1008",
        "issue 4",
        "stream",
        "commit 3",
        "counters",
    ])
    assert out[:3] == ["ok", "continue", "continue"] and out[3] == "ok"
    assert out[4:6] == ["none", "issue"]
    c = _counters(out[-1])
    assert (c["loads"], c["hits"], c["skipped"], c["skippable"]) == (2, 0, 0, 0)


def test_cpp_fetch_skip_is_dropped_when_fetch_went_elsewhere(core):
    out = core(["arm 5004 5010", "skip 6000", "skip 5008", "arm 5004 5010", "skip 5004", "skip 5008",
                "arm 5004 5010", "arm 500c 5020", "skip 5008",        # overlapping skips merge
                "arm 5004 5010", "arm 6000 6010", "skip 5008"])       # a disjoint one replaces
    assert out == ["none", "none", "skip 5010", "none", "skip 5020", "none"]


def test_cpp_table_load_checks(core):
    e = enc.SasaEntry(0x1000, 1, enc.CondOp.SINGLE, (enc.SpRFOperand("v31"),))
    out = core([
        f"table 0 32 {_table(e)}",        # overflows a 0-entry table
        f"table 20 16 {_table(e)}",       # v31 has no SpRF entry with 16
        f"table 20 32 {_table(e)}{_table(e)}",   # duplicate precedingPC
        f"table 20 32 {_table(e)}",
    ])
    assert out[0].startswith("err ") and "overflows" in out[0]
    assert out[1].startswith("err ") and "SpRF" in out[1]
    assert out[2].startswith("err ") and "two entries" in out[2]
    assert out[3] == "ok"


# ---------------------------------------------------------------- the patch applier


def test_applier_refuses_a_non_gem5_tree(tmp_path):
    sys.path.insert(0, str(GEM5_DIR))
    try:
        import apply_gem5_patch as ap
    finally:
        sys.path.remove(str(GEM5_DIR))
    with pytest.raises(ap.PatchError):
        ap.apply(tmp_path, check=True)
    # anchors are single lines and every hook carries the marker (idempotence relies on it)
    for e in ap.EDITS:
        assert "\n" not in e.anchor and ap.MARKER in e.text and e.where in ("before", "after")
    copied = {p.relative_to(ap.NEW_FILES_ROOT).as_posix() for p in ap.new_files()}
    assert {"cpu/sparce/sparce_core.hh", "cpu/sparce/sparce_unit.cc", "cpu/sparce/SConscript",
            "cpu/sparce/SparceUnit.py", "arch/arm/insts/sasa_ld.cc"} <= copied


@pytest.mark.skipif(not os.environ.get("GEM5_SRC"), reason="set GEM5_SRC to a gem5 v24.0.0.1 source tree")
def test_applier_anchors_in_real_gem5(tmp_path):
    src = Path(os.environ["GEM5_SRC"])
    work = tmp_path / "gem5"
    work.mkdir()
    rels = ("src/arch/arm", "src/cpu/minor", "src/base")
    if (src / ".git").exists():      # gem5's own files, even if the checkout is already patched
        archive = subprocess.run(["git", "-C", str(src), "archive", "HEAD", *rels], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
    else:
        for rel in rels:
            shutil.copytree(src / rel, work / rel)
    script = GEM5_DIR / "apply_gem5_patch.py"
    subprocess.run([sys.executable, str(script), str(work), "--check"], check=True)
    subprocess.run([sys.executable, str(script), str(work)], check=True)
    again = subprocess.run([sys.executable, str(script), str(work)], check=True, capture_output=True, text=True)
    n_edits = len(re.findall(r"^\s*Edit\(", script.read_text(), re.M))
    assert again.stdout.count("already applied") == n_edits
    assert "copy:" not in again.stdout and "edit:" not in again.stdout


# ---------------------------------------------------------------- axsim gem5


def _axsim(argv, env=None):
    base = {k: v for k, v in os.environ.items() if k not in ("GEM5", "GEM5_ROOT")}
    return subprocess.run([sys.executable, "-m", "sparce_jobs.gem5_backend"] + argv, cwd=ROOT, text=True,
                          capture_output=True, env={**base, **(env or {})})


def test_axsim_gem5_without_gem5_is_a_clear_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("GEM5", "GEM5_ROOT")}
    r = subprocess.run([sys.executable, "-m", "sparce_jobs.gem5_backend", "dot", "--out", str(tmp_path)],
                       cwd=ROOT, text=True, capture_output=True, env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "gem5 not found" in r.stderr and "GEM5_ROOT" in r.stderr
    missing = tmp_path / "nogem5"
    r = _axsim(["dot", "--out", str(tmp_path), "--gem5", str(missing)])
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert str(missing) in r.stderr
    r = _axsim(["dot", "--out", str(tmp_path)], env={"GEM5_ROOT": str(missing)})
    assert r.returncode == 2 and str(missing / "build" / "ARM" / "gem5.opt") in r.stderr
    r = _axsim(["dot", "--out", str(tmp_path)], env={"GEM5": str(missing / "gem5.fast")})
    assert r.returncode == 2 and str(missing / "gem5.fast") in r.stderr


def test_register_adds_gem5_subcommand():
    import argparse

    from sparce_jobs import gem5_backend
    parser = argparse.ArgumentParser()
    gem5_backend.register(parser.add_subparsers(dest="command"))
    ns = parser.parse_args(["gem5", "sgemm", "--gem5", "/x", "--sparce", "off", "--param", "l1d.size_kb=32"])
    assert ns.func is gem5_backend.cmd_gem5 and ns.gem5 == "/x" and ns.sparce == "off"


def test_find_gem5(tmp_path):
    from sparce_jobs.gem5_backend import find_gem5
    binary = tmp_path / "build" / "ARM" / "gem5.opt"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    assert find_gem5(tmp_path, env={}) == binary
    assert find_gem5(binary, env={}) == binary
    assert find_gem5(None, env={"GEM5_ROOT": str(tmp_path)}) == binary
    assert find_gem5(None, env={"GEM5": str(binary), "GEM5_ROOT": "/nonexistent"}) == binary
    fast = tmp_path / "fast" / "build" / "ARM" / "gem5.fast"
    fast.parent.mkdir(parents=True)
    fast.write_text("#!/bin/sh\n")
    fast.chmod(0o755)
    assert find_gem5(None, env={"GEM5_ROOT": str(tmp_path / "fast")}) == fast
    with pytest.raises(FileNotFoundError, match="GEM5_ROOT"):
        find_gem5(None, env={})


def test_baked_elf_runs_on_sparce_sim_and_prints_the_output(tmp_path):
    """The ELF `axsim gem5` hands gem5 carries its inputs and dumps its output on stdout; the default
    engine runs that exact file without any host-side input and prints the numpy reference."""
    if shutil.which(os.environ.get("AXSIM_CROSS_GCC", "aarch64-linux-gnu-gcc")) is None:
        pytest.skip("no AArch64 cross compiler")
    r = _axsim(["dot", "--n", "64", "--sparsity", "0.5", "--dry-run", "--out", str(tmp_path)])
    assert r.returncode == 0, r.stderr
    cmd = (tmp_path / "command.txt").read_text().split()
    assert cmd[cmd.index("--binary") + 1] == str(tmp_path / "dot.elf")
    assert json.loads((tmp_path / "params.json").read_text()) == MINOR_DEFAULT.as_dict()

    from sparce_jobs.kernel_run import dims_for, make_inputs, reference
    from sparce_sim.runner import simulate
    ref = reference("dot", make_inputs("dot", dims_for("dot", "small", n=64), 0.5, 0))
    result = simulate(tmp_path / "dot.elf", sparce=True)
    assert result.stdout == ref.tobytes()
    assert result.stats["system.cpu.sparce.regionsSkipped"] > 0


def test_cpp_psru_decides_like_sparce_sim(core):
    """The gem5 unit's PSRU (its default rule: a skippable region that resolves true before any
    region instruction issued is nullified and skipped) and sparce_sim's decide() take the same
    decision from the same event sequence: condition writers fetched and written back at given
    cycles, precedingPC fetched, the region's instructions fetched two per cycle after it, and the
    region's first instruction issued at a given cycle. Events at one cycle are ordered writebacks
    first (gem5's Execute commits before it issues; sparce_sim: settled when written back by the
    fetch cycle, too late when the first region instruction issues before the settle cycle, region
    instructions fetched before the settle cycle are the ones nullified)."""
    from sparce_sim.sparce import Region, decide

    rng = np.random.default_rng(16)
    regs = (enc.SpRFOperand("x5"), enc.SpRFOperand("x6"))
    cases, script = [], []
    for case in range(400):
        op = enc.CondOp(int(rng.integers(0, 3)))
        ops = regs[:1] if op == enc.CondOp.SINGLE else regs
        n = int(rng.integers(1, 5))
        entry = enc.SasaEntry(0x8000, n, op, ops)
        fetch_pre = 20
        wbs = [int(rng.integers(10, 32)) for _ in ops]             # writeback cycles (<= 20: settled)
        sparse = [bool(rng.random() < 0.5) for _ in ops]
        fetch_times = [fetch_pre + 1 + i // 2 for i in range(n)]
        first_issue = int(rng.integers(fetch_times[0] + 3, 36))
        d = decide(Region(entry, 0x8004, 0x8004 + 4 * n, ()), fetch_pre, list(zip(wbs, sparse)), fetch_times,
                   first_issue)
        base = 100 * (case + 1)                                     # fetch sequence numbers only grow
        events = []                                                 # (cycle, order, line)
        for k, (o, w, s) in enumerate(zip(ops, wbs, sparse)):
            events.append((5 + k, 1, f"writer X {o.reg[1:]} {base + k}"))
            events.append((w, 0, f"wb X {o.reg[1:]} {base + k} {ZERO8 if s else NONZERO8}"))
        events.append((fetch_pre, 1, f"fetch 8000 {base + 10} 0"))
        for i, t in enumerate(fetch_times):
            events.append((t, 1, f"fetch {0x8004 + 4 * i:x} {base + 11 + i} 0"))
        if d.skippable:                                             # the region was fetched
            events.append((first_issue, 2, f"issue {base + 11}"))
        script += ["late 1", f"table 20 32 {_table(entry)}"] + [e[2] for e in sorted(events, key=lambda e: e[:2])]
        script += [f"commit {base}", f"commit {base + 1}", f"commit {base + 10}", "counters", "stream"]
        cases.append(d)
    counters = [_counters(line) for line in core(script) if len(line.split()) == 10]
    assert len(counters) == len(cases)
    seen = set()
    before = {k: 0 for k in counters[0]}
    for case, (d, c) in enumerate(zip(cases, counters)):
        delta = {k: c[k] - before[k] for k in c}
        before = c
        assert (delta["skipped"] == 1, delta["skippable"] == 1, delta["squashed"]) == \
            (d.skip, d.skippable, d.squashed), (case, d)
        seen.add((d.skip, d.skippable, d.squashed > 0))
    assert {(True, False, False), (False, False, False), (True, True, True), (True, True, False),
            (False, True, False)} <= seen
