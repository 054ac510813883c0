"""Timing micro-benchmarks whose cycle counts are stated analytically (issue 2).

Each figure is a second difference: (cycles of a loop body with n2 instructions run 3 times minus
run twice) minus the same for n1 instructions. Loop overhead, cold caches and start-up cancel, so
what is left is exactly the per-instruction cost the MinorCPU parameters predict.
"""
from gem5_configs.params import MINOR_DEFAULT
from kernels.build import build_snippet
from sparce_sim.runner import simulate


def _loop(body: str, iters: int) -> str:
    return f"    mov x9, #{iters}\n1:\n{body}    subs x9, x9, #1\n    b.ne 1b\n"


def _per_inst(make_body, n1: int, n2: int) -> float:
    def cycles(n, iters):
        return simulate(build_snippet(_loop(make_body(n), iters))).stats["system.cpu.numCycles"]
    d1 = cycles(n1, 3) - cycles(n1, 2)
    d2 = cycles(n2, 3) - cycles(n2, 2)
    return (d2 - d1) / (n2 - n1)


def test_dependent_fmla_chain_costs_float_latency_less_the_early_source_read():
    """Minor's scoreboard lets an op issue srcRegsRelativeLats cycles before its source returns."""
    body = lambda n: "    fmla v0.4s, v1.4s, v2.s[0]\n" * n
    assert _per_inst(body, 8, 16) == MINOR_DEFAULT.lat_float_simd - MINOR_DEFAULT.src_rel_float == 4


def test_independent_intalu_issue_two_per_cycle():
    body = lambda n: "".join(f"    add x{1 + i % 8}, x20, #1\n" for i in range(n))
    assert _per_inst(body, 32, 64) == 1 / MINOR_DEFAULT.issue_limit


def test_streaming_loads_miss_once_per_line():
    def misses(n, stride):
        body = "    adrp x0, snippet_data\n    add x0, x0, :lo12:snippet_data\n" + f"    ldr w1, [x0], #{stride}\n" * n
        stats = simulate(build_snippet(body, data="    .zero 16384")).stats
        return stats["system.cpu.dcache.overallMisses::total"], stats["system.cpu.dcache.overallHits::total"]
    base_miss, _ = misses(0, 64)
    miss, hit = misses(128, 64)            # one load per 64-byte line: every load misses
    assert miss - base_miss == 128 and hit == 0
    miss, hit = misses(128, 4)             # 16 loads per line: 8 lines
    assert miss - base_miss == 128 * 4 // 64 and hit == 128 - 8


def test_prefetches_are_l1d_accesses_that_fetch_each_line_once_and_save_time():
    """prfm is an L1D access (gem5's SoftPFReq): 32 prefetch misses bring the lines in; the loads
    after them fetch nothing more (each is a hit or waits on the prefetch's fill, an MSHR hit)."""
    pre = "    adrp x0, snippet_data\n    add x0, x0, :lo12:snippet_data\n"
    loads = "".join(f"    ldr w1, [x0, #{64 * i}]\n" for i in range(32))
    prfm = "".join(f"    prfm pldl1keep, [x0, #{64 * i}]\n" for i in range(32))
    cold = simulate(build_snippet(pre + loads, data="    .zero 4096")).stats
    warm = simulate(build_snippet(pre + prfm + loads, data="    .zero 4096")).stats
    assert cold["system.cpu.dcache.overallMisses::total"] == 32
    assert cold["system.cpu.dcache.overallMshrHits::total"] == 0
    assert warm["system.cpu.dcache.prefetches"] == 32
    assert warm["system.cpu.dcache.overallAccesses::total"] == cold["system.cpu.dcache.overallAccesses::total"] + 32
    assert warm["system.cpu.dcache.ReadReq.misses::total"] == warm["system.cpu.dcache.overallMshrHits::total"]
    assert warm["system.cpu.numCycles"] < cold["system.cpu.numCycles"]


def test_a_miss_costs_the_calibrated_path_and_only_two_accesses_fly():
    """Independent loads to 8 distinct cold lines: at most mem_accesses_limit (2) are in flight, so
    each pair costs one L2-miss latency (l2 + both paths + DRAM), derived from params.py."""
    p = MINOR_DEFAULT
    miss = p.l1d.latency + p.l2.latency + p.l2_path_cycles + p.mem_path_cycles + p.dram_latency
    pre = "    adrp x0, snippet_data\n    add x0, x0, :lo12:snippet_data\n"
    def cycles(n):
        body = pre + "".join(f"    ldr w{1 + i}, [x0, #{64 * i}]\n" for i in range(n))
        return simulate(build_snippet(body, data="    .zero 4096")).stats["system.cpu.numCycles"]
    assert abs((cycles(8) - cycles(4)) - 2 * miss) <= 4 * 2     # two more pairs, a few cycles of issue each



def test_pre_and_post_indexed_accesses_carry_gem5s_writeback_micro_op(tmp_path):
    """gem5 splits a pre/post-indexed load/store into the access and a MicroAddXiUop on the base;
    the offset form and prfm have none (decode.py StaticInst.wb_base). The words come from GNU as."""
    import subprocess
    from sparce_sim.decode import Decoder
    expect = {"ldr x0, [x1], #8": 1, "ldr x0, [x2, #8]!": 2, "str q0, [x3], #16": 3,
              "ld1r {v1.4s}, [x4], #4": 4, "ldr x0, [x1, #8]": -1, "stp x29, x30, [sp, #-16]!": 31,
              "prfm pldl1keep, [x5, #64]": -1}
    (tmp_path / "w.s").write_text("".join(f"    {text}\n" for text in expect))
    subprocess.run(["aarch64-linux-gnu-as", "-o", str(tmp_path / "w.o"), str(tmp_path / "w.s")], check=True)
    subprocess.run(["aarch64-linux-gnu-objcopy", "-O", "binary", "-j", ".text", str(tmp_path / "w.o"),
                    str(tmp_path / "w.bin")], check=True)
    code = (tmp_path / "w.bin").read_bytes()
    dec = Decoder(MINOR_DEFAULT)
    got = {text: dec.decode(0x1000 + 4 * i, code[4 * i:4 * i + 4]).wb_base for i, text in enumerate(expect)}
    assert got == expect
