"""gem5_configs/se_sparce.py against gem5's own SimObject declarations (tests/gem5_declared.py).

The config runs under an `m5` whose classes are built from a real gem5 v24.0.0.1 source tree
(patched in memory as isa_ext/gem5/apply_gem5_patch.py would): an undeclared parameter, port or
method, or a value of the wrong type, is an error. Then the numbers the config gives gem5 are
compared with gem5_configs/params.py. The tree comes from GEM5_SRC, or from the tree a GEM5 binary
was built in; without either the tests skip and say so (gem5 cannot come from a package registry).
Running the config in gem5 itself is tests/test_gem5_integration.py (needs GEM5).
"""
from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

import gem5_declared as g5
from gem5_configs.params import MINOR_DEFAULT, params_from_dict

ROOT = Path(__file__).resolve().parents[1]
SE_CONFIG = ROOT / "gem5_configs" / "se_sparce.py"
needs_tree = pytest.mark.skipif(g5.TREE is None, reason=g5.NO_TREE)


@pytest.fixture(scope="module")
def decls():
    return g5.read_declarations(g5.TREE)


def _run(monkeypatch, tmp_path, decls, argv, config_text: str | None = None):
    m5, objects = g5.declared_m5(decls)
    monkeypatch.setitem(sys.modules, "m5", m5)
    monkeypatch.setitem(sys.modules, "m5.objects", objects)
    binary = tmp_path / "kernel.elf"
    binary.write_bytes(b"\x7fELF")
    config = SE_CONFIG
    if config_text is not None:
        config = tmp_path / "se_sparce.py"
        config.write_text(config_text)
    monkeypatch.setattr(sys, "argv", [str(config), "--binary", str(binary)] + argv)
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(str(config), run_name="__m5_main__")
    assert exc.value.code == 0
    assert m5.instantiated == [True]
    objs: dict[str, list] = {}
    for o in g5.DeclaredObject.created:
        objs.setdefault(type(o).__name__, []).append(o.attrs)
    return objs


@needs_tree
def test_declarations_are_read_from_the_tree(decls):
    assert g5.ancestry(decls, "ArmMinorCPU")[-1] == "SimObject"
    assert decls["BaseCache"].params["size"] == ("MemorySize", False)
    assert "icache_port" in decls["BaseCPU"].ports
    assert "addPrivateSplitL1Caches" in decls["BaseCPU"].methods
    assert decls["BaseMinorCPU"].params["sparce"] == ("SparceUnit", False)   # the patch's edit, applied


@needs_tree
def test_se_config_uses_only_declared_names_and_takes_numbers_from_params(monkeypatch, tmp_path, decls):
    objs = _run(monkeypatch, tmp_path, decls, [])
    p = MINOR_DEFAULT
    l1i, l1d, l2 = objs["Cache"]
    for got, want in ((l1i, p.l1i), (l1d, p.l1d), (l2, p.l2)):
        assert got["size"] == f"{want.size_kb}kB"
        assert got["assoc"] == want.assoc
        assert got["tag_latency"] == got["data_latency"] == want.latency
    cpu = objs["ArmMinorCPU"][0]
    assert (cpu["decodeInputWidth"], cpu["executeIssueLimit"], cpu["executeMemoryIssueLimit"],
            cpu["executeCommitLimit"]) == (p.decode_width, p.issue_limit, p.mem_issue_limit, p.commit_limit)
    assert cpu["executeInputBufferSize"] == p.execute_input_buffer
    assert cpu["executeInputWidth"] == p.execute_input_width
    assert cpu["fetch1ToFetch2ForwardDelay"] == p.fetch1_to_fetch2_delay
    assert cpu["executeBranchDelay"] == p.branch_delay
    assert objs["SparceUnit"][0] == {"enabled": True, "sasaEntries": p.sasa_entries,
                                     "sprfEntries": p.sprf_entries, "nullifyUnissued": True}
    assert objs["LocalBP"][0]["localPredictorSize"] == p.bp_entries
    assert objs["SimpleBTB"][0]["numEntries"] == p.btb_entries
    assert len(objs["MinorDefaultIntFU"]) == p.int_alu_units
    assert {o["opLat"] for o in objs["MinorDefaultIntFU"]} == {p.lat_int_alu}
    assert objs["MinorDefaultIntMulFU"][0]["opLat"] == p.lat_int_mult
    assert objs["MinorDefaultIntDivFU"][0]["opLat"] == p.lat_int_div
    assert objs["MinorDefaultFloatSimdFU"][0]["opLat"] == p.lat_float_simd
    assert objs["MinorDefaultMemFU"][0]["opLat"] == p.lat_mem
    timing = {o["description"]: o for o in objs["MinorFUTiming"]}
    assert timing["Mem"]["extraAssumedLat"] == p.lat_mem_extra_assumed
    assert timing["Mem"]["srcRegsRelativeLats"] == [p.src_rel_mem]
    assert timing["Int"]["srcRegsRelativeLats"] == [p.src_rel_int]
    assert timing["FloatSimd"]["srcRegsRelativeLats"] == [p.src_rel_float]
    assert (cpu["executeMaxAccessesInMemory"], cpu["executeLSQStoreBufferSize"],
            cpu["executeLSQTransfersQueueSize"]) == (p.mem_accesses_limit, p.store_buffer, p.lsq_transfers)
    assert objs["SimpleMemory"][0]["latency"] == f"{p.dram_latency / p.clock_ghz}ns"
    assert objs["SrcClockDomain"][0]["clock"] == f"{p.clock_ghz}GHz"
    assert objs["Root"][0]["full_system"] is False
    called = {name for _, name in g5.DeclaredObject.calls}
    assert {"addPrivateSplitL1Caches", "connectAllPorts", "createThreads"} <= called


@needs_tree
def test_se_config_reads_params_json_and_sparce_off(monkeypatch, tmp_path, decls):
    params = MINOR_DEFAULT.with_overrides({"l1d.size_kb": "32", "l2.latency": "20", "sasa_entries": "8"})
    path = tmp_path / "params.json"
    path.write_text(json.dumps(params.as_dict()))
    assert params_from_dict(json.loads(path.read_text())) == params
    objs = _run(monkeypatch, tmp_path, decls, ["--params-json", str(path), "--sparce", "off", "--mem", "ddr3"])
    assert objs["Cache"][1]["size"] == "32kB"
    assert objs["Cache"][2]["tag_latency"] == 20
    assert objs["SparceUnit"][0]["enabled"] is False and objs["SparceUnit"][0]["sasaEntries"] == 8
    assert "DDR3_1600_8x8" in objs and "SimpleMemory" not in objs


@needs_tree
@pytest.mark.parametrize("good, bad, message", [
    ("cpu.executeIssueLimit = p.issue_limit", "cpu.executeIssueLimt = p.issue_limit", "executeIssueLimt"),
    ('Cache(size=f"{c.size_kb}kB"', "Cache(size=c.size_kb", "Param.MemorySize"),
    ("cpu.executeFuncUnits = make_fu_pool(p)", "cpu.executeFuncUnits = MinorDefaultIntFU()", "Param.MinorFUPool"),
    ("system.system_port = system.membus.cpu_side_ports", "system.system_port = 3", "is a port"),
    ("system.cpu.createThreads()", "system.cpu.createThread()", "createThread"),
])
def test_a_broken_config_fails(monkeypatch, tmp_path, decls, good, bad, message):
    text = SE_CONFIG.read_text()
    assert text.count(good) == 1
    with pytest.raises((AttributeError, TypeError), match=message):
        _run(monkeypatch, tmp_path, decls, [], text.replace(good, bad))


@needs_tree
def test_every_imported_class_is_declared_by_this_gem5(decls):
    import ast
    tree = ast.parse(SE_CONFIG.read_text())
    names = {a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "m5.objects"
             for a in node.names}
    undeclared = {n for n in names - {"AddrRange"} if not g5.is_simobject(decls, n)}
    assert not undeclared
