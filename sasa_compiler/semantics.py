"""What each A64 instruction reads and writes, at register and 32-bit-lane granularity.

The SASA compiler's dependency analysis (dissertation §4.2.1, step 3 of Fig. 4.6c) and the SpRF's
lane-wise isSparse bits (Fig. 4.9) both work on 32-bit lanes of the 128-bit V registers. A "unit" is
one X register (w aliases it), SP, the NZCV flags, one 32-bit lane of a V register, or memory.
Unit sets are Python ints used as bitmasks. AArch64 rules modelled: a scalar FP or 64-bit-vector write
zeroes the rest of the V register (so it defines all four lanes); a write to one element (`ins`,
`ld1 {v0.s}[1]`) defines only that lane; `fmla`/`movk`/`bfi` also read their destination.
Unknown mnemonics are rejected: an instruction whose effects are not modelled cannot be proven safe.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import CompileError
from .parse import Imm, Instruction, Mem, Reg, RegList, Sym

SP, NZCV, V0, MEM = 31, 32, 33, 161
ALL_UNITS = (1 << 162) - 1
ALL_V = ((1 << 128) - 1) << V0


def x_unit(n: int) -> int:
    return 1 << n


def v_lane(n: int, lane: int) -> int:
    return 1 << (V0 + 4 * n + lane)


def v_all(n: int) -> int:
    return 0xF << (V0 + 4 * n)


def unit_name(u: int) -> str:
    if u < 31:
        return f"x{u}"
    if u == SP:
        return "sp"
    if u == NZCV:
        return "nzcv"
    if u == MEM:
        return "mem"
    n, lane = divmod(u - V0, 4)
    return f"v{n}.s[{lane}]"


def mask_names(mask: int) -> list[str]:
    return [unit_name(u) for u in range(162) if mask >> u & 1]


CALLEE_SAVED = sum(x_unit(n) for n in range(19, 31)) | (1 << SP) | \
    sum(v_lane(n, 0) | v_lane(n, 1) for n in range(8, 16))       # AAPCS64: x19-x30, sp, d8-d15


def ret_live(returns: str) -> int:
    """Units observed by the caller at `ret`: callee-saved state, memory and the return registers.
    returns: 'all' (conservative), 'none' (void), or a comma list such as 'x0' or 'x0,v0'."""
    if returns == "all":
        return ALL_UNITS
    mask = CALLEE_SAVED | (1 << MEM)
    for name in filter(None, (t.strip().lower() for t in returns.split(","))):
        if name == "none":
            continue
        if name[0] == "x" and name[1:].isdigit() and int(name[1:]) <= 7:
            mask |= x_unit(int(name[1:]))
        elif name[0] == "v" and name[1:].isdigit() and int(name[1:]) <= 7:
            mask |= v_all(int(name[1:]))
        else:
            raise CompileError(None, f"bad return register {name!r}: use none, x0-x7, v0-v7 or all")
    return mask


CALLER_SAVED = sum(x_unit(n) for n in range(19)) | x_unit(30) | ALL_V | (1 << NZCV) | (1 << MEM)

_ALU = set("""add sub and orr eor bic orn eon lsl lsr asr ror mul madd msub smull umull smulh umulh
udiv sdiv mov mvn neg negs adrp adr movz movn sxtw sxth sxtb uxtw uxth uxtb ubfx sbfx ubfiz sbfiz
ubfm sbfm extr csel csinc csneg csinv cset csetm cinc cinv cneg adc sbc clz rbit rev rev16 rev32
fmov fmul fadd fsub fdiv fmax fmin fmaxnm fminnm fabs fneg fsqrt fcvt fcvtzs fcvtzu fcvtns fcvtas
scvtf ucvtf dup movi mvni fmadd fmsub fnmadd fnmsub fnmul faddp fmaxp fminp zip1 zip2 uzp1 uzp2
trn1 trn2 ext shl ushr sshr not fcsel frintn frintz frintm frintp frinta fcvtn fcvtl xtn
addp addv umov smov fmulx fmaxv fminv fmaxnmv fminnmv fmaxnmp fminnmp uaddlv saddlv umaxv uminv smaxv
sminv fabd fcmeq fcmge fcmgt fcmle fcmlt facge facgt cmeq cmge cmgt cmhi cmhs cmle cmlt cmtst abs
fcvtxn fcvtl2 sxtl uxtl sxtl2 uxtl2 ushll sshll ushll2 sshll2
fcvtzs fcvtzu frecpe frecps frsqrte frsqrts fmaxnm fminnm fmov tbl rev64 cnt uaddlp saddlp
fcvtms fcvtmu fcvtps fcvtpu fcvtau fcvtnu lslv lsrv asrv rorv cls""".split())
_FLAG_WRITE = {"adds", "subs", "ands", "bics", "negs", "adcs", "sbcs"}
_FLAG_ONLY = {"cmp", "cmn", "tst", "fcmp", "fcmpe", "ccmp", "ccmn", "fccmp"}
_FLAG_READ = {"csel", "csinc", "csneg", "csinv", "cset", "csetm", "cinc", "cinv", "cneg", "adc",
              "sbc", "adcs", "sbcs", "ccmp", "ccmn", "fcsel", "fccmp"}
_ACC = {"fmla", "fmls", "mla", "mls", "movk", "bfi", "bfxil", "bfm", "ins", "sli", "sri",
        "bsl", "bit", "bif", "fcvtn2", "xtn2", "fcvtxn2", "tbx"}    # these also read their destination
_LOADS = {"ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrsw", "ldur", "ldurb", "ldurh", "ldursb",
          "ldursh", "ldursw", "ldp", "ldnp", "ldpsw", "ld1", "ld1r", "ld2", "ld3", "ld4", "ldar",
          "ldxr", "ldaxr"}
_STORES = {"str", "strb", "strh", "stur", "sturb", "sturh", "stp", "stnp", "st1", "st2", "st3",
           "st4", "stlr"}
_PREFETCH = {"prfm", "prfum"}
_HINTS = {"nop", "hint", "yield", "isb", "dmb", "dsb", "wfi", "wfe", "sev"}
_BRANCH_UNCOND = {"b", "br"}
_BRANCH_REG = {"cbz", "cbnz", "tbz", "tbnz"}
_CALLS = {"bl", "blr"}
BRANCHES = _BRANCH_UNCOND | _BRANCH_REG | _CALLS | {"ret", "eret"}


@dataclass
class Effects:
    """Static effects of one instruction."""
    kind: str               # alu acc load store prefetch hint branch call ret svc
    defs: int
    uses: int
    partial_defs: int = 0   # lanes written without touching the rest (element writes)
    writeback: int = 0      # base-register update of a pre/post-indexed access
    targets: tuple[str, ...] = ()
    conditional: bool = False
    falls_through: bool = True


def reg_read(r: Reg) -> int:
    """Units read through register operand `r`."""
    if r.kind in ("x", "w"):
        return x_unit(r.num)
    if r.kind == "sp":
        return 1 << SP
    if r.kind == "zr":
        return 0
    n = r.num
    if r.elem:
        size, idx = r.elem
        lanes = {"s": [idx], "d": [2 * idx, 2 * idx + 1], "h": [idx // 2], "b": [idx // 4]}[size]
        return sum(v_lane(n, lane) for lane in lanes)
    if r.kind == "v" and r.arr and r.arr in ("8b", "4h", "2s", "1d"):
        return v_lane(n, 0) | v_lane(n, 1)
    if r.kind in "bhs":
        return v_lane(n, 0)
    if r.kind == "d":
        return v_lane(n, 0) | v_lane(n, 1)
    return v_all(n)


def reg_write(r: Reg) -> tuple[int, int]:
    """(full defs, partial element defs) of writing register operand `r`."""
    if r.kind in ("x", "w"):
        return x_unit(r.num), 0
    if r.kind == "sp":
        return 1 << SP, 0
    if r.kind == "zr":
        return 0, 0
    if r.elem:                     # element write: s/d elements are whole lanes, b/h are partial
        return (reg_read(r), 0) if r.elem[0] in "sd" else (0, reg_read(r))
    return v_all(r.num), 0


def effects(inst: Instruction) -> Effects:
    """The Effects of `inst`; CompileError for an instruction the compiler does not model."""
    m = inst.mnemonic
    base = m.split(".")[0]
    if m.startswith("b.") and len(m) > 2:
        return Effects("branch", 0, 1 << NZCV, targets=_target(inst), conditional=True)
    if base in _LOADS or base in _STORES or base in _PREFETCH:
        return _memory(inst, base)
    if base in BRANCHES or base == "svc":
        return _control(inst, base)
    if base in _HINTS:
        return Effects("hint", 0, 0)
    if base in _ALU or base in _ACC or base in _FLAG_WRITE or base in _FLAG_ONLY:
        return _data(inst, base)
    raise CompileError(inst.origin, f"unknown instruction {m!r}")


def _regs(ops) -> list[Reg]:
    return [o for o in ops if isinstance(o, Reg)]


def _data(inst: Instruction, base: str) -> Effects:
    regs = _regs(inst.operands)
    if base in _FLAG_ONLY:
        uses = sum(reg_read(r) for r in regs) | ((1 << NZCV) if base in _FLAG_READ else 0)
        return Effects("alu", 1 << NZCV, uses)
    if not regs:
        raise CompileError(inst.origin, f"{inst.mnemonic}: expected a destination register")
    if not isinstance(inst.operands[0], Reg):
        raise CompileError(inst.origin, f"{inst.mnemonic}: first operand must be a register")
    dest = regs[0]
    full, partial = reg_write(dest)
    uses = sum(reg_read(r) for r in regs[1:])
    if base in _ACC or partial:
        uses |= reg_read(dest)
    if base in _FLAG_READ:
        uses |= 1 << NZCV
    defs = full | ((1 << NZCV) if base in _FLAG_WRITE else 0)
    _check_arity(inst, base)
    return Effects("acc" if base in _ACC else "alu", defs, uses, partial_defs=partial)


_MIN_OPS = {"fmla": 3, "fmls": 3, "fmul": 3, "fadd": 3, "fsub": 3, "fmadd": 4, "fmsub": 4, "add": 3,
            "sub": 3, "subs": 3, "adds": 3, "mul": 3, "madd": 4, "mov": 2, "fmov": 2, "movi": 2,
            "lsl": 3, "lsr": 3, "asr": 3, "adrp": 2, "dup": 2, "eor": 3, "orr": 3, "and": 3}


def _check_arity(inst: Instruction, base: str) -> None:
    want = _MIN_OPS.get(base)
    if want and len(inst.operands) < want:
        raise CompileError(inst.origin, f"{inst.mnemonic} needs {want} operands, got "
                                        f"{len(inst.operands)}: {inst.asm()!r}")


def _target(inst: Instruction) -> tuple[str, ...]:
    if not inst.operands or not isinstance(inst.operands[-1], Sym):
        raise CompileError(inst.origin, f"{inst.mnemonic}: expected a label operand")
    return (inst.operands[-1].text,)


def _control(inst: Instruction, base: str) -> Effects:
    regs = _regs(inst.operands)
    if base == "b":
        return Effects("branch", 0, 0, targets=_target(inst), falls_through=False)
    if base in _BRANCH_REG:
        if not regs:
            raise CompileError(inst.origin, f"{base} needs a register operand")
        return Effects("branch", 0, reg_read(regs[0]), targets=_target(inst), conditional=True)
    if base == "br":
        return Effects("branch", 0, ALL_UNITS, falls_through=False)   # unknown target: all live
    if base in _CALLS:
        return Effects("call", CALLER_SAVED, ALL_UNITS)
    if base == "svc":
        return Effects("svc", x_unit(0) | (1 << MEM), ALL_UNITS)
    return Effects("ret", 0, ALL_UNITS, falls_through=False)           # ret/eret: all live out


def _memory(inst: Instruction, base: str) -> Effects:
    ops = inst.operands
    mem_at = next((i for i, o in enumerate(ops) if isinstance(o, Mem)), None)
    literal = base in ("ldr",) and len(ops) == 2 and isinstance(ops[1], (Imm, Sym))
    if mem_at is None and not literal:
        raise CompileError(inst.origin, f"{inst.mnemonic} needs a memory operand: {inst.asm()!r}")
    if literal:
        full, _ = reg_write(ops[0]) if isinstance(ops[0], Reg) else (0, 0)
        return Effects("load", full, 1 << MEM)
    mem: Mem = ops[mem_at]
    data = ops[:mem_at]
    post = ops[mem_at + 1:]
    if len(post) > 1:
        raise CompileError(inst.origin, f"malformed post-index in {inst.asm()!r}")
    uses = reg_read(mem.base) | (reg_read(mem.offset) if isinstance(mem.offset, Reg) else 0)
    wb = reg_read(mem.base) if (mem.pre_index or post) else 0
    if post and isinstance(post[0], Reg):
        uses |= reg_read(post[0])
    if base in _PREFETCH:
        return Effects("prefetch", 0, uses)
    dregs = _data_regs(inst, data)
    if base in _STORES:
        return Effects("store", (1 << MEM) | wb, uses | sum(reg_read(r) for r in dregs), writeback=wb)
    full = partial = 0
    lane = next((o.lane for o in data if isinstance(o, RegList)), None)
    for r in dregs:
        if lane is not None:
            f, p = reg_write(Reg("v", r.num, None, (r.arr[-1], lane)))
            full, partial = full | f, partial | p
        else:
            f, p = reg_write(r)
            full, partial = full | f, partial | p
    uses |= 1 << MEM
    return Effects("load", full | wb, uses, partial_defs=partial, writeback=wb)


def _data_regs(inst: Instruction, data) -> list[Reg]:
    regs: list[Reg] = []
    for o in data:
        if isinstance(o, RegList):
            regs += list(o.regs)
        elif isinstance(o, Reg):
            regs.append(o)
        else:
            raise CompileError(inst.origin, f"{inst.mnemonic}: unexpected operand before the address")
    if not regs:
        raise CompileError(inst.origin, f"{inst.mnemonic}: no data register: {inst.asm()!r}")
    return regs
