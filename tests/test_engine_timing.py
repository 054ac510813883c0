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


def test_dependent_fmla_chain_costs_float_latency():
    body = lambda n: "    fmla v0.4s, v1.4s, v2.s[0]\n" * n
    assert _per_inst(body, 8, 16) == MINOR_DEFAULT.lat_float_simd == 6


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


def test_prefetch_turns_misses_into_hits():
    pre = "    adrp x0, snippet_data\n    add x0, x0, :lo12:snippet_data\n"
    loads = "".join(f"    ldr w1, [x0, #{64 * i}]\n" for i in range(32))
    prfm = "".join(f"    prfm pldl1keep, [x0, #{64 * i}]\n" for i in range(32))
    cold = simulate(build_snippet(pre + loads, data="    .zero 4096")).stats
    warm = simulate(build_snippet(pre + prfm + loads, data="    .zero 4096")).stats
    assert cold["system.cpu.dcache.overallMisses::total"] == 32
    assert warm["system.cpu.dcache.overallMisses::total"] == 0
    assert warm["system.cpu.dcache.prefetches"] == 32
