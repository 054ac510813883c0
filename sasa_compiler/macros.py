"""Stage 2 of the SASA compiler: GNU as macro expansion with an origin map (dissertation §4.2.1).

OpenBLAS-style kernels are mostly macros (`KERNEL16x4_M1` ...). The compiler must analyse the
instruction stream the assembler will see, so it expands `.macro`/`.endm` (positional, named and
default arguments, `:req`, `:vararg`, `\\@`, `\\()`), `.rept`, `.irp` and `.irpc` itself. Every emitted
line keeps the file:line where its text was written plus the chain of invocation sites, so errors and
the listing point at the user's source. Statements separated by `;` are split first.
"""
from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass, field

from .errors import CompileError, Origin, SourceLine

MAX_DEPTH = 64
_OPEN_LOOP = (".rept", ".irp", ".irpc")


@dataclass
class Macro:
    name: str
    params: list[tuple[str, str | None, str]]     # (name, default, qualifier '' | 'req' | 'vararg')
    body: list[SourceLine]
    origin: Origin


@dataclass
class _State:
    macros: dict[str, Macro] = field(default_factory=dict)
    counter: int = 0                               # value of \@


class _ExitMacro(Exception):
    pass


def split_statements(lines: list[SourceLine]) -> list[SourceLine]:
    """Split lines at ';' (GNU as AArch64 statement separator), outside quoted strings."""
    out = []
    for sl in lines:
        for part in _split_outside_quotes(sl.text, ";"):
            if part.strip():
                out.append(SourceLine(part, sl.origin))
    return out


def expand(lines: list[SourceLine]) -> list[SourceLine]:
    """Expand every macro and repetition; the result contains no .macro/.rept/.irp blocks."""
    return _expand(split_statements(lines), _State(), 0)


def _first_word(text: str) -> str:
    m = re.match(r"\s*([A-Za-z_.$][\w.$]*)", text)
    return m.group(1) if m else ""


def _expand(lines: list[SourceLine], st: _State, depth: int) -> list[SourceLine]:
    if depth > MAX_DEPTH:
        raise CompileError(lines[0].origin if lines else None, "macro expansion nested too deeply")
    out: list[SourceLine] = []
    i = 0
    while i < len(lines):
        sl = lines[i]
        word = _first_word(sl.text).lower()
        if word == ".macro":
            end = _find_end(lines, i, (".macro",), ".endm")
            _define(sl, lines[i + 1:end], st)
            i = end + 1
        elif word in _OPEN_LOOP:
            end = _find_end(lines, i, _OPEN_LOOP, ".endr")
            for copy in _repeat(sl, lines[i + 1:end]):
                out += _expand(copy, st, depth + 1)
            i = end + 1
        elif word in (".endm", ".endr"):
            raise CompileError(sl.origin, f"unbalanced {word} with no matching opening directive")
        elif word == ".exitm":
            out.append(sl)
            return out
        elif word == ".purgem":
            st.macros.pop(sl.text.split(None, 1)[-1].strip().lower(), None)
            i += 1
        elif word.lower() in st.macros and not _is_label_line(sl.text):
            out += _invoke(st.macros[word.lower()], sl, st, depth)
            i += 1
        else:
            out.append(sl)
            i += 1
    return out


def _is_label_line(text: str) -> bool:
    return bool(re.match(r"\s*[A-Za-z_.$][\w.$]*:", text))


def _find_end(lines: list[SourceLine], start: int, openers: tuple[str, ...], closer: str) -> int:
    level = 0
    for j in range(start, len(lines)):
        word = _first_word(lines[j].text).lower()
        if word in openers:
            level += 1
        elif word == closer:
            level -= 1
            if level == 0:
                return j
    what = _first_word(lines[start].text)
    raise CompileError(lines[start].origin, f"unbalanced {what}: no matching {closer} before end of file")


def _define(head: SourceLine, body: list[SourceLine], st: _State) -> None:
    rest = head.text.strip()[len(".macro"):].strip()
    if not rest:
        raise CompileError(head.origin, ".macro without a name")
    m = re.match(r"([A-Za-z_.$][\w.$]*)\s*,?\s*(.*)", rest)
    if not m:
        raise CompileError(head.origin, f"malformed macro name in {head.text.strip()!r}")
    name, plist = m.group(1), m.group(2)
    params = []
    for p in _split_args(plist):
        m = re.fullmatch(r"([A-Za-z_][\w]*)(?::(req|vararg))?(?:\s*=\s*(.*))?", p.strip())
        if not m:
            raise CompileError(head.origin, f"malformed macro parameter {p.strip()!r}")
        params.append((m.group(1), m.group(3), m.group(2) or ""))
    st.macros[name.lower()] = Macro(name, params, body, head.origin)


def _split_args(text: str) -> list[str]:
    text = text.strip()
    if not text:
        return []
    parts = _split_outside_quotes(text, ",", brackets=True)
    if len(parts) == 1:
        parts = text.split()
    return [p.strip() for p in parts]


def _split_outside_quotes(text: str, sep: str, brackets: bool = False) -> list[str]:
    parts, cur, quote, level = [], [], False, 0
    for ch in text:
        if ch == '"':
            quote = not quote
        elif not quote and brackets and ch in "[{(":
            level += 1
        elif not quote and brackets and ch in "]})":
            level -= 1
        if ch == sep and not quote and level == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _bind(macro: Macro, call: SourceLine, args_text: str) -> dict[str, str]:
    args = _split_args(args_text)
    values: dict[str, str] = {}
    positional = 0
    for k, arg in enumerate(args):
        m = re.fullmatch(r"([A-Za-z_]\w*)\s*=\s*(.*)", arg)
        if m and any(p[0] == m.group(1) for p in macro.params):
            values[m.group(1)] = m.group(2)
            continue
        if positional >= len(macro.params):
            raise CompileError(call.origin, f"too many arguments to macro {macro.name} "
                                            f"(defined at {macro.origin})")
        pname, _, qual = macro.params[positional]
        if qual == "vararg":
            values[pname] = ", ".join(args[k:])
            break
        values[pname] = arg
        positional += 1
    for pname, default, qual in macro.params:
        if pname not in values:
            if qual == "req":
                raise CompileError(call.origin, f"macro {macro.name}: missing required argument {pname}")
            values[pname] = default or ""
    return values


def _substitute(text: str, values: dict[str, str], counter: int) -> str:
    if values:
        names = "|".join(re.escape(n) for n in sorted(values, key=len, reverse=True))
        text = re.sub(rf"\\({names})(?![\w])", lambda m: values[m.group(1)], text)
    return text.replace("\\@", str(counter)).replace("\\()", "")


def _invoke(macro: Macro, call: SourceLine, st: _State, depth: int) -> list[SourceLine]:
    args_text = call.text.strip()[len(_first_word(call.text)):]
    values = _bind(macro, call, args_text)
    counter, st.counter = st.counter, st.counter + 1
    site = call.origin.expanded_from + ((call.origin.file, call.origin.line, macro.name),)
    body = [SourceLine(_substitute(b.text, values, counter),
                       Origin(b.origin.file, b.origin.line, site)) for b in macro.body]
    expanded = _expand(split_statements(body), st, depth + 1)
    out = []
    for sl in expanded:
        if _first_word(sl.text).lower() == ".exitm":
            break
        out.append(sl)
    return out


def _repeat(head: SourceLine, body: list[SourceLine]) -> list[list[SourceLine]]:
    word = _first_word(head.text).lower()
    rest = head.text.strip()[len(word):].strip()
    if word == ".rept":
        count = _eval_count(rest, head.origin)
        return [list(body) for _ in range(count)]
    m = re.fullmatch(r"([A-Za-z_]\w*)\s*(?:,\s*(.*))?", rest)
    if not m:
        raise CompileError(head.origin, f"malformed {word}: expected '{word} symbol, values'")
    sym, vals = m.group(1), (m.group(2) or "")
    items = list(vals.replace(" ", "")) if word == ".irpc" else _split_args(vals)
    return [[SourceLine(_substitute(b.text, {sym: v}, 0), b.origin) for b in body] for v in items]


def _eval_count(expr: str, origin: Origin) -> int:
    try:
        value = const_int(expr.replace("/", "//"))
    except ValueError as exc:
        raise CompileError(origin, f".rept count {expr!r} is not a constant expression ({exc})") from None
    if not 0 <= value <= 100000:
        raise CompileError(origin, f".rept count {value} out of range")
    return value


_INT_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
            ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.LShift: operator.lshift,
            ast.RShift: operator.rshift, ast.BitAnd: operator.and_, ast.BitOr: operator.or_,
            ast.BitXor: operator.xor}
_INT_LIMIT = 1 << 64


def const_int(expr: str) -> int:
    """An integer constant expression of GNU as (+ - * / % << >> & | ^ ~, parentheses, decimal or
    0x numbers), evaluated without eval and with every intermediate value bounded by 2^64, so
    `9**9**9` or `1 << 99999999` is refused instead of hanging."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        raise ValueError("not an expression") from None
    return _int_node(tree.body)


def _int_node(node: ast.AST) -> int:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        value = node.value
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Invert)):
        inner = _int_node(node.operand)
        value = {ast.USub: -inner, ast.UAdd: inner, ast.Invert: ~inner}[type(node.op)]
    elif isinstance(node, ast.BinOp) and type(node.op) in _INT_OPS:
        left, right = _int_node(node.left), _int_node(node.right)
        if isinstance(node.op, (ast.LShift, ast.RShift)) and not 0 <= right < 64:
            raise ValueError(f"shift by {right}")
        if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and right == 0:
            raise ValueError("division by zero")
        value = _INT_OPS[type(node.op)](left, right)
    else:
        raise ValueError(f"{type(node).__name__} is not allowed")
    if not -_INT_LIMIT < value < _INT_LIMIT:
        raise ValueError("value out of range")
    return value
