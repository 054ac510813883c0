"""Hand-written SASA tables for the `dot` and `dirconv` kernels (dissertation Fig. 4.2, §4.1.3).

The precedingPCs are labels in the kernels' assembly, resolved by the linker; nothing here is an
address. For Fig. 4.2's dot product: skip inst (4), the KER load, when INP is zero, and insts
(6)-(7), the multiply and add, when INP or KER is zero. `dirconv`'s inner loop has the same shape.
"""
from __future__ import annotations

from isa_ext.asm import LabelledRow
from isa_ext.encoding import CondOp, SpRFOperand

_KER = SpRFOperand("v1", 0)                      # ldr s1: KER value
_DOT_INP = [SpRFOperand(r, 0) for r in ("v0", "v4", "v5", "v6")]   # the four hoisted INP loads


def dot_table() -> list[LabelledRow]:
    rows = []
    for e, inp in enumerate(_DOT_INP):
        rows.append(LabelledRow(f"dot_pre_w{e}", 1, CondOp.SINGLE, (inp,), f"element {e}: KER load"))
        rows.append(LabelledRow(f"dot_pre_mac{e}", 2, CondOp.OR, (inp, _KER), f"element {e}: fmul, fadd"))
    return rows


def dirconv_table() -> list[LabelledRow]:
    rows = []
    for e, inp in enumerate(_DC_INP):
        rows.append(LabelledRow(f"dc_pre_w{e}", 1, CondOp.SINGLE, (inp,), f"tap {e}: KER load"))
        rows.append(LabelledRow(f"dc_pre_mac{e}", 1, CondOp.OR, (inp, _KER), f"tap {e}: fmadd"))
    return rows


_DC_INP = [SpRFOperand(r, 0) for r in ("v0", "v4", "v5", "v6", "v7", "v16", "v17", "v18", "v19")]
# ^ the nine hoisted INP loads of a 3x3 window

HAND_TABLES = {"dot": dot_table, "dirconv": dirconv_table}
