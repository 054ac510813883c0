"""Stage 3 of the SASA compiler: parse the expanded GNU as AArch64 text into statements.

After preprocessing and macro expansion every line is a label, a directive, or one A64 instruction
(dissertation §4.2.1, step 2 of Fig. 4.6c: finding the loads of sparse data needs the instruction
operands). Operands are parsed here into registers (with vector arrangement, element lane or
register list), memory operands (base, offset, pre-/post-index writeback), immediates, literals
and labels. `.req`/`.unreq` register aliases are resolved. The instruction semantics (which registers
and lanes each one reads and writes) live in `semantics.py`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import CompileError, Origin, SourceLine

KNOWN_DIRECTIVES = {
    ".text", ".data", ".bss", ".section", ".pushsection", ".popsection", ".previous", ".global",
    ".globl", ".local", ".weak", ".type", ".size", ".align", ".balign", ".p2align", ".byte",
    ".hword", ".short", ".word", ".int", ".long", ".quad", ".xword", ".dword", ".float", ".single",
    ".double", ".zero", ".skip", ".space", ".fill", ".ascii", ".asciz", ".string", ".set", ".equ",
    ".equiv", ".ltorg", ".pool", ".file", ".loc", ".ident", ".arch", ".cpu", ".arch_extension",
    ".org", ".comm", ".lcomm", ".hidden", ".protected", ".internal", ".end", ".func", ".endfunc",
    ".variant_pcs", ".sparse", ".sasa_reload", ".returns", ".req", ".unreq", ".inst",
}
UNSUPPORTED_DIRECTIVES = {".if", ".ifdef", ".ifndef", ".ifc", ".ifnc", ".ifeq", ".ifne", ".ifb",
                          ".ifnb", ".ifgt", ".ifge", ".iflt", ".ifle", ".else", ".elseif", ".endif",
                          ".altmacro", ".include", ".incbin", ".exitm"}
ALIASES = {"fp": "x29", "lr": "x30", "ip0": "x16", "ip1": "x17"}
CONDITIONS = ("eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt",
              "le", "al", "nv")
# GNU as accepts `ble label` for `b.le label` (OpenBLAS writes them so); `bl`/`blr` are calls, not aliases.
BRANCH_ALIASES = {f"b{c}": f"b.{c}" for c in CONDITIONS if c != "l"}
_SVE_REG = re.compile(r"(?<![\w.])(?:z\d{1,2}(?:\.[bhsdq])?|p\d{1,2}(?:\.[bhsdq]|/[mz]))(?![\w])", re.I)
_SCALAR_FP = "bhsdq"


@dataclass(frozen=True)
class Reg:
    """A register operand. kind: x w sp zr v b h s d q. arr: '4s' etc; elem: ('s', 1) for v8.s[1]."""
    kind: str
    num: int
    arr: str | None = None
    elem: tuple[str, int] | None = None

    def __str__(self) -> str:
        if self.kind in ("sp", "zr"):
            return {"sp": "sp", "zr": "xzr"}[self.kind]
        text = f"{self.kind}{self.num}"
        if self.arr:
            text += f".{self.arr}"
        if self.elem:
            text += f".{self.elem[0]}[{self.elem[1]}]"
        return text

    @property
    def vnum(self) -> int | None:
        """Number of the SIMD&FP register this names (v, b, h, s, d, q), else None."""
        return self.num if self.kind in "vbhsdq" and self.kind not in ("sp", "zr") else None


@dataclass(frozen=True)
class RegList:
    regs: tuple[Reg, ...]
    lane: int | None = None          # {v0.s}[1]


@dataclass(frozen=True)
class Mem:
    base: Reg
    offset: Reg | str | None = None   # register index or immediate text
    pre_index: bool = False           # [xN, #imm]!


@dataclass(frozen=True)
class Imm:
    text: str


@dataclass(frozen=True)
class Sym:
    """A bare word: label, condition code, prefetch operation, shift/extend keyword with amount."""
    text: str


Operand = Reg | RegList | Mem | Imm | Sym


@dataclass
class Instruction:
    mnemonic: str
    operands: list[Operand]
    text: str                     # operand text as written (aliases resolved)
    origin: Origin
    index: int = -1               # position in Program.insts
    uid: int = -1                 # stable identity across rewrites (2 * index in the original)
    note: str = ""                # rewrite notes for the listing

    def asm(self) -> str:
        return f"{self.mnemonic} {self.text}".strip()


@dataclass
class Statement:
    kind: str                      # 'label' | 'directive' | 'inst' | 'marker' (annotation)
    text: str
    origin: Origin
    section: str
    inst: Instruction | None = None


@dataclass
class Program:
    statements: list[Statement] = field(default_factory=list)
    insts: list[Instruction] = field(default_factory=list)
    sparse: list[tuple[str, Origin]] = field(default_factory=list)     # annotated registers
    reloads: list[tuple[int, Origin]] = field(default_factory=list)    # (inst index, origin)
    labels: dict[str, int] = field(default_factory=dict)               # label -> inst index
    numeric_labels: list[tuple[str, int]] = field(default_factory=list)  # ('1', inst index)
    globals: set[str] = field(default_factory=set)
    returns: str | None = None                                          # from `// @returns`
    functions: set[str] = field(default_factory=set)                    # `.type X, %function`


_LABEL = re.compile(r"\s*([A-Za-z_.$][\w.$]*|\d+)\s*:(?!:)")
_REG_GP = re.compile(r"([xw])(\d+)$")
_REG_V = re.compile(r"v(\d+)(?:\.(\d*)([bhsdq]))?(?:\[(\d+)\])?$")
_REG_FP = re.compile(r"([bhsdq])(\d+)$")


def parse_reg(text: str, aliases: dict[str, str] | None = None) -> Reg | None:
    """Parse a register name; None if `text` is not one."""
    t = text.strip().lower()
    t = (aliases or {}).get(t, ALIASES.get(t, t))
    if t in ("sp", "wsp"):
        return Reg("sp", 31)
    if t in ("xzr", "wzr"):
        return Reg("zr", 31, None, None) if t == "xzr" else Reg("zr", 31, "w")
    m = _REG_GP.match(t)
    if m:
        return Reg(m.group(1), int(m.group(2))) if int(m.group(2)) <= 30 else None
    m = _REG_V.match(t)
    if m:
        num = int(m.group(1))
        if num > 31:
            return None
        if m.group(3) is None:
            return Reg("v", num) if m.group(4) is None else None
        if m.group(4) is not None:
            return Reg("v", num, None, (m.group(3), int(m.group(4))))
        return Reg("v", num, (m.group(2) or "") + m.group(3))
    m = _REG_FP.match(t)
    if m and int(m.group(2)) <= 31:
        return Reg(m.group(1), int(m.group(2)))
    return None


def split_operands(text: str) -> list[str]:
    parts, cur, level = [], [], 0
    for ch in text:
        if ch in "[{(":
            level += 1
        elif ch in "]})":
            level -= 1
        if ch == "," and level == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def parse_operand(text: str, origin: Origin, aliases: dict[str, str]) -> Operand:
    t = text.strip()
    if not t:
        raise CompileError(origin, "empty operand")
    if t.startswith("{"):
        return _parse_reglist(t, origin, aliases)
    if t.startswith("["):
        return _parse_mem(t, origin, aliases)
    if t.startswith("#") or t.startswith("="):
        return Imm(t)
    reg = parse_reg(t, aliases)
    if reg is not None:
        return reg
    if re.fullmatch(r"[-+(]?\s*[\w.$:]+.*", t):
        return Sym(t)
    raise CompileError(origin, f"malformed operand {t!r}")


def _parse_reglist(t: str, origin: Origin, aliases: dict[str, str]) -> RegList:
    m = re.fullmatch(r"\{([^}]*)\}\s*(?:\[(\d+)\])?", t)
    if not m:
        raise CompileError(origin, f"malformed register list {t!r}")
    regs: list[Reg] = []
    for part in m.group(1).split(","):
        if "-" in part:
            lo, hi = (parse_reg(p, aliases) for p in part.split("-", 1))
            if lo is None or hi is None or lo.kind != "v":
                raise CompileError(origin, f"malformed register range {part.strip()!r}")
            regs += [Reg("v", n % 32, lo.arr) for n in range(lo.num, lo.num + (hi.num - lo.num) % 32 + 1)]
        else:
            p = part.strip().lower()
            em = re.fullmatch(r"v(\d+)\.([bhsd])", p)      # element form {v0.s}[1]
            reg = Reg("v", int(em.group(1)), em.group(2)) if em else parse_reg(p, aliases)
            if reg is None or reg.kind != "v":
                raise CompileError(origin, f"malformed register {part.strip()!r} in list {t!r}")
            regs.append(reg)
    if not regs or len(regs) > 4:
        raise CompileError(origin, f"register list {t!r} must name 1-4 registers")
    return RegList(tuple(regs), int(m.group(2)) if m.group(2) else None)


def _parse_mem(t: str, origin: Origin, aliases: dict[str, str]) -> Mem:
    m = re.fullmatch(r"\[([^\]]*)\]\s*(!?)", t)
    if not m:
        raise CompileError(origin, f"malformed memory operand {t!r}")
    parts = split_operands(m.group(1))
    base = parse_reg(parts[0], aliases) if parts else None
    if base is None or base.kind not in ("x", "sp"):
        raise CompileError(origin, f"memory operand {t!r} needs a 64-bit base register")
    offset: Reg | str | None = None
    if len(parts) >= 2:
        reg = parse_reg(parts[1], aliases)
        offset = reg if reg is not None else parts[1]
    return Mem(base, offset, bool(m.group(2)))


def parse_program(lines: list[SourceLine]) -> Program:
    """Parse expanded lines into a Program; CompileError (with file:line) on malformed input."""
    prog = Program()
    section, stack = ".text", []
    aliases: dict[str, str] = {}
    for sl in lines:
        text = sl.text.strip()
        while True:
            m = _LABEL.match(text)
            if not m:
                break
            _add_label(prog, m.group(1), sl, section)
            text = text[m.end():].strip()
        if not text:
            continue
        word = text.split(None, 1)[0].lower()
        rest = text[len(word):].strip()
        if re.fullmatch(r"[A-Za-z_]\w*\s+\.req\s+\w+", text, re.I):
            name, _, reg = text.split()
            aliases[name.lower()] = reg.lower()
            continue
        if word.startswith("."):
            section, stack = _directive(prog, word, rest, sl, section, stack, aliases)
            continue
        if section not in (".text",) and not section.startswith(".text"):
            raise CompileError(sl.origin, f"instruction {word!r} outside a code section ({section})")
        word = BRANCH_ALIASES.get(word, word)
        _refuse_sve(word, rest, sl)
        ops = [parse_operand(o, sl.origin, aliases) for o in split_operands(rest)]
        inst = Instruction(word, ops, _resolve_text(rest, aliases), sl.origin, len(prog.insts),
                           uid=2 * len(prog.insts))
        prog.insts.append(inst)
        prog.statements.append(Statement("inst", text, sl.origin, section, inst))
    return prog


_SVE_MNEMONICS = {"ptrue", "ptrues", "pfalse", "whilelt", "whilele", "whilelo", "whilels", "incw",
                  "incd", "inch", "incb", "decw", "decd", "dech", "decb", "cntw", "cntd", "cnth", "cntb",
                  "cntp", "rdvl", "addvl", "addpl", "ld1w", "ld1d", "st1w", "st1d", "ld1rw", "ld1rd",
                  "ld1rqw", "ld1rqd", "ptest", "brka", "brkb"}


def _refuse_sve(word: str, rest: str, sl: SourceLine) -> None:
    """SVE (scalable vectors, predicates) is outside the SPARCE model: the SpRF tracks 32-bit lanes of
    128-bit V registers (Fig. 4.9), so an SVE kernel is refused rather than analysed wrongly."""
    if word.split(".")[0] in _SVE_MNEMONICS or _SVE_REG.search(rest):
        raise CompileError(sl.origin, f"SVE instruction {word} {rest!r}: the SASA compiler handles "
                                      "AdvSIMD (NEON) kernels only; SVE kernels (z/p registers) are not supported")


def _resolve_text(rest: str, aliases: dict[str, str]) -> str:
    if not aliases:
        return rest
    return re.sub(r"\b([A-Za-z_]\w*)\b", lambda m: aliases.get(m.group(1).lower(), m.group(1)), rest)


def _add_label(prog: Program, name: str, sl: SourceLine, section: str) -> None:
    if not section.startswith(".text"):
        pass                       # data label: not a code position
    elif name.isdigit():
        prog.numeric_labels.append((name, len(prog.insts)))
    else:
        if name in prog.labels:
            raise CompileError(sl.origin, f"label {name!r} defined twice")
        prog.labels[name] = len(prog.insts)
    prog.statements.append(Statement("label", f"{name}:", sl.origin, section))


def _directive(prog: Program, word: str, rest: str, sl: SourceLine, section: str,
               stack: list[str], aliases: dict[str, str]) -> tuple[str, list[str]]:
    if word in UNSUPPORTED_DIRECTIVES:
        raise CompileError(sl.origin, f"directive {word} is not supported by the SASA compiler "
                                      "(use the C preprocessor's #if/#include instead)")
    if word not in KNOWN_DIRECTIVES and not word.startswith(".cfi_"):
        raise CompileError(sl.origin, f"unknown directive {word}")
    if word == ".sparse":
        _annotation(prog, rest, sl, aliases)
        prog.statements.append(Statement("marker", f".sparse {rest}", sl.origin, section))
        return section, stack
    if word == ".sasa_reload":
        prog.reloads.append((len(prog.insts), sl.origin))
        prog.statements.append(Statement("marker", ".sasa_reload", sl.origin, section))
        return section, stack
    if word == ".returns":
        prog.returns = rest.strip() or "none"
        prog.statements.append(Statement("marker", f".returns {rest}", sl.origin, section))
        return section, stack
    if word == ".unreq":
        aliases.pop(rest.strip().lower(), None)
        return section, stack
    if word == ".inst" and section.startswith(".text"):
        raise CompileError(sl.origin, "raw .inst words cannot be analysed (is this kernel already "
                                      "SASA-instrumented?)")
    if word in (".global", ".globl"):
        prog.globals.update(n.strip() for n in rest.split(","))
    if word == ".type" and "function" in rest:
        prog.functions.add(rest.split(",")[0].strip())
    section, stack = _section(word, rest, section, stack)
    prog.statements.append(Statement("directive", f"{word} {rest}".strip(), sl.origin, section))
    return section, stack


def _section(word: str, rest: str, section: str, stack: list[str]) -> tuple[str, list[str]]:
    if word in (".text", ".data", ".bss"):
        return word, stack
    if word == ".section" or word == ".pushsection":
        name = rest.split(",")[0].strip() or section
        return name, (stack + [section] if word == ".pushsection" else stack)
    if word == ".popsection" and stack:
        return stack[-1], stack[:-1]
    return section, stack


def _annotation(prog: Program, rest: str, sl: SourceLine, aliases: dict[str, str]) -> None:
    names = [n for n in re.split(r"[,\s]+", rest.strip()) if n]
    if not names:
        raise CompileError(sl.origin, "@sparse annotation names no register")
    for name in names:
        reg = parse_reg(name, aliases)
        if reg is None or reg.kind != "x":
            raise CompileError(sl.origin, f"@sparse annotation: {name!r} is not a 64-bit pointer "
                                          "register (x0-x30 or a #define/.req alias of one)")
        prog.sparse.append((f"x{reg.num}", sl.origin))


def to_lines(prog: Program) -> list[SourceLine]:
    """The program as text lines again (for re-parsing after a rewrite); uids are kept by position."""
    return [SourceLine(st.inst.asm() if st.inst else st.text, st.origin) for st in prog.statements]


def reparse(prog: Program, statements: list[Statement]) -> Program:
    """Parse `statements` (a rewritten order of prog's) again, keeping each instruction's uid/note."""
    tmp = Program(statements=statements)
    new = parse_program(to_lines(tmp))
    olds = [st.inst for st in statements if st.inst is not None]
    for inst, old in zip(new.insts, olds):
        inst.uid, inst.note = old.uid, old.note
    new.sparse, new.returns = list(prog.sparse), prog.returns     # incl. --sparse / ignored ones
    return new
