"""SASA compiler front end and bad input (issue 4): cpp, macros with origins, parse, errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sasa_compiler.api import compile_file
from sasa_compiler.errors import CompileError
from sasa_compiler.macros import expand
from sasa_compiler.parse import parse_program
from sasa_compiler.preprocess import preprocess

HEAD = """#define pB x2
// @sparse pB
    .text
    .global k
    .type k, %function
k:
"""
BODY_OK = """    movi v16.16b, #0
    movi v17.16b, #0
    ld1 {v0.4s}, [x1]
    ld1 {v1.4s}, [x1, #16]
    mov x5, x0
1:  ld1 {v8.4s}, [pB]
    add pB, pB, #16
    fmla v16.4s, v0.4s, v8.s[0]
    fmla v17.4s, v1.4s, v8.s[0]
    subs x5, x5, #1
    b.ne 1b
    st1 {v16.4s, v17.4s}, [x3]
    ret
"""


def write(tmp_path: Path, text: str, name: str = "k.S") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_macro_expansion_keeps_origins(tmp_path):
    src = write(tmp_path, """.macro ACC d, a, lane=0
    fmla \\d\\().4s, \\a\\().4s, v8.s[\\lane]
.endm
.macro TWO
    ACC v16, v0
    ACC v17, v1, 3
.endm
    .rept 2
    TWO
    .endr
    .irp r, 20, 21
    movi v\\r\\().16b, #0
    .endr
""")
    lines = expand(preprocess(src))
    texts = [l.text.strip() for l in lines]
    assert texts == ["fmla v16.4s, v0.4s, v8.s[0]", "fmla v17.4s, v1.4s, v8.s[3]"] * 2 + \
                    ["movi v20.16b, #0", "movi v21.16b, #0"]
    assert lines[1].origin.line == 2 and lines[1].origin.file == str(src)
    assert lines[1].origin.expanded_from[0][1] == 9          # the TWO invocation inside .rept
    assert lines[1].origin.expanded_from[-1][2] == "ACC"


def test_defines_and_req_aliases_resolve(tmp_path):
    src = write(tmp_path, HEAD + "pA .req x1\n    ld1 {v0.4s}, [pA]\n    ret\n")
    prog = parse_program(expand(preprocess(src)))
    assert prog.sparse[0][0] == "x2"
    assert prog.insts[0].asm() == "ld1 {v0.4s}, [x1]"


@pytest.mark.parametrize("body, line, words", [
    ("    fmla v16.4s, v0.4s\n", 7, "needs 3 operands"),
    ("    frobnicate x0, x1\n", 7, "unknown instruction"),
    ("    .frobnicate 3\n", 7, "unknown directive"),
    ("    ld1 {v0.4s, [x1]\n", 7, "malformed"),
    (".macro M\n    nop\n", 7, "unbalanced .macro"),
    ("    nop\n.endm\n", 8, "unbalanced .endm"),
])
def test_bad_input_errors_carry_file_line_and_write_nothing(tmp_path, body, line, words):
    src = write(tmp_path, HEAD + body + "    ret\n")
    out = tmp_path / "out.S"
    with pytest.raises(CompileError) as err:
        compile_file(src, out, tmp_path / "out.json")
    assert str(err.value).startswith(f"{src}:{line}:"), str(err.value)
    assert words in str(err.value)
    assert not out.exists() and not (tmp_path / "out.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


@pytest.mark.parametrize("note, words", [("// @sparse\n", "names no register"),
                                         ("// @sparse foo\n", "is not a 64-bit pointer")])
def test_annotation_naming_no_register(tmp_path, note, words):
    src = write(tmp_path, "    .text\n" + note + BODY_OK)
    with pytest.raises(CompileError, match=words) as err:
        compile_file(src, tmp_path / "o.S")
    assert str(err.value).startswith(f"{src}:2:")


def test_unused_sparse_pointer_warns(tmp_path):
    src = write(tmp_path, HEAD.replace("@sparse pB", "@sparse x9") + BODY_OK)
    res = compile_file(src, tmp_path / "o.S", tmp_path / "o.json")
    assert any("x9 is never used by a load" in str(w) and f"{src}:2" in str(w) for w in res.warnings)
    assert json.loads((tmp_path / "o.json").read_text())["warnings"]


def test_cpp_error_maps_to_source_line(tmp_path):
    src = write(tmp_path, "    .text\n#if 1\n#error \"boom\"\n#endif\n")
    with pytest.raises(CompileError, match="boom") as err:
        compile_file(src, tmp_path / "o.S")
    assert str(err.value).startswith(f"{src}:3:")


def test_table_overflow_strict_has_no_reload_point(tmp_path):
    from dataclasses import replace
    from gem5_configs.params import MINOR_DEFAULT
    small = replace(MINOR_DEFAULT, sasa_entries=1)            # BODY_OK needs more than one entry
    body = BODY_OK.replace("    fmla v17", "    str x5, [x3]\n    fmla v17")   # a store splits the region
    src = write(tmp_path, HEAD + body)
    full = compile_file(src, tmp_path / "o.S", returns="none")
    assert full.entries > 1
    with pytest.raises(CompileError, match="no reload point") as err:
        compile_file(src, tmp_path / "s.S", params=small, overflow="strict", returns="none")
    assert str(err.value).startswith(f"{src}:") and not (tmp_path / "s.S").exists()
    res = compile_file(src, tmp_path / "r.S", tmp_path / "r.json", params=small, overflow="rank", returns="none")
    assert res.entries == 1 and len(res.listing["dropped"]) == full.entries - 1


def test_rept_count_is_evaluated_safely(tmp_path):
    """`.rept` counts are integer expressions evaluated without eval(): an exponent tower or a huge
    shift is refused with file:line instead of hanging the compiler."""
    from sasa_compiler.macros import const_int
    assert const_int("(1 << 4) + 3 * 2") == 22
    for bad in ("9**9**9", "1 << 100000", "__import__('os')", "x"):
        with pytest.raises(ValueError):
            const_int(bad)
    src = write(tmp_path, "    nop\n    .rept 9**9**9\n    nop\n    .endr\n")
    with pytest.raises(CompileError, match=r"k\.S:2: .*\.rept count"):
        expand(preprocess(src))


def test_empty_source_and_folder_output_are_one_line_errors(tmp_path):
    empty = write(tmp_path, "")
    with pytest.raises(CompileError, match="no instructions"):
        compile_file(empty, tmp_path / "o.S", sparse=["x0"])
    src = write(tmp_path, "// @sparse x1\n    ld1 {v0.4s}, [x1]\n    ret\n", "ok.S")
    with pytest.raises(ValueError, match="is a folder"):
        compile_file(src, tmp_path)
    assert not (tmp_path / "o.S").exists()


def test_modelled_sparsity_out_of_range_is_refused(tmp_path):
    src = write(tmp_path, "// @sparse x1\n    ld1 {v0.4s}, [x1]\n    ret\n")
    with pytest.raises(ValueError, match="outside"):
        compile_file(src, tmp_path / "o.S", sparsity=2.0)
