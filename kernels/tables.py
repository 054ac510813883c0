"""Hand-written SASA tables for the `dot` and `dirconv` kernels (dissertation Fig. 4.2, §4.1.3).

The precedingPCs are labels in the kernels' assembly, resolved by the linker; nothing here is an
address. For Fig. 4.2's dot product: skip inst (4), the KER load, when INP is zero, and insts
(6)-(7), the multiply and add, when INP or KER is zero. `dirconv`'s inner loop has the same shape.
"""
from __future__ import annotations

from isa_ext.asm import LabelledRow
from isa_ext.encoding import CondOp, SpRFOperand

_INP = SpRFOperand("v0", 0)   # ldr s0: INP value
_KER = SpRFOperand("v1", 0)   # ldr s1: KER value


def dot_table() -> list[LabelledRow]:
    return [
        LabelledRow("dot_i3", 1, CondOp.SINGLE, (_INP,), "inst (4): KER load"),
        LabelledRow("dot_i5", 2, CondOp.OR, (_INP, _KER), "insts (6)-(7): fmul, fadd"),
    ]


def dirconv_table() -> list[LabelledRow]:
    return [
        LabelledRow("dc_pre_w", 1, CondOp.SINGLE, (_INP,), "KER load"),
        LabelledRow("dc_pre_mac", 1, CondOp.OR, (_INP, _KER), "fmadd"),
    ]


HAND_TABLES = {"dot": dot_table, "dirconv": dirconv_table}
