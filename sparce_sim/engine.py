"""The sparce_sim engine: unicorn executes, the Minor-style pipeline times, SPARCE skips.

Unicorn (real AArch64 semantics) runs the program. The engine never reads registers per
instruction: a block hook hands each basic block's cached StaticInsts to the timing model, memory
hooks supply the addresses, and code hooks sit only on `prfm` (whose address unicorn's memory
hooks never see) and on the first instruction of each loaded SASA region. A region the PSRU skips
is really skipped: the hook moves unicorn's PC past it, so the skipped instructions never execute.

Faults (unmapped memory, undefined instruction, unsupported syscall, table errors) and the
instruction limit raise SimulationError naming the PC and the cause.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
from unicorn import (UC_MEM_FETCH_PROT, UC_MEM_READ_PROT, UC_MEM_WRITE_PROT, UC_PROT_EXEC, UC_PROT_READ, UC_PROT_WRITE, UC_ARCH_ARM64, UC_MEM_FETCH_UNMAPPED, UC_MEM_READ_UNMAPPED, UC_MEM_WRITE_UNMAPPED, UC_HOOK_BLOCK, UC_HOOK_CODE, UC_HOOK_INTR, UC_HOOK_MEM_READ,
                     UC_HOOK_MEM_PROT, UC_HOOK_MEM_UNMAPPED, UC_HOOK_MEM_WRITE, UC_MODE_ARM, Uc, UcError)
from unicorn import arm64_const as A

from gem5_configs.params import MINOR_DEFAULT, SystemParams
from isa_ext.encoding import ENTRY_BYTES, SasaError, decode_sasa_ld, decode_table

from . import syscalls
from .cache import Hierarchy
from .decode import Decoder, DecodeError, StaticInst
from .loader import Program
from .pipeline import Pipeline
from .decode import uc_reg, uc_reg_from_id
from .snapshot import RunSnapshot, op_class_counts
from .sparce import SasaTable, SparceStats, decide, is_sparse

PAGE = 0x1000
STACK_TOP = 0x7FFF0000
STACK_SIZE = 1 << 20
_PRFM_PATTERNS = ((0xFFC00000, 0xF9800000), (0xFFE00C00, 0xF8800000), (0xFFE00C00, 0xF8A00800))


DEFAULT_MAX_INSTS = 10 ** 10    # committed instructions before a run counts as runaway


def limit_message(max_insts: int) -> str:
    return (f"instruction limit of {max_insts} committed instructions exceeded (runaway program? "
            "raise it with --max-insts)")


class SimulationError(RuntimeError):
    """The simulated program faulted, ran away, or gave the engine input it cannot run."""

    def __init__(self, pc: int, cause: str, path: str = "") -> None:
        where = f"{path}: " if path else ""
        super().__init__(f"{where}PC {pc:#x}: {cause}")
        self.pc = pc
        self.cause = cause


@dataclass
class RunInfo:
    exit_code: int = 0
    stdout: bytes = b""
    host_seconds: float = 0.0
    host_cpu_seconds: float = 0.0
    sparce: SparceStats = field(default_factory=SparceStats)


class Engine:
    """One simulation of one program. Create, write inputs, `run()`, read outputs."""

    def __init__(self, program: Program, params: SystemParams = MINOR_DEFAULT, sparce: bool = False,
                 max_insts: int | None = None, profile: tuple[str, ...] = ()) -> None:
        if max_insts is not None and max_insts <= 0:
            raise ValueError(f"max_insts must be positive, got {max_insts}")
        self.program, self.params, self.sparce_on = program, params, sparce
        self.max_insts = DEFAULT_MAX_INSTS if max_insts is None else max_insts
        self.uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        self.uc.reg_write(A.UC_ARM64_REG_CPACR_EL1, 3 << 20)   # enable FP/SIMD at EL0/1
        self.caches = Hierarchy.from_params(params)
        self.pipeline = Pipeline(params, self.caches)
        self.decoder = Decoder(params)
        self.table = SasaTable(params.sasa_entries, params.sprf_entries)
        self.info = RunInfo()
        # cycles (commit-time advance) and instructions attributed to the named symbols' code
        self._profile = [(program.symbol(n).addr, program.symbol(n).addr + program.symbol(n).size, n) for n in profile]
        self.profile_cycles = {n: 0 for n in profile}
        self.profile_insts = {n: 0 for n in profile}
        self._blocks: dict[tuple[int, int], list[StaticInst]] = {}
        self._pending: list[StaticInst] = []
        self._pending_i = 0
        self._mem: list[tuple[int, int]] = []
        self._mem_i = 0
        self._prefetch: list[int] = []
        self._error: SimulationError | None = None
        self._fault_addr: tuple[int, int, bool] | None = None
        self._exited = False
        self._restart: int | None = None
        self._region_hooks: list[int] = []
        self._skip_landing = -1      # region end the PSRU just jumped to (chained lookups)
        self._map_program()
        self._add_hooks()

    # ---- memory and symbols
    def _map_program(self) -> None:
        self.guest = map_program(self.uc, self.program)

    def write_symbol(self, name: str, array: np.ndarray) -> None:
        write_symbol(self.uc, self.program, name, array)

    def read_symbol(self, name: str, nbytes: int | None = None) -> bytes:
        return read_symbol(self.uc, self.program, name, nbytes)

    # ---- hooks
    def _add_hooks(self) -> None:
        uc = self.uc
        uc.hook_add(UC_HOOK_BLOCK, self._on_block)
        mem = self._mem
        uc.hook_add(UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE,
                    lambda _uc, _acc, addr, size, _v, _d: mem.append((addr, size)))
        uc.hook_add(UC_HOOK_MEM_UNMAPPED, self._on_unmapped)
        uc.hook_add(UC_HOOK_MEM_PROT, self._on_unmapped)
        uc.hook_add(UC_HOOK_INTR, self._on_intr)
        for pc in self._prefetch_pcs():
            uc.hook_add(UC_HOOK_CODE, self._on_prefetch, begin=pc, end=pc)

    def _prefetch_pcs(self) -> list[int]:
        pcs = []
        for base, data in self.program.text_ranges():
            words = np.frombuffer(data[: len(data) // 4 * 4], dtype="<u4")
            hit = np.zeros(len(words), bool)
            for mask, value in _PRFM_PATTERNS:
                hit |= (words & mask) == value
            pcs.extend(int(base + 4 * i) for i in np.nonzero(hit)[0])
        return pcs

    def _block(self, addr: int, size: int) -> list[StaticInst]:
        key = (addr, size)
        insts = self._blocks.get(key)
        if insts is None:
            raw = bytes(self.uc.mem_read(addr, size))
            try:
                insts = [self.decoder.decode(addr + i, raw[i:i + 4]) for i in range(0, size, 4)]
            except DecodeError as exc:
                # decode what precedes the bad word; unicorn reports the fault when it gets there
                insts = self._decode_prefix(addr, raw)
                if not insts:
                    self._fail(addr, str(exc).split(" at PC")[0])
            self._blocks[key] = insts
        return insts

    def _decode_prefix(self, addr: int, raw: bytes) -> list[StaticInst]:
        out = []
        for i in range(0, len(raw), 4):
            try:
                out.append(self.decoder.decode(addr + i, raw[i:i + 4]))
            except DecodeError:
                break
        return out

    def _on_block(self, uc, addr: int, size: int, _data) -> None:
        self._finish_pending(addr)
        if addr != self._skip_landing:
            self._skip_landing = -1
        if self.pipeline.stats.committed > self.max_insts:
            self._fail(addr, limit_message(self.max_insts))
            return
        self._pending, self._pending_i = self._block(addr, size), 0

    def _finish_pending(self, next_pc: int, stop: int | None = None) -> None:
        end = len(self._pending) if stop is None else stop
        if end > self._pending_i:
            if self.table.regions:
                self.info.sparce.lookups += end - self._pending_i     # one PSRU lookup per fetch
            if self._profile:
                self._time_profiled(end, next_pc)
            else:
                self._mem_i = self.pipeline.run(self._pending, self._pending_i, end, self._mem,
                                                self._mem_i, self._prefetch, next_pc)
            self._pending_i = end
        if self._mem_i >= len(self._mem):
            self._mem.clear()
            self._mem_i = 0

    def _time_profiled(self, end: int, next_pc: int) -> None:
        """Time pending[_pending_i:end] one instruction at a time, attributing each one's commit-time
        advance to the profiled symbol holding its PC."""
        pending = self._pending
        for i in range(self._pending_i, end):
            t0 = self.pipeline.commit_t
            nxt = next_pc if i == end - 1 else pending[i + 1].pc
            self._mem_i = self.pipeline.run(pending, i, i + 1, self._mem, self._mem_i, self._prefetch, nxt)
            pc = pending[i].pc
            for lo, hi, name in self._profile:
                if lo <= pc < hi:
                    self.profile_cycles[name] += self.pipeline.commit_t - t0
                    self.profile_insts[name] += 1
                    break

    def _index_in_pending(self, pc: int) -> int:
        if not self._pending:
            return 0
        return max(0, min(len(self._pending), (pc - self._pending[0].pc) // 4))

    def _on_prefetch(self, uc, addr: int, _size, _data) -> None:
        si = self.decoder.decode(addr, bytes(uc.mem_read(addr, 4)))
        base = uc.reg_read(uc_reg_from_id(si.prefetch_base))
        self._prefetch.append((base + si.prefetch_disp) & (1 << 64) - 1)

    def _on_unmapped(self, uc, access, addr, size, _value, _data) -> bool:
        self._fault_addr = (addr, size, fault_kind(access))
        return False

    def _on_intr(self, uc, intno: int, _data) -> None:
        pc = uc.reg_read(A.UC_ARM64_REG_PC)
        if intno == 2:        # svc: PC is already past it
            self._finish_pending(pc, self._index_in_pending(pc - 4) + 1)
            self._syscall(pc - 4)
            return
        word = int.from_bytes(bytes(uc.mem_read(pc, 4)), "little")
        try:
            sasa = decode_sasa_ld(word)
        except SasaError as exc:
            self._fail(pc, str(exc))
            return
        if sasa is None:
            self._fail(pc, f"undefined instruction {word:#010x} (exception {intno})")
            return
        self._finish_pending(pc + 4, self._index_in_pending(pc) + 1)
        self._pending_i = len(self._pending)
        self._sasa_ld(pc, *sasa)

    def _fail(self, pc: int, cause: str) -> None:
        if self._error is None:
            self._error = SimulationError(pc, cause, str(self.program.path))
        self.uc.emu_stop()

    # ---- syscalls
    def _syscall(self, pc: int) -> None:
        try:
            code = self.guest.emulate(self.uc)
        except syscalls.SyscallError as exc:
            self._fail(pc, str(exc))
            return
        self.info.stdout = bytes(self.guest.stdout)
        if code is not None:
            self.info.exit_code = code
            self._exited = True
            self.uc.emu_stop()

    # ---- SPARCE
    def _sasa_ld(self, pc: int, rn: int, size: int) -> None:
        self.info.sparce.sasa_loads += 1
        self._restart = pc + 4
        self.uc.emu_stop()
        if not self.sparce_on:
            return                                   # SPARCE disabled: SASA-LD is a no-op
        cause = load_sasa_table(self.uc, self.table, self.params, rn, size, self._writes_of,
                                self.caches.touch_data)
        if cause:
            self._fail(pc, cause)

    def _writes_of(self, pc: int) -> tuple[int, ...]:
        try:
            return self.decoder.decode(pc, bytes(self.uc.mem_read(pc, 4))).dsts
        except (DecodeError, UcError):
            return ()

    def _install_region_hooks(self) -> None:
        for h in self._region_hooks:
            self.uc.hook_del(h)
        self._region_hooks = [self.uc.hook_add(UC_HOOK_CODE, self._on_region, begin=start, end=start)
                              for start in self.table.regions]
        self.uc.ctl_flush_tb()

    def _on_region(self, uc, addr: int, _size, _data) -> None:
        region = self.table.regions.get(addr)
        self._finish_pending(addr, self._index_in_pending(addr))
        landed = self._skip_landing == addr
        self._skip_landing = -1
        if region is None or not (landed or self.pipeline.last_pc == region.entry.preceding_pc):
            return
        stats, pipe = self.info.sparce, self.pipeline
        stats.hits += 1
        operands = [(pipe.ready[rid], is_sparse(o, uc.reg_read(ucr))) for rid, ucr, o in region.reads]
        fetch_pre = pipe.fetch_t if landed else pipe.last_fetch
        in_flight = any(cycle > fetch_pre for cycle, _ in operands)    # only then are fetch times needed
        times = pipe.upcoming_fetch_times(region.entry.insts_to_skip) if in_flight else []
        first = pipe.earliest_issue(self.decoder.decode(region.start, bytes(uc.mem_read(region.start, 4))),
                                    times[0]) if in_flight else 0
        d = decide(region, fetch_pre, operands, times, first)
        stats.regions_skippable += d.skippable
        if not d.skip:
            return
        stats.regions_skipped += 1
        stats.skippable_resolved_true += d.skippable
        stats.squashed_insts += d.squashed
        stats.insts_skipped += region.entry.insts_to_skip - d.squashed
        pc = region.entry.preceding_pc
        stats.skips_by_pc[pc] = stats.skips_by_pc.get(pc, 0) + 1
        if d.squashed:
            pipe.nullify_fetched(d.squashed)
        self._pending_i = len(self._pending)
        self._skip_landing = region.end
        uc.reg_write(A.UC_ARM64_REG_PC, region.end)

    # ---- run
    def run(self) -> RunInfo:
        start, cpu = time.perf_counter(), time.thread_time()
        pc = self.program.entry
        while True:
            self._restart = None
            try:
                self.uc.emu_start(pc, 0)
            except UcError as exc:
                raise self._fault(exc) from None
            if self._error is not None:
                raise self._error
            if self._exited:
                break
            if self._restart is None:
                raise SimulationError(self.uc.reg_read(A.UC_ARM64_REG_PC),
                                      "execution stopped without exit()", str(self.program.path))
            if self.sparce_on:
                self._install_region_hooks()
            pc = self._restart
        self._finish_pending(-1)
        self.info.host_seconds = time.perf_counter() - start
        self.info.host_cpu_seconds = time.thread_time() - cpu
        return self.info

    def snapshot(self) -> RunSnapshot:
        """Every statistic of the finished run (see snapshot.py)."""
        st, c = self.pipeline.stats, self.caches
        return RunSnapshot(
            params=self.params, sparce_on=self.sparce_on, cycles=self.pipeline.cycles,
            committed=st.committed, branches=st.branches, cond_branches=st.cond_branches,
            mispredicts=st.mispredicts, loads=st.loads, stores=st.stores, prefetches=st.prefetches,
            by_pc=dict(st.by_pc),
            op_classes=op_class_counts(st.by_pc, lambda pc: self.decoder.decode(pc, b"").op_class),
            l1i=replace(c.l1i.stats), l1d=replace(c.l1d.stats), l2=replace(c.l2.stats),
            sparce=replace(self.info.sparce, skips_by_pc=dict(self.info.sparce.skips_by_pc)),
            exit_code=self.info.exit_code, stdout=self.info.stdout, stderr=bytes(self.guest.stderr),
            host_seconds=self.info.host_seconds, host_cpu_seconds=self.info.host_cpu_seconds,
            profile_cycles=dict(self.profile_cycles),
            profile_insts=dict(self.profile_insts))

    def _fault(self, exc: UcError) -> SimulationError:
        if self._error is not None:
            return self._error
        pc = self.uc.reg_read(A.UC_ARM64_REG_PC)
        if self._fault_addr is not None:
            addr, size, kind = self._fault_addr
            cause = f"{kind} address {addr:#x} ({size} bytes)"
        else:
            cause = f"CPU fault: {exc}"
        return SimulationError(pc, cause, str(self.program.path))


def read_sasa_table(uc: Uc, rn: int, size: int) -> tuple[int, bytes]:
    """SASA-LD [Xrn], #size: (the table's address, its raw bytes); SasaError if unmapped."""
    addr = uc.reg_read(uc_reg(f"x{rn}"))
    try:
        return addr, bytes(uc.mem_read(addr, size * ENTRY_BYTES))
    except UcError:
        raise SasaError(f"SASA-LD reads {size} entries at unmapped address {addr:#x}") from None


def sasa_table_lines(addr: int, nbytes: int) -> range:
    """The 64-byte lines a SASA-LD reads (each one an L1D access)."""
    return range(addr >> 6, (addr + nbytes - 1 >> 6) + 1)


def load_sasa_table(uc: Uc, table: SasaTable, params: SystemParams, rn: int, size: int, writes_of,
                    touch_line) -> str | None:
    """SASA-LD [Xrn], #size: read `size` entries at Xrn, touching each L1D line they occupy, and
    replace `table`. Returns the cause of a failure (the table is then unchanged), else None."""
    try:
        addr, raw = read_sasa_table(uc, rn, size)
    except SasaError as exc:
        return str(exc)
    for line in sasa_table_lines(addr, len(raw)):
        touch_line(line)
    try:
        table.load(decode_table(raw, params.sasa_entries), writes_of)
    except SasaError as exc:
        return f"SASA-LD: {exc}"
    return None


def fault_kind(access: int) -> str:
    """How a unicorn memory fault reads in a message ("write to read-only", "read from unmapped"...)."""
    return {UC_MEM_FETCH_UNMAPPED: "fetch from unmapped", UC_MEM_READ_UNMAPPED: "read from unmapped",
            UC_MEM_WRITE_UNMAPPED: "write to unmapped", UC_MEM_WRITE_PROT: "write to read-only",
            UC_MEM_READ_PROT: "read from unreadable", UC_MEM_FETCH_PROT: "fetch from non-executable",
            }.get(access, "access to unmapped")


def write_symbol(uc: Uc, program: Program, name: str, array: np.ndarray) -> None:
    """Store an input array at a symbol of the loaded program (refused if it does not fit)."""
    sym = program.symbol(name)
    data = np.ascontiguousarray(array).tobytes()
    if len(data) > sym.size:
        raise ValueError(f"{program.path}: {len(data)} bytes do not fit symbol {name!r} ({sym.size} bytes)")
    uc.mem_write(sym.addr, data)


def read_symbol(uc: Uc, program: Program, name: str, nbytes: int | None = None) -> bytes:
    """The bytes at a symbol (its whole size, or the first nbytes)."""
    sym = program.symbol(name)
    return bytes(uc.mem_read(sym.addr, sym.size if nbytes is None else nbytes))


def map_program(uc: Uc, program: Program) -> syscalls.GuestOS:
    """Map and fill the program's segments with their ELF permissions (a page shared by two segments
    gets both), map a stack and lay out Linux's initial process stack on it (argc, argv, envp, auxv),
    and point SP at it. Returns the run's emulated kernel state (program break after the segments).

    SP stays at STACK_TOP - 256, where it always was (the kernels' timing does not move): argc, argv,
    envp, the auxiliary vector (AT_PHDR/PHENT/PHNUM/PAGESZ/ENTRY/HWCAP/RANDOM/EXECFN ...), 16 random
    bytes and argv[0] (the file name, cut to 31 bytes) fit in those 256 bytes."""
    perms: dict[int, int] = {}
    for seg in program.segments:
        for page in range(seg.vaddr // PAGE, (seg.vaddr + seg.memsz + PAGE - 1) // PAGE):
            perms[page] = perms.get(page, 0) | _uc_perms(seg.flags)
    for start, count, prot in _prot_runs(perms):     # one mapping per run of equal permissions:
        uc.mem_map(start * PAGE, count * PAGE, prot)  # page-by-page protection splits unicorn's
    for seg in program.segments:                      # regions and slows every later access
        uc.mem_write(seg.vaddr, seg.data)             # (host writes ignore the permissions)
    uc.mem_map(STACK_TOP - STACK_SIZE, STACK_SIZE, UC_PROT_READ | UC_PROT_WRITE)
    guest = syscalls.GuestOS.for_segments(str(program.path.resolve()),
                                          [s.vaddr + s.memsz for s in program.segments])
    sp = STACK_TOP - 256
    uc.mem_write(sp, _initial_stack(program, sp, guest))
    uc.reg_write(A.UC_ARM64_REG_SP, sp)
    return guest


def _uc_perms(flags: int) -> int:
    """ELF p_flags (X=1, W=2, R=4) -> unicorn UC_PROT_* (R=1, W=2, X=4)."""
    return ((UC_PROT_READ if flags & 4 else 0) | (UC_PROT_WRITE if flags & 2 else 0)
            | (UC_PROT_EXEC if flags & 1 else 0))


_HWCAP_FP_ASIMD = 0x3


def _initial_stack(program: Program, sp: int, guest: syscalls.GuestOS) -> bytes:
    """256 bytes at sp: argc=1, argv[0], NULL, envp NULL, auxv, AT_RANDOM bytes, argv[0]'s text."""
    random_at, name_at = sp + 208, sp + 224
    auxv = [(3, program.phdr), (4, program.phent), (5, program.phnum), (6, PAGE), (9, program.entry),
            (16, _HWCAP_FP_ASIMD), (23, 0), (25, random_at), (31, name_at), (11, 0), (0, 0)]
    words = [1, name_at, 0, 0] + [v for pair in auxv for v in pair]
    head = b"".join(w.to_bytes(8, "little") for w in words)
    name = program.path.name.encode()[:31]
    return head.ljust(208, b"\0") + guest.random_bytes(16) + name.ljust(32, b"\0")


def _prot_runs(perms: dict[int, int]):
    """Group pages into (start, count, prot) runs of consecutive pages with equal permissions."""
    run = None
    for page in sorted(perms):
        if run and page == run[0] + run[1] and perms[page] == run[2]:
            run[1] += 1
            continue
        if run:
            yield tuple(run)
        run = [page, 1, perms[page]]
    if run:
        yield tuple(run)
