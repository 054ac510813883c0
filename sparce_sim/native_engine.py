"""The default engine: unicorn executes, the native C++ core (sparce_sim/native/) times and skips.

The per-instruction work (timing, effective addresses, SASA table lookups, skips) runs in one C++
code hook on unicorn's C API (no memory hooks: a load's address is computed from its base and index
registers before it executes, which is where most of the speed comes from); this wrapper does what happens rarely: program loading, decoding a PC met for the
first time (capstone, decode.py), system calls (syscalls.py), SASA-LD table loading and validation
(the same code as the Python engine), fault messages, and the statistics snapshot.

It produces the same statistics as the Python reference model (engine.py, `--engine python`),
which tests/test_native_identity.py checks counter by counter.
"""
from __future__ import annotations

import ctypes
import time

import numpy as np
from unicorn import (UC_ARCH_ARM64, UC_HOOK_CODE, UC_HOOK_INTR, UC_HOOK_MEM_PROT, UC_HOOK_MEM_UNMAPPED, UC_MODE_ARM, Uc, UcError)
from unicorn import arm64_const as A

from gem5_configs.params import MINOR_DEFAULT, SystemParams
from isa_ext.encoding import SasaError, decode_sasa_ld

from . import syscalls
from .cache import CacheStats
from .decode import Decoder, DecodeError, StaticInst, uc_reg
from .engine import (DEFAULT_MAX_INSTS, SimulationError, fault_kind, limit_message, load_sasa_table, map_program,
                     read_sasa_table, read_symbol, write_symbol)
from .loader import Program
from .snapshot import RunSnapshot, op_class_counts
from .sparce import SasaTable, SparceStats

try:
    from . import _native
except ImportError as _exc:            # pragma: no cover - a broken install
    _native = None
    _IMPORT_ERROR = _exc

_FLAG_BITS = (("is_load", 1), ("is_store", 2), ("is_prefetch", 4), ("is_branch", 8),
              ("is_cond_branch", 16), ("is_call", 32), ("is_return", 64))


def native_available() -> bool:
    return _native is not None


def _uc_api() -> dict[str, int]:
    """Addresses of the unicorn C functions, from the binding's own loaded library."""
    from unicorn.unicorn_py3.unicorn import uclib
    names = ("uc_hook_add", "uc_hook_del", "uc_reg_read", "uc_reg_write", "uc_emu_start", "uc_emu_stop",
             "uc_mem_read")
    return {n: ctypes.cast(getattr(uclib, n), ctypes.c_void_p).value for n in names}


def _x_regs() -> list[int]:
    return [uc_reg(f"x{i}") for i in range(31)] + [A.UC_ARM64_REG_SP]


def _record(si: StaticInst) -> tuple:
    """The fields of a StaticInst the native core keeps (core.cc fill_inst)."""
    flags = sum(bit for name, bit in _FLAG_BITS if getattr(si, name))
    return (si.fu, si.latency, si.srcs, si.dsts, si.mem_bytes, flags,
            si.prefetch_base if si.is_prefetch else -1, si.prefetch_disp, si.target,
            si.addr_base, si.addr_index, si.addr_ext, si.addr_shift, si.addr_disp, si.wb_base, si.req_bytes)


def _operand(rid: int, ucr: int, o) -> tuple:
    vector = o.reg[0] == "v"
    lane = -1 if o.lane is None else o.lane
    return (rid, ucr, lane, vector, vector and o.lane == 0)


def _decoder_callback(uc: Uc, decoder: Decoder):
    """The core's decode callback: the record of the StaticInst at a PC met for the first time."""
    def decode(pc: int) -> tuple:
        try:
            return _record(decoder.decode(pc, bytes(uc.mem_read(pc, 4))))
        except DecodeError as exc:
            raise DecodeError(str(exc).split(" at PC")[0]) from None
        except UcError:
            raise DecodeError("instruction fetch from unmapped memory") from None
    return decode


class _FaultLog:
    """Unicorn's memory-fault hook: remembers the faulting access for the error message."""

    def __init__(self) -> None:
        self.fault: tuple[int, int, str] | None = None

    def record(self, _uc, access, addr, size, _value, _data) -> bool:
        self.fault = (addr, size, fault_kind(access))
        return False


class NativeEngine:
    """One simulation of one program. Create, write inputs, `run()`, read outputs, `snapshot()`."""

    def __init__(self, program: Program, params: SystemParams = MINOR_DEFAULT, sparce: bool = False,
                 max_insts: int | None = None, profile: tuple[str, ...] = ()) -> None:
        if _native is None:
            raise RuntimeError(f"the native engine is not built ({_IMPORT_ERROR}); reinstall with "
                               "`pip install -e .` (needs g++ and python3-dev), or use --engine python")
        if max_insts is not None and max_insts <= 0:
            raise ValueError(f"max_insts must be positive, got {max_insts}")
        self.program, self.params, self.sparce_on = program, params, sparce
        self.max_insts = DEFAULT_MAX_INSTS if max_insts is None else max_insts
        self.profile = profile
        self.uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        self.uc.reg_write(A.UC_ARM64_REG_CPACR_EL1, 3 << 20)   # enable FP/SIMD at EL0/1
        self.guest = map_program(self.uc, program)
        self.decoder = Decoder(params)
        self.table = SasaTable(params.sasa_entries, params.sprf_entries)
        # No callback refers back to this object, so an engine is freed (with its unicorn instance)
        # as soon as it is dropped, not at some later garbage collection: a sweep makes hundreds.
        self._faults = _FaultLog()
        self.uc.hook_add(UC_HOOK_MEM_UNMAPPED, self._faults.record)
        self.uc.hook_add(UC_HOOK_MEM_PROT, self._faults.record)          # ELF permissions (e.g. .text)
        self._core = _native.Core(self._config(), _decoder_callback(self.uc, self.decoder), self.uc)
        self._wall = self._cpu = 0.0
        self._core.set_profile([(program.symbol(n).addr, program.symbol(n).addr + program.symbol(n).size)
                                for n in profile])
        self._exit_code = 0
        self._decode_error: str = ""

    def _config(self) -> dict:
        p = self.params
        texts = self.program.text_ranges()
        lo = min((base for base, _ in texts), default=0) & ~3
        hi = max((base + len(data) for base, data in texts), default=0)
        hi = (hi + 3) & ~3
        return {**_uc_api(), "uc": self.uc._uch.value,
                "sparce_on": int(self.sparce_on), "hook_code": UC_HOOK_CODE, "hook_intr": UC_HOOK_INTR, "uc_pc": A.UC_ARM64_REG_PC, "uc_x": _x_regs(),
                "text_lo": lo, "text_hi": hi,
                "l1i_kb": p.l1i.size_kb, "l1i_assoc": p.l1i.assoc, "l1d_kb": p.l1d.size_kb,
                "l1d_assoc": p.l1d.assoc, "l2_kb": p.l2.size_kb, "l2_assoc": p.l2.assoc,
                "line_bytes": p.l1d.line_bytes, "l2_latency": p.l2.latency, "dram_latency": p.dram_latency,
                "decode_width": p.decode_width, "depth": p.frontend_depth(), "issue_limit": p.issue_limit,
                "commit_limit": p.commit_limit, "window": p.in_flight_window(),
                "l1i_latency": p.l1i.latency, "branch_delay": p.branch_delay,
                "backward_delay": p.fetch1_to_fetch2_backward_delay, "int_alu_units": p.int_alu_units,
                "mem_issue_limit": p.mem_issue_limit, "bp_entries": p.bp_entries,
                "btb_entries": p.btb_entries, "max_insts": self.max_insts,
                "l1d_latency": p.l1d.latency, "l2_path_cycles": p.l2_path_cycles,
                "mem_path_cycles": p.mem_path_cycles, "mem_accesses_limit": p.mem_accesses_limit,
                "lat_mem": p.lat_mem, "load_commit_extra": p.load_commit_extra,
                "lsq_transfers": p.lsq_transfers, "store_buffer": p.store_buffer,
                "src_rel_int": p.src_rel_int, "src_rel_float": p.src_rel_float,
                "src_rel_mem": p.src_rel_mem, "lat_int_alu": p.lat_int_alu}

    # ---- memory and symbols
    def write_symbol(self, name: str, array: np.ndarray) -> None:
        write_symbol(self.uc, self.program, name, array)

    def read_symbol(self, name: str, nbytes: int | None = None) -> bytes:
        return read_symbol(self.uc, self.program, name, nbytes)

    # ---- run
    def run(self) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            self._run()
        finally:
            self._wall += time.perf_counter() - wall
            self._cpu += time.thread_time() - cpu

    def _run(self) -> None:
        core, pc = self._core, self.program.entry
        while True:
            stop, at, code, message = core.run(pc)
            if stop == _native.STOP_SVC:
                exit_code = self._syscall(at)
                if exit_code is not None:
                    self._exit_code = exit_code
                    break
                pc = at
            elif stop == _native.STOP_SASA_NEW:
                self._new_table(at)
                pc = at + 4
            elif stop == _native.STOP_EXCEPTION:
                raise self._undefined(at, code)
            elif stop == _native.STOP_INTERRUPT:
                raise KeyboardInterrupt
            else:
                raise self._error(stop, at, code, message)
        core.finish(-1)

    def _syscall(self, pc: int) -> int | None:
        try:
            return self.guest.emulate(self.uc)
        except syscalls.SyscallError as exc:
            raise SimulationError(pc - 4, str(exc), str(self.program.path)) from None

    def _undefined(self, pc: int, intno: int) -> SimulationError:
        """The error for an undefined word (a reserved SASA-LD form names its defect)."""
        word = int.from_bytes(bytes(self.uc.mem_read(pc, 4)), "little")
        try:
            decode_sasa_ld(word)
        except SasaError as exc:
            return SimulationError(pc, str(exc), str(self.program.path))
        return SimulationError(pc, f"undefined instruction {word:#010x} (exception {intno})",
                               str(self.program.path))

    def _new_table(self, pc: int) -> None:
        """A SASA-LD at pc read a table the core has not seen: read, decode and validate it (the
        same code as the Python engine) and hand it to the core, which loads it; later loads of
        the same table stay in the core."""
        word = int.from_bytes(bytes(self.uc.mem_read(pc, 4)), "little")
        rn, size = decode_sasa_ld(word)
        try:
            addr, raw = read_sasa_table(self.uc, rn, size)
        except SasaError as exc:
            raise SimulationError(pc, str(exc), str(self.program.path)) from None
        cause = load_sasa_table(self.uc, self.table, self.params, rn, size, self._writes_of,
                                lambda _line: None)          # the core makes the L1D accesses
        if cause:
            raise SimulationError(pc, cause, str(self.program.path))
        self._core.add_table(addr, raw, [(r.entry.preceding_pc, r.entry.insts_to_skip, int(r.entry.op),
                                          [_operand(rid, ucr, o) for rid, ucr, o in r.reads])
                                         for r in self.table.regions.values()])

    def _writes_of(self, pc: int) -> tuple[int, ...]:
        try:
            return self.decoder.decode(pc, bytes(self.uc.mem_read(pc, 4))).dsts
        except (DecodeError, UcError):
            return ()

    def _error(self, stop: int, pc: int, code: int, message: str) -> SimulationError:
        path = str(self.program.path)
        if stop == _native.STOP_DECODE:
            return SimulationError(pc, message, path)
        if stop == _native.STOP_LIMIT:
            return SimulationError(pc, limit_message(self.max_insts), path)
        pc = self.uc.reg_read(A.UC_ARM64_REG_PC)
        if self._faults.fault is not None:
            addr, size, kind = self._faults.fault
            return SimulationError(pc, f"{kind} address {addr:#x} ({size} bytes)", path)
        if stop == _native.STOP_UC_ERROR:
            return SimulationError(pc, f"CPU fault: {UcError(code)}", path)
        return SimulationError(pc, "execution stopped without exit()", path)

    # ---- results
    def snapshot(self) -> RunSnapshot:
        d = self._core.snapshot()
        by_pc = d["by_pc"]
        sparce = SparceStats(**{k: d[k] for k in ("sasa_loads", "lookups", "hits", "regions_skipped",
                                                    "regions_skippable", "skippable_resolved_true",
                                                    "insts_skipped", "squashed_insts")},
                             skips_by_pc=dict(d["skips_by_pc"]))
        return RunSnapshot(
            params=self.params, sparce_on=self.sparce_on, cycles=d["cycles"], committed=d["committed"],
            branches=d["branches"], cond_branches=d["cond_branches"], mispredicts=d["mispredicts"],
            loads=d["loads"], stores=d["stores"], prefetches=d["prefetches"], by_pc=by_pc,
            op_classes=op_class_counts(by_pc, lambda pc: self.decoder.decode(pc, b"").op_class),
            l1i=CacheStats(**d["l1i"]), l1d=CacheStats(**d["l1d"]), l2=CacheStats(**d["l2"]),
            sparce=sparce, exit_code=self._exit_code, stdout=bytes(self.guest.stdout), stderr=bytes(self.guest.stderr),
            host_seconds=self._wall, host_cpu_seconds=self._cpu,
            profile_cycles={n: c for n, (c, _) in zip(self.profile, d["profile"])},
            profile_insts={n: i for n, (_, i) in zip(self.profile, d["profile"])})
