"""gem5's SimObject declarations, read from a real gem5 source tree, and an `m5` that enforces them.

The SE config (gem5_configs/se_sparce.py) is meant for gem5's Python. Without a gem5 binary it can
still be checked against what gem5 declares: every `class X(SimObject)` in gem5's `src/**/*.py`
(plus the SparceUnit of isa_ext/gem5, and the edits apply_gem5_patch.py makes to gem5's Python
files) is parsed with `ast` into its base classes, parameters (`Param.T` / `VectorParam.T`), ports
(`*Port(...)`) and methods. `declared_m5(decls)` then builds `m5` and `m5.objects` modules whose
classes accept only declared parameters and ports, check each value against the parameter's type
(integers, booleans, sizes, latencies, SimObject types by inheritance), and allow methods only where
gem5 defines them. Any other attribute or keyword is an AttributeError naming class and name.
"""
from __future__ import annotations

import ast
import os
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORT_CLASSES = {"RequestPort", "ResponsePort", "VectorRequestPort", "VectorResponsePort",
                "ResetResponsePort", "ResetRequestPort", "MasterPort", "SlavePort",
                "VectorMasterPort", "VectorSlavePort", "Port", "VectorPort"}
INT_TYPES = {"Int", "Unsigned", "UInt8", "UInt16", "UInt32", "UInt64", "Int8", "Int16", "Int32",
             "Int64", "Counter", "Cycles", "Tick", "Addr", "TcpPort", "UdpPort"}
SIZE_RE = re.compile(r"^\d+(\.\d+)?([kKMGT]i?)?B$")
LATENCY_RE = re.compile(r"^\d+(\.\d+)?(ps|ns|us|ms|s|t)$")
CLOCK_RE = re.compile(r"^\d+(\.\d+)?(GHz|MHz|kHz|Hz)$")


@dataclass
class Decl:
    """One SimObject class as gem5's Python declares it."""
    name: str
    bases: list[str]
    params: dict[str, tuple[str, bool]] = field(default_factory=dict)   # name -> (type, is_vector)
    ports: set[str] = field(default_factory=set)
    methods: set[str] = field(default_factory=set)


def gem5_source_tree(env: dict[str, str]) -> Path | None:
    """GEM5_SRC, or the tree a GEM5 binary was built in (ROOT/build/ARM/gem5.fast)."""
    candidates = []
    if env.get("GEM5_SRC"):
        candidates.append(Path(env["GEM5_SRC"]))
    if env.get("GEM5"):
        candidates.append(Path(env["GEM5"]).resolve().parents[2])
    for c in candidates:
        if (c / "src" / "python" / "m5" / "SimObject.py").is_file():
            return c
    return None


TREE = gem5_source_tree(dict(os.environ))
NO_TREE = ("no gem5 source tree: set GEM5_SRC to a gem5 v24.0.0.1 checkout (gem5/gem5 at b1a44b89c7), "
           "or GEM5 to a gem5 binary built inside one")


def _patched_python(root: Path) -> dict[str, str]:
    """Text of gem5's Python files that apply_gem5_patch.py edits, with the edits applied."""
    sys.path.insert(0, str(ROOT / "isa_ext" / "gem5"))
    try:
        import apply_gem5_patch as ap
    finally:
        sys.path.pop(0)
    out: dict[str, str] = {}
    for edit in ap.EDITS:
        if not edit.path.endswith(".py"):
            continue
        text = out.get(edit.path) or ap.pristine_text(root, edit.path)
        out[edit.path] = ap.plan_edit(text, edit)
    return out


def _call_type(node: ast.expr) -> tuple[str, bool] | None:
    """Param.T(...) -> (T, False); VectorParam.T(...) -> (T, True); else None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        owner = node.func.value
        if isinstance(owner, ast.Name) and owner.id in ("Param", "VectorParam"):
            return node.func.attr, owner.id == "VectorParam"
    return None


def _is_port(node: ast.expr) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in PORT_CLASSES)


def _class_decl(cls: ast.ClassDef) -> Decl:
    bases = [b.id if isinstance(b, ast.Name) else b.attr for b in cls.bases
             if isinstance(b, (ast.Name, ast.Attribute))]
    d = Decl(cls.name, bases)
    for stmt in cls.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            d.methods.add(stmt.name)
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name = stmt.targets[0].id
            typ = _call_type(stmt.value)
            if typ:
                d.params[name] = typ
            elif _is_port(stmt.value):
                d.ports.add(name)
    return d


def read_declarations(root: Path) -> dict[str, Decl]:
    """Every class in gem5's src/**/*.py (patched as apply_gem5_patch.py would) and isa_ext's."""
    patched = _patched_python(root)
    texts = {p.relative_to(root).as_posix(): p for p in sorted((root / "src").rglob("*.py"))}
    stdlib_last = sorted(texts, key=lambda rel: rel.startswith("src/python/gem5/"))   # the classic classes win
    sources = [(rel, patched.get(rel) or texts[rel].read_text(errors="replace")) for rel in stdlib_last]
    sources += [(p.as_posix(), p.read_text()) for p in (ROOT / "isa_ext" / "gem5" / "src").rglob("*.py")]
    decls: dict[str, Decl] = {}
    for rel, text in sources:
        try:
            tree = ast.parse(text, rel)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                decls.setdefault(node.name, _class_decl(node))
    return decls


def ancestry(decls: dict[str, Decl], name: str) -> list[str]:
    """name and all its base classes that gem5 declares, nearest first."""
    seen: list[str] = []
    todo = [name]
    while todo:
        n = todo.pop(0)
        if n in seen or n not in decls:
            continue
        seen.append(n)
        todo.extend(decls[n].bases)
    return seen


def is_simobject(decls: dict[str, Decl], name: str) -> bool:
    return "SimObject" in ancestry(decls, name)


# ---------------------------------------------------------------- the enforcing m5


class DeclaredObject:
    """A SimObject instance that accepts only what its gem5 class declares."""
    decls: dict[str, Decl] = {}
    created: list["DeclaredObject"] = []
    calls: list[tuple[str, str]] = []

    def __init__(self, **kwargs):
        object.__setattr__(self, "attrs", {})
        DeclaredObject.created.append(self)
        for k, v in kwargs.items():
            setattr(self, k, v)

    @classmethod
    def _chain(cls) -> list[Decl]:
        return [cls.decls[n] for n in ancestry(cls.decls, cls.__name__)]

    def _find(self, name: str):
        for d in self._chain():
            if name in d.params:
                return "param", d.params[name]
            if name in d.ports:
                return "port", None
            if name in d.methods:
                return "method", None
        return None, None

    def __setattr__(self, name: str, value) -> None:
        kind, typ = self._find(name)
        owner = type(self).__name__
        if kind == "param":
            check_value(self.decls, owner, name, typ, value)
        elif kind == "port":
            if not isinstance(value, PortRef):
                raise TypeError(f"{owner}.{name} is a port; got {value!r}")
        elif not _is_child(value):
            raise AttributeError(f"{owner} has no parameter or port {name!r} in gem5's declarations")
        self.attrs[name] = value

    def __getattr__(self, name: str):
        attrs = object.__getattribute__(self, "attrs")
        if name in attrs:
            return attrs[name]
        kind, _ = self._find(name)
        owner = type(self).__name__
        if kind == "port":
            return PortRef(f"{owner}.{name}")
        if kind == "method":
            return lambda *a, **k: DeclaredObject.calls.append((owner, name))
        raise AttributeError(f"{owner} has no {name!r} in gem5's declarations (or it was never set)")


class PortRef:
    """A reference to a declared port (what `a.port = b.port` connects)."""

    def __init__(self, name: str):
        self.name = name


class AddrRange:
    """m5.params.AddrRange (not a SimObject): a size or start/end."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


def _is_child(value) -> bool:
    if isinstance(value, DeclaredObject):
        return True
    return isinstance(value, list) and bool(value) and all(isinstance(v, DeclaredObject) for v in value)


def check_value(decls: dict[str, Decl], owner: str, name: str, typ: tuple[str, bool], value) -> None:
    """Raise TypeError when value does not fit gem5's parameter type typ = (T, is_vector)."""
    t, vector = typ
    for v in value if vector and isinstance(value, list) else [value]:
        if not _fits(decls, t, v):
            raise TypeError(f"{owner}.{name} is Param.{t}; {v!r} does not fit")


def _fits(decls: dict[str, Decl], t: str, v) -> bool:
    if t in INT_TYPES:
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "Bool":
        return isinstance(v, bool)
    if t in ("MemorySize", "MemorySize32"):
        return isinstance(v, str) and bool(SIZE_RE.match(v))
    if t == "Latency":
        return isinstance(v, str) and bool(LATENCY_RE.match(v))
    if t in ("Clock", "Frequency"):
        return isinstance(v, str) and bool(CLOCK_RE.match(v) or LATENCY_RE.match(v))
    if t in ("Float", "Percent"):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "String":
        return isinstance(v, str)
    if t == "AddrRange":
        return isinstance(v, AddrRange)
    if t in decls and is_simobject(decls, t):
        return isinstance(v, DeclaredObject) and t in ancestry(decls, type(v).__name__)
    return isinstance(v, (str, int, float))          # enums and other value types


class _Exit:
    def getCause(self) -> str:
        return "exiting with last active thread context"

    def getCode(self) -> int:
        return 0


def declared_m5(decls: dict[str, Decl]) -> tuple[types.ModuleType, types.ModuleType]:
    """`m5` and `m5.objects` whose SimObject classes are built from decls."""
    DeclaredObject.decls = decls
    DeclaredObject.created = []
    DeclaredObject.calls = []
    classes: dict[str, type] = {}

    def objects_getattr(name: str):
        if name == "AddrRange":
            return AddrRange
        if name not in decls or not is_simobject(decls, name):
            raise AttributeError(f"m5.objects has no SimObject {name!r} in this gem5 tree")
        if name not in classes:
            body = {}
            if "init_compatible" in decls[name].methods:
                body["init_compatible"] = classmethod(lambda cls, path, *a, **k: cls())
            classes[name] = type(name, (DeclaredObject,), body)
        return classes[name]

    m5 = types.ModuleType("m5")
    objects = types.ModuleType("m5.objects")
    objects.__getattr__ = objects_getattr
    m5.objects = objects
    m5.instantiated = []
    m5.instantiate = lambda *a: m5.instantiated.append(True)
    m5.simulate = lambda *a: _Exit()
    m5.curTick = lambda: 0
    return m5, objects
