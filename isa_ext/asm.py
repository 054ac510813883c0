"""Assembly-text helpers for the SPARCE ISA extension (dissertation §4.2.1, steps 5-6 of Fig. 4.6c).

Turns SASA table rows whose precedingPC is given as an assembly *label* into GNU as source that
uses the `sasa_entry` macro of `sparce.inc`, so the linker resolves the addresses. Both the
hand-written tables and the SASA compiler emit their tables through `table_asm`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .encoding import CondOp, SasaEntry, SpRFOperand, check_table_size, NO_OPERAND

INCLUDE_DIR = Path(__file__).resolve().parent
INCLUDE_FILE = INCLUDE_DIR / "sparce.inc"


@dataclass(frozen=True)
class LabelledRow:
    """A SASA table row before linking: precedingPC is the label `preceding_label`."""
    preceding_label: str
    insts_to_skip: int
    op: CondOp
    operands: tuple[SpRFOperand, ...]
    comment: str = ""

    def check(self) -> None:
        """Validate everything but the address by building a SasaEntry with a dummy PC."""
        SasaEntry(0, self.insts_to_skip, self.op, self.operands)


def table_asm(label: str, rows: list[LabelledRow], max_entries: int | None = None) -> str:
    """GNU as text for a SASA table at `label` in .rodata, plus `label_entries` = the row count."""
    check_table_size(len(rows), max_entries)
    lines = ["    .section .rodata", "    .balign 16", f"    .global {label}", f"{label}:"]
    for row in rows:
        row.check()
        codes = [o.code() for o in row.operands] + [NO_OPERAND] * (2 - len(row.operands))
        cond = (" | " if row.op == CondOp.OR else " & ").join(str(o) for o in row.operands)
        note = f"  // skip {row.insts_to_skip} if {cond}" + (f"; {row.comment}" if row.comment else "")
        lines.append(f"    sasa_entry {row.preceding_label}, {row.insts_to_skip}, {int(row.op)}, "
                     f"{codes[0]:#x}, {codes[1]:#x}{note}")
    lines += [f"    .set {label}_entries, {len(rows)}", "    .text", ""]
    return "\n".join(lines)


def sasa_ld_asm(table_label: str, scratch: str = "x16", entries: int | None = None) -> str:
    """Instructions that point `scratch` at the table and issue SASA-LD for all its entries.

    GNU as needs the entry count as a constant when it assembles the `.inst`: pass `entries`, or
    emit the table (which defines `<label>_entries`) earlier in the same file."""
    count = str(entries) if entries is not None else f"{table_label}_entries"
    return (f"    adrp {scratch}, {table_label}\n"
            f"    add {scratch}, {scratch}, :lo12:{table_label}\n"
            f"    sasa_ld {scratch}, {count}\n")
