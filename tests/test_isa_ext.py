"""SASA-LD encoding and the SASA table format round-trip and reject bad entries (issue 3)."""
import struct

import pytest
from hypothesis import given, strategies as st

from isa_ext.encoding import (ENTRY_BYTES, CondOp, SasaEntry, SasaError, SpRFOperand, decode_entry,
                              decode_sasa_ld, decode_table, encode_entry, encode_sasa_ld, encode_table)
from kernels.build import build_snippet
from sparce_sim.loader import load_elf

operands = st.one_of(st.builds(lambda n: SpRFOperand(f"x{n}"), st.integers(0, 30)),
                     st.builds(lambda n, l: SpRFOperand(f"v{n}", l), st.integers(0, 31),
                               st.one_of(st.none(), st.integers(0, 3))))


@st.composite
def entries(draw):
    op = draw(st.sampled_from(list(CondOp)))
    ops = tuple(draw(operands) for _ in range(1 if op == CondOp.SINGLE else 2))
    return SasaEntry(4 * draw(st.integers(0, 2**40)), draw(st.integers(1, 0xFFFF)), op, ops)


@given(st.lists(entries(), min_size=1, max_size=20, unique_by=lambda e: e.preceding_pc))
def test_table_round_trips(rows):
    assert decode_table(encode_table(rows, 20), 20) == rows


@given(st.integers(0, 30), st.integers(1, 0xFFFF))
def test_sasa_ld_round_trips(rn, size):
    assert decode_sasa_ld(encode_sasa_ld(rn, size)) == (rn, size)


def test_assembler_macro_matches_python_encoding():
    prog = load_elf(build_snippet("    sasa_ld x9, 12\n"))
    text = next(s for s in prog.segments if s.flags & 1)
    words = struct.unpack(f"<{len(text.data) // 4}I", text.data[: len(text.data) // 4 * 4])
    assert encode_sasa_ld(9, 12) in words


def test_overflow_and_bad_entries_rejected():
    row = SasaEntry(0x400000, 2, CondOp.SINGLE, (SpRFOperand("v8", 1),))
    with pytest.raises(SasaError, match="overflows the 20-entry"):
        encode_table([row] * 21, 20)
    raw = bytearray(encode_entry(row))
    raw[10] = 7                                   # unknown condition op
    with pytest.raises(SasaError, match="entry 3: unknown condition op 7"):
        decode_entry(bytes(raw), 3)
    raw = bytearray(encode_entry(row))
    raw[12:14] = (31).to_bytes(2, "little")      # x31 is not a register
    with pytest.raises(SasaError, match="not a valid register"):
        decode_entry(bytes(raw))
    with pytest.raises(SasaError, match="does not exist"):
        SpRFOperand("v32")
    with pytest.raises(SasaError, match="scalar registers have no lanes"):
        SpRFOperand("x3", 1)
    with pytest.raises(SasaError, match="needs 2 operand"):
        SasaEntry(0x400000, 1, CondOp.OR, (SpRFOperand("v1"),))
    with pytest.raises(SasaError, match="not a multiple"):
        decode_table(b"\0" * (ENTRY_BYTES + 3))
