"""gem5 SE-mode config: an ArmMinorCPU with the SPARCE unit and the Table 4.1(a) memory system.

Run by gem5 (never by plain Python):

    build/ARM/gem5.opt -d OUT/m5out gem5_configs/se_sparce.py --binary KERNEL.elf \
        [--sparce on|off] [--params-json params.json] [--mem simple|ddr3] [--max-insts N] \
        [--skippable-rule issue|fetch] \
        [--output program.out] [-- ARGS...]

Written against gem5 v24.0.0.1's classic configuration API (m5.objects: System, ArmMinorCPU,
MinorFUPool, Cache, L2XBar, SystemXBar, SimpleMemory/MemCtrl, SEWorkload, Process, Root), the
API of configs/learning_gem5 and configs/common, not the gem5 stdlib (gem5.components), whose
prebuilt cache hierarchies do not expose every latency and associativity of Table 4.1.

Every number comes from gem5_configs/params.py: MINOR_DEFAULT, or the JSON that `axsim gem5`
dumps (SystemParams.as_dict() after --param overrides) and passes with --params-json. The
SparceUnit needs a gem5 built with isa_ext/gem5 applied; with --sparce off the unit is still
attached (enabled=False) so both runs report system.cpu.sparce.*; SASA-LD is then a no-op.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

import m5  # noqa: E402  (provided by gem5)
from m5.objects import (  # noqa: E402
    AddrRange, ArmMinorCPU, Cache, DDR3_1600_8x8, L2XBar, LocalBP, MemCtrl, MinorDefaultFloatSimdFU,
    MinorDefaultIntDivFU, MinorDefaultIntFU, MinorDefaultIntMulFU, MinorDefaultMemFU,
    MinorDefaultMiscFU, MinorDefaultPredFU, MinorFUPool, MinorFUTiming, Process, Root, SEWorkload,
    SimpleBTB, SimpleMemory, SparceUnit, SrcClockDomain, System, SystemXBar, VoltageDomain,
)

from gem5_configs.params import MINOR_DEFAULT, SystemParams, params_from_dict  # noqa: E402

MEM_SIZE = "512MB"


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="SPARCE SE-mode run on ArmMinorCPU")
    ap.add_argument("--binary", required=True, help="static AArch64 ELF")
    ap.add_argument("--sparce", choices=("on", "off"), default="on")
    ap.add_argument("--params-json", default=None, help="SystemParams as JSON (default: MINOR_DEFAULT)")
    ap.add_argument("--mem", choices=("simple", "ddr3"), default="simple",
                    help="simple: fixed latency of params.dram_latency cycles (as sparce_sim); "
                         "ddr3: gem5's DDR3_1600_8x8 controller model")
    ap.add_argument("--skippable-rule", choices=("issue", "fetch"), default="issue",
                    help="how late a skippable region may resolve true: issue (none of its instructions "
                         "issued yet; they are dropped) or fetch (fetch still inside it, sparce_sim's rule)")
    ap.add_argument("--max-insts", type=int, default=0, help="stop after N instructions (0: run to exit)")
    ap.add_argument("--output", default="program.out", help="the program's stdout, in gem5's outdir")
    ap.add_argument("options", nargs=argparse.REMAINDER, help="arguments for the binary (after --)")
    return ap.parse_args(argv)


def load_params(path: str | None) -> SystemParams:
    if path is None:
        return MINOR_DEFAULT
    with open(path) as f:
        return params_from_dict(json.load(f))


def cycles_to_ns(p: SystemParams, cycles: int) -> str:
    return f"{cycles / p.clock_ghz}ns"


def make_cache(c, mshrs: int):
    """A classic Cache from params.CacheParams; hit latency = max(tag, data) = c.latency."""
    return Cache(size=f"{c.size_kb}kB", assoc=c.assoc, tag_latency=c.latency, data_latency=c.latency,
                 response_latency=c.latency, mshrs=mshrs, tgts_per_mshr=20, write_buffers=8)


def make_fu_pool(p: SystemParams):
    """MinorDefaultFUPool's units with the latencies of params.py."""
    units = [MinorDefaultIntFU(opLat=p.lat_int_alu, timings=[MinorFUTiming(
        description="Int", srcRegsRelativeLats=[p.src_rel_int])]) for _ in range(p.int_alu_units)]
    units += [
        MinorDefaultIntMulFU(opLat=p.lat_int_mult),
        MinorDefaultIntDivFU(opLat=p.lat_int_div, issueLat=p.lat_int_div),
        MinorDefaultFloatSimdFU(opLat=p.lat_float_simd, timings=[MinorFUTiming(
            description="FloatSimd", srcRegsRelativeLats=[p.src_rel_float])]),
        MinorDefaultPredFU(),
        MinorDefaultMemFU(opLat=p.lat_mem, timings=[MinorFUTiming(
            description="Mem", srcRegsRelativeLats=[p.src_rel_mem], extraAssumedLat=p.lat_mem_extra_assumed)]),
        MinorDefaultMiscFU(opLat=p.lat_misc),
    ]
    return MinorFUPool(funcUnits=units)


def make_cpu(p: SystemParams, sparce_on: bool, skippable_rule: str = "issue"):
    cpu = ArmMinorCPU()
    cpu.fetch1ToFetch2ForwardDelay = p.fetch1_to_fetch2_delay
    cpu.fetch1ToFetch2BackwardDelay = p.fetch1_to_fetch2_backward_delay
    cpu.fetch2ToDecodeForwardDelay = p.fetch2_to_decode_delay
    cpu.decodeToExecuteForwardDelay = p.decode_to_execute_delay
    cpu.decodeInputWidth = p.decode_width
    cpu.executeIssueLimit = p.issue_limit
    cpu.executeMemoryIssueLimit = p.mem_issue_limit
    cpu.executeCommitLimit = p.commit_limit
    cpu.executeInputBufferSize = p.execute_input_buffer
    cpu.executeInputWidth = p.execute_input_width
    cpu.executeBranchDelay = p.branch_delay
    cpu.executeMaxAccessesInMemory = p.mem_accesses_limit
    cpu.executeLSQStoreBufferSize = p.store_buffer
    cpu.executeLSQTransfersQueueSize = p.lsq_transfers
    cpu.executeFuncUnits = make_fu_pool(p)
    cpu.branchPred = LocalBP(localPredictorSize=p.bp_entries, btb=SimpleBTB(numEntries=p.btb_entries))
    cpu.sparce = SparceUnit(enabled=sparce_on, sasaEntries=p.sasa_entries, sprfEntries=p.sprf_entries,
                            nullifyUnissued=skippable_rule == "issue")
    return cpu


def build_system(p: SystemParams, binary: str, options: list[str], sparce_on: bool, mem: str,
                 max_insts: int, output: str, skippable_rule: str = "issue"):
    system = System()
    system.clk_domain = SrcClockDomain(clock=f"{p.clock_ghz}GHz", voltage_domain=VoltageDomain())
    system.mem_mode = "timing"
    system.mem_ranges = [AddrRange(MEM_SIZE)]
    system.cache_line_size = p.l1d.line_bytes

    system.cpu = make_cpu(p, sparce_on, skippable_rule)
    if max_insts:
        system.cpu.max_insts_any_thread = max_insts
    system.cpu.addPrivateSplitL1Caches(make_cache(p.l1i, 4), make_cache(p.l1d, 4))

    system.l2bus = L2XBar()
    system.membus = SystemXBar()
    system.cpu.createInterruptController()
    system.cpu.connectAllPorts(system.l2bus.cpu_side_ports, system.membus.cpu_side_ports,
                               system.membus.mem_side_ports)
    system.l2 = make_cache(p.l2, 20)
    system.l2.cpu_side = system.l2bus.mem_side_ports
    system.l2.mem_side = system.membus.cpu_side_ports
    system.system_port = system.membus.cpu_side_ports

    if mem == "ddr3":
        system.mem_ctrl = MemCtrl(dram=DDR3_1600_8x8(range=system.mem_ranges[0]))
        system.mem_ctrl.port = system.membus.mem_side_ports
    else:
        system.mem_ctrl = SimpleMemory(range=system.mem_ranges[0],
                                       latency=cycles_to_ns(p, p.dram_latency))
        system.mem_ctrl.port = system.membus.mem_side_ports

    system.workload = SEWorkload.init_compatible(binary)
    process = Process(cmd=[binary] + list(options), output=output)
    system.cpu.workload = process
    system.cpu.createThreads()
    return Root(full_system=False, system=system)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not os.path.isfile(args.binary):
        print(f"se_sparce.py: binary {args.binary} not found", file=sys.stderr)
        return 2
    options = args.options[1:] if args.options[:1] == ["--"] else args.options
    params = load_params(args.params_json)
    build_system(params, args.binary, options, args.sparce == "on", args.mem, args.max_insts,
                 args.output, args.skippable_rule)
    m5.instantiate()
    event = m5.simulate()
    print(f"se_sparce.py: exiting @ tick {m5.curTick()} because {event.getCause()}")
    return int(event.getCode())


if __name__ == "__m5_main__" or __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
