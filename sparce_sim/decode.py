"""Static decode: capstone -> one StaticInst per PC, cached (ARCHITECTURE.md, sparce_sim/decode).

A StaticInst carries what the timing model and SPARCE need: the op class under gem5's name, the
functional unit and its latency, source and destination registers, memory bytes and direction,
and branch facts. Decoding happens once per static instruction.

Capstone pitfalls handled here (issue 2): for SIMD multi-register loads (`ld1 {v0.4s, v1.4s}`)
capstone lists the loaded registers as *read*, and for post-/pre-indexed addressing it does not
always mark the base as written. Sources and destinations are therefore derived from the operand
list and the instruction class, not from capstone's regs_access(); only the implicit flags (NZCV)
come from capstone.

Register ids: X0-X30 = 0-30, SP = 31, V0-V31 = 32-63 (any of B/H/S/D/Q views), NZCV = 64.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from capstone import CS_ARCH_ARM64, CS_MODE_ARM, Cs
from capstone.arm64 import ARM64_OP_IMM, ARM64_OP_MEM, ARM64_OP_REG
from unicorn import arm64_const as A

from isa_ext.encoding import decode_sasa_ld

NZCV = 64
NUM_REGS = 65

# functional unit classes (MinorDefaultFUPool)
FU_INT, FU_MULT, FU_DIV, FU_FLOAT, FU_MEM, FU_MISC = range(6)
FU_NAMES = ("IntAlu", "IntMult", "IntDiv", "FloatSimd", "Mem", "Misc")

_NO_DEST = {"cmp", "cmn", "tst", "fcmp", "fcmpe", "ccmp", "ccmn", "fccmp", "fccmpe",
            "b", "br", "ret", "cbz", "cbnz", "tbz", "tbnz", "nop", "svc", "hint", "prfm",
            "isb", "dsb", "dmb", "msr", "udf", "brk", "hlt", "bl", "blr"}
_DEST_ALSO_SOURCE = {"fmla", "fmls", "mla", "mls", "movk", "bfi", "bfxil", "bfm", "ins", "sli", "sri",
                     "bsl", "bit", "bif", "sdot", "udot", "fmlal", "fmlsl", "tbx", "uaba", "saba",
                     "sadalp", "uadalp", "ssra", "usra", "srsra", "ursra"}
_SIMD_ARRANGE_Q = re.compile(r"\.(4s|2d|16b|8h)")
_REG_BYTES = {"x": 8, "w": 4, "q": 16, "d": 8, "s": 4, "h": 2, "b": 1}


class DecodeError(ValueError):
    """An instruction the engine cannot model (names the PC and the word)."""


@dataclass(frozen=True, slots=True)
class StaticInst:
    pc: int
    text: str
    mnemonic: str
    op_class: str            # gem5 OpClass name
    fu: int                  # FU_* index
    latency: int
    srcs: tuple[int, ...]
    dsts: tuple[int, ...]
    mem_bytes: int = 0       # bytes moved by a load/store (what unicorn's hooks report)
    is_load: bool = False
    is_store: bool = False
    is_prefetch: bool = False
    prefetch_base: int = -1  # register id of a prfm's base
    prefetch_disp: int = 0
    # effective address of a load/store: X[addr_base] + addr_disp + (extend(X[addr_index]) << shift);
    # addr_base -1: a PC-relative literal at absolute address addr_disp; -2: no memory access
    addr_base: int = -2
    addr_index: int = -1
    addr_ext: int = 0        # capstone ARM64_EXT_* of the index (UXTW 3, SXTW 7, else 64-bit)
    addr_shift: int = 0
    addr_disp: int = 0
    is_branch: bool = False
    is_cond_branch: bool = False
    is_call: bool = False
    is_return: bool = False
    target: int = -1         # direct branch target, -1 if indirect or not a branch
    is_syscall: bool = False
    sasa_ld: tuple[int, int] | None = None   # (rn, size) for SASA-LD
    # a pre/post-indexed load/store updates its base in a separate IntAlu micro-op in gem5
    # (MicroAddXiUop): the base register it writes, -1 none
    wb_base: int = -1
    # bytes per memory micro-op: gem5's AArch64 accesses move at most 16 bytes a micro-op, and its
    # scalar/pair stores of FP/SIMD registers store 8 bytes a micro-op (a Q register in two halves)
    req_bytes: int = 16


def uc_reg(name: str) -> int:
    """Unicorn register constant for 'x0'-'x30', 'sp' or 'v0'-'v31'."""
    if name == "sp":
        return A.UC_ARM64_REG_SP
    num = int(name[1:])
    if name[0] == "v":
        return A.UC_ARM64_REG_V0 + num
    return {29: A.UC_ARM64_REG_X29, 30: A.UC_ARM64_REG_X30}.get(num, A.UC_ARM64_REG_X0 + num)


def uc_reg_from_id(rid: int) -> int:
    """Unicorn register constant for an engine register id (X0-X30, SP, V0-V31, NZCV)."""
    if rid == NZCV:
        return A.UC_ARM64_REG_NZCV
    return uc_reg("sp" if rid == 31 else (f"x{rid}" if rid < 32 else f"v{rid - 32}"))


def reg_id(name: str) -> int | None:
    """Engine register id of a capstone register name, None for the zero registers."""
    if name in ("xzr", "wzr"):
        return None
    if name in ("sp", "wsp"):
        return 31
    if name in ("x29", "fp"):
        return 29
    if name in ("x30", "lr"):
        return 30
    kind, num = name[0], name[1:]
    if kind in "xw" and num.isdigit():
        return int(num)
    if kind in "vqdshb" and num.isdigit():
        return 32 + int(num)
    if name == "nzcv":
        return NZCV
    return None


# Decoding is a pure function of (the latencies, pc, word) and a StaticInst is frozen, so every
# Decoder of the process shares one memo: a sweep decodes each static instruction once, not once
# per engine (hundreds of engines run the same ELF).
_MEMO: dict[tuple, StaticInst] = {}
_MEMO_LIMIT = 1 << 20


def _latency_key(params) -> tuple[int, ...]:
    return (params.lat_int_alu, params.lat_int_mult, params.lat_int_div, params.lat_float_simd,
            params.lat_mem, params.lat_mem_extra_assumed, params.lat_misc)


class Decoder:
    """Decodes and caches StaticInsts for words read from guest memory."""

    def __init__(self, params) -> None:
        self._md = Cs(CS_ARCH_ARM64, CS_MODE_ARM)
        self._md.detail = True
        self._params = params
        self._key = _latency_key(params)
        self._cache: dict[int, StaticInst] = {}

    def decode(self, pc: int, word: bytes) -> StaticInst:
        inst = self._cache.get(pc)
        if inst is None:
            inst = self._cache[pc] = self._shared(pc, bytes(word))
        return inst

    def _shared(self, pc: int, word: bytes) -> StaticInst:
        key = (self._key, pc, word)
        inst = _MEMO.get(key)
        if inst is None:
            inst = self._decode(pc, word)
            if len(_MEMO) >= _MEMO_LIMIT:
                _MEMO.clear()
            _MEMO[key] = inst
        return inst

    def _decode(self, pc: int, word: bytes) -> StaticInst:
        value = int.from_bytes(word, "little")
        sasa = decode_sasa_ld(value)
        if sasa is not None:
            return StaticInst(pc, f"sasa_ld [x{sasa[0]}], #{sasa[1]}", "sasa_ld", "MemRead", FU_MEM,
                              self._params.lat_mem + self._params.lat_mem_extra_assumed,
                              (sasa[0],), (), sasa_ld=sasa)
        insn = next(self._md.disasm(word, pc, 1), None)
        if insn is None:
            raise DecodeError(f"undefined instruction {value:#010x} at PC {pc:#x}")
        return self._from_capstone(insn)

    def _from_capstone(self, insn) -> StaticInst:
        mn = insn.mnemonic.split(".")[0]
        text = f"{insn.mnemonic} {insn.op_str}".strip()
        regs, mem_op, post_index = _operands(insn)
        srcs, dsts = _sources_and_dests(insn, mn, regs, mem_op, post_index)
        op_class, fu = _classify(insn, mn, regs, mem_op)
        p = self._params
        latency = {FU_INT: p.lat_int_alu, FU_MULT: p.lat_int_mult, FU_DIV: p.lat_int_div,
                   FU_FLOAT: p.lat_float_simd, FU_MEM: p.lat_mem + p.lat_mem_extra_assumed,
                   FU_MISC: p.lat_misc}[fu]
        fields = dict(pc=insn.address, text=text, mnemonic=insn.mnemonic, op_class=op_class, fu=fu,
                      latency=latency, srcs=srcs, dsts=dsts)
        if mem_op is not None:
            fields.update(_memory_fields(insn, mn, regs, mem_op))
            fields.update(_micro_ops(insn, mn, mem_op, post_index))
        elif _is_literal_load(insn, mn):
            fields.update(_literal_fields(insn, mn, regs), latency=p.lat_mem + p.lat_mem_extra_assumed)
        fields.update(_branch_fields(insn, mn))
        if mn == "svc":
            fields["is_syscall"] = True
        return StaticInst(**fields)


def _operands(insn):
    """(register operand names in order, the memory operand or None, post-index immediate?)."""
    regs, mem_op, post_index = [], None, False
    for op in insn.operands:
        if op.type == ARM64_OP_REG:
            regs.append(insn.reg_name(op.reg))
            if mem_op is not None:
                post_index = True   # a register offset after the memory operand
        elif op.type == ARM64_OP_MEM:
            mem_op = op
        elif op.type == ARM64_OP_IMM and mem_op is not None:
            post_index = True
    return regs, mem_op, post_index


def _ids(names) -> list[int]:
    return [r for r in (reg_id(n) for n in names) if r is not None]


def _sources_and_dests(insn, mn: str, regs: list[str], mem_op, post_index: bool):
    flags_read, flags_written = _flags(insn)
    if mem_op is not None:
        base = insn.reg_name(mem_op.mem.base)
        index = insn.reg_name(mem_op.mem.index) if mem_op.mem.index else None
        addr_srcs = _ids([base] + ([index] if index else []) + (regs[-1:] if post_index and
                                                                 insn.operands[-1].type == ARM64_OP_REG else []))
        data_regs = regs[:-1] if post_index and insn.operands[-1].type == ARM64_OP_REG else regs
        writeback = insn.writeback or post_index
        if mn == "prfm":
            srcs, dsts = addr_srcs, []
        elif mn.startswith(("st", "stl")):
            data = list(data_regs)
            if mn.startswith(("stxr", "stlxr", "stxp", "stlxp")):
                dsts, data = _ids(data[:1]), data[1:]   # status register
            else:
                dsts = []
            srcs = _ids(data) + addr_srcs
        else:
            dsts = _ids(data_regs)
            partial = any(op.type == ARM64_OP_REG and op.vector_index >= 0 for op in insn.operands)
            srcs = addr_srcs + (dsts if partial else [])   # ld1 {v.s}[lane] keeps the other lanes
        if writeback:
            dsts = dsts + _ids([base])
        return _uniq(srcs + flags_read), _uniq(dsts + flags_written)
    if mn in _NO_DEST or not regs:
        return _uniq(_ids(regs) + flags_read), _uniq(flags_written + ([30] if mn in ("bl", "blr") else []))
    dst, rest = regs[0], regs[1:]
    srcs = _ids(rest) + (_ids([dst]) if mn in _DEST_ALSO_SOURCE or _partial_write(insn) else [])
    return _uniq(srcs + flags_read), _uniq(_ids([dst]) + flags_written)


def _partial_write(insn) -> bool:
    """A write to one vector lane (e.g. `mov v0.s[1], w2`) keeps the other lanes: dest is a source."""
    first = insn.operands[0] if insn.operands else None
    return first is not None and first.type == ARM64_OP_REG and first.vector_index >= 0


def _flags(insn) -> tuple[list[int], list[int]]:
    try:
        read, written = insn.regs_access()
    except Exception:  # capstone raises for a few system instructions
        return [], []
    has = lambda regs: any(insn.reg_name(r) == "nzcv" for r in regs)
    return ([NZCV] if has(read) else []), ([NZCV] if has(written) else [])


def _uniq(ids: list[int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(ids))


def _classify(insn, mn: str, regs: list[str], mem_op) -> tuple[str, int]:
    """(gem5 OpClass name, functional unit)."""
    fp = any(r[0] in "vqdshb" and r[1:].isdigit() for r in regs)
    if mem_op is not None:
        if mn == "prfm":
            return "MemRead", FU_MEM
        store = mn.startswith("st")
        if fp:
            return ("FloatMemWrite" if store else "FloatMemRead"), FU_MEM
        return ("MemWrite" if store else "MemRead"), FU_MEM
    if mn in ("sdiv", "udiv"):
        return "IntDiv", FU_DIV
    if not fp and mn in ("mul", "madd", "msub", "smull", "umull", "smulh", "umulh", "smaddl", "umaddl",
              "mneg", "smsubl", "umsubl"):
        return "IntMult", FU_MULT
    if mn in ("svc", "msr", "mrs", "isb", "dsb", "dmb", "hint", "nop", "brk", "hlt"):
        return ("No_OpClass" if mn in ("nop", "hint") else "IprAccess"), FU_MISC
    if fp or mn.startswith("f"):
        return _fp_class(insn, mn), FU_FLOAT
    return "IntAlu", FU_INT


def _fp_class(insn, mn: str) -> str:
    simd = bool(_SIMD_ARRANGE_Q.search(insn.op_str)) or ".2s" in insn.op_str or ".8b" in insn.op_str \
        or ".4h" in insn.op_str
    table = {"fmla": "FloatMultAcc", "fmls": "FloatMultAcc", "fmadd": "FloatMultAcc",
             "fmsub": "FloatMultAcc", "fnmadd": "FloatMultAcc", "fnmsub": "FloatMultAcc",
             "fmul": "FloatMult", "fnmul": "FloatMult", "fadd": "FloatAdd", "fsub": "FloatAdd",
             "faddp": "FloatAdd", "fdiv": "FloatDiv", "fsqrt": "FloatSqrt", "fcmp": "FloatCmp",
             "fcmpe": "FloatCmp", "fmax": "FloatCmp", "fmin": "FloatCmp", "fcvt": "FloatCvt",
             "scvtf": "FloatCvt", "ucvtf": "FloatCvt", "fcvtzs": "FloatCvt", "fcvtzu": "FloatCvt",
             "fmov": "FloatMisc", "fabs": "FloatMisc", "fneg": "FloatMisc", "fcsel": "FloatMisc"}
    if mn in table:
        name = table[mn]
        return "Simd" + name if simd else name
    return "SimdMisc" if simd or mn in ("movi", "dup", "ins", "umov", "mov") else "SimdAlu"


def _memory_fields(insn, mn: str, regs: list[str], mem_op) -> dict:
    base = reg_id(insn.reg_name(mem_op.mem.base))
    if mn == "prfm":
        return dict(is_prefetch=True, prefetch_base=base, prefetch_disp=mem_op.mem.disp)
    nbytes = _access_bytes(insn, mn, regs)
    store = mn.startswith("st")
    index = reg_id(insn.reg_name(mem_op.mem.index)) if mem_op.mem.index else None
    return dict(mem_bytes=nbytes, is_load=not store, is_store=store, addr_base=base,
                addr_index=-1 if index is None else index, addr_ext=mem_op.ext,
                addr_shift=mem_op.shift.value if mem_op.shift.type else 0, addr_disp=mem_op.mem.disp)


def _micro_ops(insn, mn: str, mem_op, post_index: bool) -> dict:
    """gem5's micro-ops of a load/store (src/arch/arm/insts/macromem.cc, isa/insts/ldr64.isa,
    str64.isa): a pre/post-indexed access updates its base in a MicroAddXiUop (StaticInst.wb_base);
    a store other than a NEON structure store (st1-st4: 16-byte micro-ops) writes at most 8 bytes a
    micro-op (`str q` and `stp q`: MicroStrQBFpXImmUop + MicroStrQTFpXImmUop per register;
    `stp x`/`stp d`: one 8-byte micro-op per register): StaticInst.req_bytes."""
    fields = {}
    if mn != "prfm" and (insn.writeback or post_index):
        fields["wb_base"] = reg_id(insn.reg_name(mem_op.mem.base))
    if mn.startswith("st") and mn[:3] not in ("st1", "st2", "st3", "st4"):
        fields["req_bytes"] = 8
    return fields


_LITERAL_LOADS = {"ldr": None, "ldrsw": 4}


def _is_literal_load(insn, mn: str) -> bool:
    """`ldr Rt, label` (PC-relative literal): capstone gives the address as an immediate."""
    ops = insn.operands
    return mn in _LITERAL_LOADS and len(ops) == 2 and ops[1].type == ARM64_OP_IMM


def _literal_fields(insn, mn: str, regs: list[str]) -> dict:
    nbytes = _LITERAL_LOADS[mn] or _REG_BYTES[regs[0][0]]
    fp = regs[0][0] in "qdsv"
    return dict(op_class="FloatMemRead" if fp else "MemRead", fu=FU_MEM, mem_bytes=nbytes, is_load=True,
                addr_base=-1, addr_disp=insn.operands[1].imm)


def _access_bytes(insn, mn: str, regs: list[str]) -> int:
    """Bytes read or written, derived from the operands (not from capstone's access flags)."""
    if mn[:3] in ("ld1", "ld2", "ld3", "ld4", "st1", "st2", "st3", "st4"):
        nregs = sum(1 for r in regs if (reg_id(r) or 0) >= 32)
        lane = any(op.type == ARM64_OP_REG and op.vector_index >= 0 for op in insn.operands)
        if lane or mn.endswith("r"):   # single structure or load-and-replicate
            elem = re.search(r"\.\d*([bhsd])", insn.op_str).group(1)
            return {"b": 1, "h": 2, "s": 4, "d": 8}[elem] * nregs
        return (16 if _SIMD_ARRANGE_Q.search(insn.op_str) else 8) * nregs
    width = _width_from_mnemonic(mn) or _REG_BYTES.get(regs[0][0], 8)
    pair = mn.startswith(("ldp", "stp", "ldnp", "stnp", "ldxp", "stxp", "ldaxp", "stlxp"))
    return width * (2 if pair else 1)


def _width_from_mnemonic(mn: str) -> int | None:
    if mn.endswith(("rb", "rsb", "urb", "ursb")) or mn in ("ldrb", "strb", "ldrsb", "ldurb", "sturb"):
        return 1
    if mn.endswith(("rh", "rsh", "urh", "ursh")):
        return 2
    if mn in ("ldrsw", "ldursw", "ldpsw"):
        return 4
    return None


def _branch_fields(insn, mn: str) -> dict:
    if mn not in ("b", "bl", "br", "blr", "ret", "cbz", "cbnz", "tbz", "tbnz"):
        return {}
    cond = mn in ("cbz", "cbnz", "tbz", "tbnz") or (mn == "b" and "." in insn.mnemonic)
    target = -1
    last = insn.operands[-1] if insn.operands else None
    if last is not None and last.type == ARM64_OP_IMM and mn not in ("br", "blr", "ret"):
        target = last.imm
    return dict(is_branch=True, is_cond_branch=cond, is_call=mn in ("bl", "blr"),
                is_return=mn == "ret", target=target)
