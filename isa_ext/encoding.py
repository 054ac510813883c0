"""The SPARCE ISA extension: the SASA-LD instruction and the in-memory SASA table format.

Dissertation §4.1.2 ("SASA-LD Instruction", eq. 4.1) and §4.1.3 (the SASA table's three fields:
precedingPC, SpRFCondition, instsToSkip). Shared by the SASA compiler, sparce_sim and the gem5 backend.

SASA-LD [Xn], #size
    A64 encoding in the unallocated op0 space (bits[28:25] = 0b0001, which every ARMv8 core and
    unicorn treat as UNDEFINED):

        31      25 24  21 20            5 4    0
        0000 0010  0000   size (16 bits)   Rn

    word = 0x02000000 | size << 5 | n.  Bits 24:21 = 0000 select SASA-LD; the other 15 values are
    reserved for future SPARCE instructions. Xn holds the table's address; `size` is the number of
    entries. Rn = 31 is reserved (it would name SP/XZR) and is rejected.

SASA table entry (ENTRY_BYTES = 16, little endian), one per row:

    offset  size  field
    0       8     precedingPC (absolute address of the instruction before the region)
    8       2     instsToSkip (1..MAX_INSTS_TO_SKIP)
    10      1     condition op: 0 = single operand, 1 = OR, 2 = AND
    11      1     reserved, must be 0
    12      2     operand 0 (SpRF operand code, below)
    14      2     operand 1 (NO_OPERAND for a single-operand condition)

SpRF operand code (16 bits): bits[4:0] register number; bit 5: register file (0 = X, 1 = V);
bit 6: a lane is named; bits[8:7]: the 32-bit lane (0-3); bits[15:9] must be 0.
A V register without a lane means "every 32-bit lane is zero"; an X register has no lanes.
X31 is not a register (it is SP or XZR) and is rejected.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from enum import IntEnum

SASA_LD_BASE = 0x02000000
SASA_LD_MASK = 0xFFE00000          # fixed bits: [31:21]
ENTRY_BYTES = 16
MAX_INSTS_TO_SKIP = 0xFFFF
MAX_TABLE_SIZE = 0xFFFF
NO_OPERAND = 0xFFFF
VECTOR_LANES = 4                   # 128-bit V registers, 32-bit lanes (Fig. 4.9)


class SasaError(ValueError):
    """A malformed SASA-LD or SASA table entry."""


class CondOp(IntEnum):
    """How the SpRFCondition combines its operands."""
    SINGLE = 0
    OR = 1
    AND = 2


@dataclass(frozen=True)
class SpRFOperand:
    """One SpRF operand: a register ('x0'-'x30' or 'v0'-'v31') and an optional 32-bit lane."""
    reg: str
    lane: int | None = None

    def __post_init__(self) -> None:
        kind, num = _split_reg(self.reg)
        if kind == "x" and self.lane is not None:
            raise SasaError(f"SpRF operand {self.reg}: scalar registers have no lanes")
        if self.lane is not None and not 0 <= self.lane < VECTOR_LANES:
            raise SasaError(f"SpRF operand {self.reg}: lane {self.lane} outside 0-{VECTOR_LANES - 1}")

    def __str__(self) -> str:
        return self.reg if self.lane is None else f"{self.reg}.s[{self.lane}]"

    @classmethod
    def parse(cls, text: str) -> "SpRFOperand":
        """Parse 'x5', 'v8', 'v8.s[2]' or 'v8[2]'."""
        m = re.fullmatch(r"\s*([xv]\d+)(?:\.s)?(?:\[(\d)\])?\s*", text.lower())
        if not m:
            raise SasaError(f"bad SpRF operand {text!r}: expected xN, vN or vN.s[L]")
        return cls(m.group(1), None if m.group(2) is None else int(m.group(2)))

    def code(self) -> int:
        kind, num = _split_reg(self.reg)
        value = num | (0x20 if kind == "v" else 0)
        if self.lane is not None:
            value |= 0x40 | self.lane << 7
        return value

    @classmethod
    def from_code(cls, code: int) -> "SpRFOperand":
        if code & ~0x1FF:
            raise SasaError(f"SpRF operand code {code:#06x}: reserved bits set")
        num, is_v, has_lane = code & 0x1F, bool(code & 0x20), bool(code & 0x40)
        if not is_v and (has_lane or num == 31):
            raise SasaError(f"SpRF operand code {code:#06x}: not a valid register")
        return cls(("v" if is_v else "x") + str(num), (code >> 7) & 3 if has_lane else None)


def _split_reg(reg: str) -> tuple[str, int]:
    m = re.fullmatch(r"([xv])(\d+)", reg)
    if not m:
        raise SasaError(f"SpRF register {reg!r} does not exist (expected x0-x30 or v0-v31)")
    kind, num = m.group(1), int(m.group(2))
    if num > (30 if kind == "x" else 31):
        raise SasaError(f"SpRF register {reg!r} does not exist (expected x0-x30 or v0-v31)")
    return kind, num


@dataclass(frozen=True)
class SasaEntry:
    """One SASA table row: skip `insts_to_skip` instructions after `preceding_pc` if the condition holds."""
    preceding_pc: int
    insts_to_skip: int
    op: CondOp
    operands: tuple[SpRFOperand, ...]

    def __post_init__(self) -> None:
        if not 1 <= self.insts_to_skip <= MAX_INSTS_TO_SKIP:
            raise SasaError(f"instsToSkip {self.insts_to_skip} outside 1-{MAX_INSTS_TO_SKIP}")
        if self.preceding_pc % 4 or not 0 <= self.preceding_pc < 1 << 64:
            raise SasaError(f"precedingPC {self.preceding_pc:#x} is not a 4-byte aligned address")
        want = 1 if self.op == CondOp.SINGLE else 2
        if len(self.operands) != want:
            raise SasaError(f"condition {self.op.name} needs {want} operand(s), got {len(self.operands)}")

    def condition_text(self) -> str:
        sep = {CondOp.OR: " | ", CondOp.AND: " & "}.get(self.op, "")
        return sep.join(str(o) for o in self.operands)


def encode_sasa_ld(rn: int, size: int) -> int:
    """The 32-bit instruction word for SASA-LD [Xrn], #size."""
    if not 0 <= rn <= 30:
        raise SasaError(f"SASA-LD base register x{rn} invalid (x0-x30)")
    if not 1 <= size <= MAX_TABLE_SIZE:
        raise SasaError(f"SASA-LD size {size} outside 1-{MAX_TABLE_SIZE}")
    return SASA_LD_BASE | size << 5 | rn


def decode_sasa_ld(word: int) -> tuple[int, int] | None:
    """(rn, size) if `word` is a SASA-LD, else None. Raises SasaError for a reserved form."""
    if word & SASA_LD_MASK != SASA_LD_BASE:
        return None
    rn, size = word & 0x1F, (word >> 5) & 0xFFFF
    if rn == 31 or size == 0:
        raise SasaError(f"SASA-LD word {word:#010x}: reserved form (rn=31 or size=0)")
    return rn, size


def encode_entry(entry: SasaEntry) -> bytes:
    ops = [o.code() for o in entry.operands] + [NO_OPERAND] * (2 - len(entry.operands))
    return struct.pack("<QHBBHH", entry.preceding_pc, entry.insts_to_skip, int(entry.op), 0, *ops)


def decode_entry(raw: bytes, index: int = 0) -> SasaEntry:
    """Decode one 16-byte row; SasaError names the row index and the cause."""
    if len(raw) != ENTRY_BYTES:
        raise SasaError(f"SASA entry {index}: {len(raw)} bytes, expected {ENTRY_BYTES}")
    pc, n, op, reserved, op0, op1 = struct.unpack("<QHBBHH", raw)
    try:
        if reserved:
            raise SasaError("reserved byte is not zero")
        if op not in CondOp._value2member_map_:
            raise SasaError(f"unknown condition op {op}")
        codes = [op0] if op == CondOp.SINGLE else [op0, op1]
        if op == CondOp.SINGLE and op1 != NO_OPERAND:
            raise SasaError("single-operand condition has a second operand")
        return SasaEntry(pc, n, CondOp(op), tuple(SpRFOperand.from_code(c) for c in codes))
    except SasaError as exc:
        raise SasaError(f"SASA entry {index}: {exc}") from None


def encode_table(entries: list[SasaEntry], max_entries: int | None = None) -> bytes:
    check_table_size(len(entries), max_entries)
    return b"".join(encode_entry(e) for e in entries)


def decode_table(raw: bytes, max_entries: int | None = None) -> list[SasaEntry]:
    if len(raw) % ENTRY_BYTES:
        raise SasaError(f"SASA table of {len(raw)} bytes is not a multiple of {ENTRY_BYTES}")
    count = len(raw) // ENTRY_BYTES
    check_table_size(count, max_entries)
    entries = [decode_entry(raw[i * ENTRY_BYTES:(i + 1) * ENTRY_BYTES], i) for i in range(count)]
    pcs = [e.preceding_pc for e in entries]
    if len(set(pcs)) != len(pcs):
        dup = next(pc for pc in pcs if pcs.count(pc) > 1)
        raise SasaError(f"SASA table has two entries for precedingPC {dup:#x}")
    return entries


def check_table_size(count: int, max_entries: int | None) -> None:
    if count < 1:
        raise SasaError("SASA table is empty")
    if max_entries is not None and count > max_entries:
        raise SasaError(f"SASA table of {count} entries overflows the {max_entries}-entry hardware table")
