"""In-order timing model after gem5's MinorCPU (src/cpu/minor), dissertation Table 4.1(a).

The model walks the committed instruction stream in program order and computes, per instruction,
its fetch, issue, completion and commit cycles from recurrences:

- Fetch (Fetch1/Fetch2, `Fetch1` below): Fetch1 requests one line at a time through the L1I and
  streams sequential lines ahead while Fetch2's two-line buffer has room; Fetch2 takes
  `decode_width` instructions a cycle. A taken branch predicted in Fetch2 changes Fetch1's stream
  a backward delay later, and the target line is requested once the old stream's request in
  flight is answered. A mispredict is known at the branch's commit (Minor executes there); until
  then Fetch1 streams the predicted path (its requests delay the refetch and are L1I accesses).
- Issue (Execute): in order, at most `issue_limit` per cycle, after the front-end depth
  (Fetch1->Fetch2->Decode->Execute delays), when Minor's scoreboard allows it (each source's
  return cycle, its writer's issue + FU latency, at most `src_rel_*` cycles ahead:
  srcRegsRelativeLats), and when the functional unit accepts it (the FU pool): `int_alu_units`
  pipelined IntAlu units, `mem_issue_limit` memory ops per cycle, one pipelined FloatSimd, IntMult
  and Misc unit each, an unpipelined IntDiv.
- Latencies are MinorDefaultFUPool's: IntAlu 3, IntMult 3, IntDiv 9, FloatSimd 6, Mem 1 + 2 assumed,
  Misc 1. Results are written at commit (`ready`, which the SpRF reads); a load completes when its
  data is back (memory below) plus `load_commit_extra`.
- Commit: in order, `commit_limit` per cycle; an instruction cannot issue before the instruction
  `in_flight_window()` places older has committed (the bounded in-flight window: Execute's input
  buffer, 7 bundles of 2 instructions).

- Memory (Minor's LSQ, gem5's caches; sparce_sim/cache.py): a load or store is split into the
  requests of gem5's AArch64 memory micro-ops (`StaticInst.req_bytes`: 16 bytes, 8 for stores
  other than st1-st4, so a Q-register `str` is two) and each request into the lines it touches; each is one L1D access sent when the in-flight limit allows.
  A load completes when its last access does (misses, MSHR hits wait for the fill). A store
  completes at issue; at commit its accesses enter the `store_buffer`, which sends them in order
  and frees an entry when its access completes; a store cannot commit while the buffer is full.

Departures from Minor (stated so results can be cross-checked against gem5):
- no separate Fetch2/Decode input buffers; their capacity is folded into the in-flight window;
- of gem5's AArch64 micro-ops, only the base update of a pre/post-indexed access (MicroAddXiUop) is
  an op of its own (a decode slot, a window entry, IntAlu issue and latency, a commit slot); the
  NEON marshal micro-ops (ld1-4 de-interleave/unpack, st1-4 interleave: SimdAdd on the FloatSimd
  unit) and the second half of a Q-register store share their instruction's slots. Modelled as
  ops they bring matmul's ld1r/fmla loop near gem5 but make plain ld1 loops 1.4x slower than gem5
  (notes/issue16.md, session 6), so a mechanism is still missing;
- `load_commit_extra` (1) is fitted: Minor commits a load's response in the cycle it arrives (0),
  but loads whose address writer commits behind other loads cost gem5 more than this model
  (benchmarks/fidelity_micro.py `grp_dep`), and 1 stands in for that;
- loads do not search the store buffer (no forwarding, no ordering stall);
- on a wrong path, Fetch2 runs straight on: a branch it would predict taken there (changing
  Fetch1's stream once more) is not followed (the path is not executed; notes/issue16.md);
- the branch predictor is bimodal (`bp_entries` 2-bit counters indexed by PC), direct branches'
  targets are known at decode, indirect ones need a hit in a direct-mapped `btb_entries` BTB, and
  returns use an unbounded return address stack; gem5's default is a TournamentBP;
- there is no separate operand forwarding network: a result is usable at its completion cycle.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .cache import Hierarchy
from .decode import FU_DIV, FU_FLOAT, FU_INT, FU_MEM, FU_MISC, FU_MULT, NUM_REGS, StaticInst


# The timing model's version: bumped whenever its results change, so that resumed sweeps and
# network runs (sparce_jobs) never mix results of two models (issue 16's session 6: version 3).
TIMING_MODEL = "minor-3"
NEVER = 1 << 62


class Fetch1:
    """gem5's Fetch1 and Fetch2's line buffer (src/cpu/minor/fetch1.cc, fetch2.cc).

    Fetch1 requests one line at a time (fetch1FetchLimit = 1): a fetch issued at cycle i is
    answered by the L1I `lat` (+ miss penalty) cycles later, its line is handed to Fetch2 then, and
    the next fetch can issue the cycle after. It streams sequential lines ahead while Fetch2's input
    buffer (fetch2InputBufferSize = 2 lines, reserved at request) has room; Fetch2 frees a line when
    it has taken its last instruction. A stream change (a taken prediction in Fetch2, a mispredict
    from Execute) reaches Fetch1 a backward delay later; the first line of the new stream is
    requested once the fetch still in flight of the old stream has been answered. Lines Fetch1
    requested in the old stream are L1I accesses whose instructions are discarded.

    Cycles are in the model's fetch time base: an instruction's fetch cycle `f` is the cycle Fetch1
    hands its line on (request + L1I latency); Fetch2 takes it at f + 1.
    """

    def __init__(self, params, caches: Hierarchy) -> None:
        self.caches = caches
        self.lat = params.l1i.latency
        self.dw = params.decode_width
        self.per_line = (1 << caches.line_shift) // 4
        self.wrong_path_limit = params.in_flight_window()
        self.line = -1          # the line Fetch2 is taking instructions from
        self.slot = 0           # cycle Fetch1 may request its next line (the last request answered)
        self.prev_pop = 0       # cycle Fetch2 freed the line before `line` (the buffer holds two)

    def _request(self, line: int, at: int) -> int:
        """Request `line` at cycle `at` or later; returns the cycle its line is handed on."""
        at = max(at, self.slot)
        ready = at + self.lat + self.caches.inst_miss_penalty(line)
        self.slot = ready + 1
        return ready

    def start(self, line: int, at: int) -> int:
        """A new stream whose first line Fetch1 requests at `at` (or once its fetch slot frees)."""
        self.line, self.prev_pop = line, 0
        return self._request(line, at)

    def advance(self, line: int, last_f: int) -> int:
        """The committed stream moves on to `line`; Fetch2 took the current line's last
        instruction at fetch cycle `last_f`. Returns the cycle `line` is handed on."""
        if not 0 <= line - self.line <= 4:        # not a sequential move: refetch
            return self.start(line, last_f + 1)
        pop, ready = last_f + 1, 0
        while self.line < line:                   # lines a SPARCE skip jumped over came too
            ready = self._request(self.line + 1, self.prev_pop)
            self.line, self.prev_pop = self.line + 1, pop
        return ready

    def run_ahead(self, until: int, pop: int) -> None:
        """Fetch1 goes on requesting the lines after the current one up to cycle `until`; Fetch2
        frees each of them (it dumps them on a taken prediction) at cycle `pop`."""
        line = self.line
        while max(self.slot, self.prev_pop) <= until:
            line += 1
            self._request(line, max(self.slot, self.prev_pop))
            self.prev_pop = pop

    def wrong_path(self, until: int, line: int, pop: int, budget: int) -> None:
        """Fetch2 takes a wrong path that continues sequentially after `line` (freed at `pop`),
        decode_width instructions a cycle and at most `budget` more of them (then Decode's and
        Execute's buffers behind the unresolved branch are full); Fetch1 streams lines ahead up to
        cycle `until`."""
        while max(self.slot, self.prev_pop) <= until:
            line += 1
            ready = self._request(line, max(self.slot, self.prev_pop))
            self.prev_pop = pop
            n = min(self.per_line, budget)
            budget -= n
            pop = ready + -(-n // self.dw) if n == self.per_line else NEVER

    def line_rest(self, pc: int, f: int) -> tuple[int, int]:
        """Fetch2 takes the instructions from `pc` to the end of its line, from fetch cycle f on:
        (the cycle it frees the line, how many it took)."""
        n = self.per_line - (pc >> 2) % self.per_line
        return f + -(-n // self.dw), n


@dataclass
class PipelineStats:
    committed: int = 0
    branches: int = 0
    cond_branches: int = 0
    mispredicts: int = 0
    loads: int = 0
    stores: int = 0
    prefetches: int = 0
    by_pc: dict = field(default_factory=dict)   # pc -> committed count


class Pipeline:
    """Timing state of the in-order core; `run` advances it over executed instructions."""

    def __init__(self, params, caches: Hierarchy) -> None:
        self.p = params
        self.caches = caches
        self.depth = params.frontend_depth()
        self.fetch1 = Fetch1(params, caches)
        self.window = params.in_flight_window()
        self.ready = [0] * NUM_REGS
        self.ret = [0] * NUM_REGS            # the scoreboard's return cycle: issue + FU latency
        # srcRegsRelativeLats: an FU reads its sources this many cycles after issue
        self.src_rel = [params.src_rel_int, 0, 0, params.src_rel_float, params.src_rel_mem, 0]
        self.fetch_t = 0
        self.fetch_slots = 0
        self.last_line = -1
        self.issue_t = 0
        self.issue_slots = 0
        # FU pool: per unit class, how many ops it accepts per cycle (pipelined units), and the
        # last cycle it accepted one with how many it accepted then; IntDiv is unpipelined
        self.fu_units = {FU_INT: params.int_alu_units, FU_MEM: params.mem_issue_limit,
                         FU_FLOAT: 1, FU_MULT: 1, FU_MISC: 1}
        self.fu_last = [-1] * 6
        self.fu_count = [0] * 6
        self.div_free = 0
        self.commit_t = 0
        self.commit_slots = 0
        self.ring = [0] * self.window
        self.ring_i = 0
        self.store_buffer: list[int] = []   # completion cycles of the stores' accesses, oldest first
        self.store_sent = 0                  # cycle the last store access was sent
        self.lsq_ring = [0] * params.lsq_transfers   # commit cycles of the last memory accesses
        self.lsq_i = 0
        self.mem_fu_free = 0                 # earliest issue of the next memory access
        self.last_pc = -1
        self.last_fetch = 0     # fetch cycle of the last processed instruction
        self.bimodal = [1] * params.bp_entries     # 2-bit counters, weakly not-taken
        self.btb = [-1] * params.btb_entries       # tags (PCs) of indirect branches seen
        self.ras: list[int] = []
        self.stats = PipelineStats()

    @property
    def cycles(self) -> int:
        return self.commit_t + 1 if self.stats.committed else 0

    def run(self, insts: list[StaticInst], start: int, stop: int, mem: list, mem_i: int,
            prefetch: list, next_pc: int) -> int:
        """Time insts[start:stop]; `mem` holds (addr, size) pairs from unicorn's hooks from index
        mem_i on; `prefetch` the addresses of executed prfm; `next_pc` is the PC executed after
        insts[stop-1] (-1 if unknown). Returns the new mem index."""
        p, caches, ready, ring = self.p, self.caches, self.ready, self.ring
        ret, src_rel, load_extra = self.ret, self.src_rel, p.load_commit_extra
        dw, depth, issue_limit, climit = p.decode_width, self.depth, p.issue_limit, p.commit_limit
        window = self.window
        fu_last, fu_count, fu_units = self.fu_last, self.fu_count, self.fu_units
        shift = caches.line_shift
        fetch_t, fetch_slots, last_line = self.fetch_t, self.fetch_slots, self.last_line
        issue_t, issue_slots, commit_t, commit_slots = self.issue_t, self.issue_slots, self.commit_t, self.commit_slots
        ring_i = self.ring_i
        lsq_ring, lsq_i = self.lsq_ring, self.lsq_i
        by_pc = self.stats.by_pc
        for idx in range(start, stop):
            si = insts[idx]
            # ---- fetch
            line = si.pc >> shift
            if line != last_line:
                handed = self.fetch1.advance(line, fetch_t)
                if handed > fetch_t:
                    fetch_t, fetch_slots = handed, 0
                last_line = line
            if fetch_slots >= dw:
                fetch_t += 1
                fetch_slots = 0
            back = ring[ring_i] - depth     # in-flight window: wait for the entry to drain
            if fetch_t < back:
                fetch_t, fetch_slots = back, 0
            f = fetch_t
            fetch_slots += 1
            # ---- issue
            t = f + depth
            if t < issue_t:
                t = issue_t
            fu = si.fu
            is_mem = si.mem_bytes or si.is_prefetch
            if is_mem and t < self.mem_fu_free:
                t = self.mem_fu_free     # the LSQ's request queue still holds the previous access
            rel = src_rel[fu]
            for s in si.srcs:
                r = ret[s] - rel
                if r > t:
                    t = r
            if fu == FU_DIV:
                if t < self.div_free:
                    t = self.div_free
            elif t == fu_last[fu] and fu_count[fu] >= fu_units[fu]:
                t += 1              # every unit of the class took an op this cycle
            if t == issue_t:
                if issue_slots >= issue_limit:
                    t += 1
                    issue_slots = 1
                else:
                    issue_slots += 1
            else:
                issue_slots = 1
            issue_t = t
            if fu == FU_DIV:
                self.div_free = t + si.latency
            elif fu_last[fu] == t:
                fu_count[fu] += 1
            else:
                fu_last[fu], fu_count[fu] = t, 1
            # ---- execute
            done = t + si.latency
            if is_mem:
                # the Mem FU hands the access to the LSQ, which sends it at its next step; it enters
                # the transfers queue once the access `lsq_transfers` places older has committed
                sent = max(t + p.lat_mem + 1, lsq_ring[lsq_i] + 1)
                for s in si.srcs:         # sent once its sources' writers have executed (committed)
                    if ready[s] + 1 > sent:
                        sent = ready[s] + 1
                if si.mem_bytes:
                    mem_i, lines = self._data_lines(si, mem, mem_i, shift)
                    if si.is_store:
                        self.stats.stores += 1
                    else:
                        self.stats.loads += 1
                        for line in lines:
                            sent = caches.mem_slot(sent)
                            done = max(done, caches.data_access(line, False, sent) + load_extra)
                else:
                    if prefetch:
                        sent = caches.mem_slot(sent)
                        caches.prefetch(prefetch.pop(0) >> shift, sent)
                    self.stats.prefetches += 1
                done = max(done, sent)
                self.mem_fu_free = sent - p.lat_mem - 1
            for d in si.dsts:
                if d != si.wb_base:
                    ret[d] = t + si.latency
            # ---- commit
            if done > commit_t:
                commit_t, commit_slots = done, 1
            elif commit_slots >= climit:
                commit_t += 1
                commit_slots = 1
            else:
                commit_slots += 1
            if si.mem_bytes and si.is_store:
                c = self._store_commit(lines, commit_t)
                if c > commit_t:
                    commit_t, commit_slots = c, 1
            for d in si.dsts:
                if d != si.wb_base:
                    ready[d] = commit_t   # Minor executes and writes back at commit
            ring[ring_i] = commit_t
            if is_mem:
                lsq_ring[lsq_i] = commit_t
                lsq_i = lsq_i + 1 if lsq_i + 1 < len(lsq_ring) else 0
            ring_i = ring_i + 1 if ring_i + 1 < window else 0
            if si.wb_base >= 0:
                self.fetch_t, self.fetch_slots, self.issue_t, self.issue_slots = fetch_t, fetch_slots, issue_t, issue_slots
                self.commit_t, self.commit_slots, self.ring_i = commit_t, commit_slots, ring_i
                self._writeback_uop(si.wb_base)
                fetch_t, fetch_slots, issue_t, issue_slots = self.fetch_t, self.fetch_slots, self.issue_t, self.issue_slots
                commit_t, commit_slots, ring_i = self.commit_t, self.commit_slots, self.ring_i
            by_pc[si.pc] = by_pc.get(si.pc, 0) + 1
            # ---- control flow
            if si.is_branch:
                nxt = next_pc if idx == stop - 1 else insts[idx + 1].pc
                fetch_t, fetch_slots, last_line = self._branch(si, commit_t, f, nxt, fetch_t, fetch_slots, last_line)
        self.fetch_t, self.fetch_slots, self.last_line = fetch_t, fetch_slots, last_line
        self.issue_t, self.issue_slots, self.commit_t, self.commit_slots = issue_t, issue_slots, commit_t, commit_slots
        self.ring_i = ring_i
        self.lsq_i = lsq_i
        if stop > start:
            self.stats.committed += stop - start
            self.last_pc = insts[stop - 1].pc
            self.last_fetch = f
        return mem_i

    # ---- gem5's writeback micro-op of a pre/post-indexed load/store (StaticInst.wb_base)
    def _writeback_uop(self, base: int) -> None:
        """gem5's MicroAddXiUop after a pre/post-indexed access, one micro-op after it in the same
        line: a decode slot, the in-flight window, in-order IntAlu issue reading the old base, the
        new base `lat_int_alu` later, in-order commit."""
        lat, fu = self.p.lat_int_alu, FU_INT
        if self.fetch_slots >= self.p.decode_width:
            self.fetch_t, self.fetch_slots = self.fetch_t + 1, 0
        back = self.ring[self.ring_i] - self.depth
        if self.fetch_t < back:
            self.fetch_t, self.fetch_slots = back, 0
        self.fetch_slots += 1
        t = max(self.fetch_t + self.depth, self.issue_t, self.ret[base] - self.src_rel[fu])
        if t == self.fu_last[fu] and self.fu_count[fu] >= self.fu_units[fu]:
            t += 1
        if t == self.issue_t:
            if self.issue_slots >= self.p.issue_limit:
                t, self.issue_slots = t + 1, 1
            else:
                self.issue_slots += 1
        else:
            self.issue_slots = 1
        self.issue_t = t
        if self.fu_last[fu] == t:
            self.fu_count[fu] += 1
        else:
            self.fu_last[fu], self.fu_count[fu] = t, 1
        if t + lat > self.commit_t:
            self.commit_t, self.commit_slots = t + lat, 1
        elif self.commit_slots >= self.p.commit_limit:
            self.commit_t, self.commit_slots = self.commit_t + 1, 1
        else:
            self.commit_slots += 1
        self.ring[self.ring_i] = self.commit_t
        self.ring_i = self.ring_i + 1 if self.ring_i + 1 < self.window else 0
        self.ret[base], self.ready[base] = t + lat, self.commit_t

    def _data_lines(self, si: StaticInst, mem: list, mem_i: int, shift: int) -> tuple[int, list[int]]:
        """Consume the hook records of one load/store; return (new index, the lines of its
        requests (`si.req_bytes` each: gem5's memory micro-ops) in order, a request crossing a
        line giving both)."""
        need, n = si.mem_bytes, len(mem)
        addr = mem[mem_i][0] if mem_i < n else 0
        while need > 0 and mem_i < n:
            need -= mem[mem_i][1]
            mem_i += 1
        lines = []
        req = si.req_bytes
        for off in range(0, si.mem_bytes, req):
            lo = addr + off
            hi = lo + min(req, si.mem_bytes - off) - 1
            lines.append(lo >> shift)
            if hi >> shift != lo >> shift:
                lines.append(hi >> shift)
        return mem_i, lines

    def _store_commit(self, lines: list[int], c: int) -> int:
        """A store's accesses enter the store buffer at commit cycle c (later while it is full);
        returns the cycle the store commits."""
        sb, caches, size = self.store_buffer, self.caches, self.p.store_buffer
        for line in lines:
            sb[:] = [e for e in sb if e > c]
            if len(sb) >= size:
                c = sorted(sb)[len(sb) - size]
                sb[:] = [e for e in sb if e > c]
            sent = caches.mem_slot(max(c + 1, self.store_sent))
            self.store_sent = sent
            sb.append(caches.data_access(line, True, sent))
        return c

    def _branch(self, si: StaticInst, c: int, f: int, nxt: int, fetch_t: int, fetch_slots: int,
                last_line: int) -> tuple[int, int, int]:
        """Predict, compare with the executed outcome (known at the branch's commit c), and
        redirect fetch."""
        stats = self.stats
        stats.branches += 1
        taken = nxt != si.pc + 4 if nxt >= 0 else False
        if si.is_call:
            self.ras.append(si.pc + 4)
        if si.is_return:
            predicted_ok = bool(self.ras) and self.ras.pop() == nxt
            pred_taken = True
        elif si.is_cond_branch:
            stats.cond_branches += 1
            slot = (si.pc >> 2) & (len(self.bimodal) - 1)
            counter = self.bimodal[slot]
            pred_taken = counter >= 2
            self.bimodal[slot] = min(3, counter + 1) if taken else max(0, counter - 1)
            predicted_ok = pred_taken == taken
        else:
            pred_taken = True
            slot = (si.pc >> 2) & (len(self.btb) - 1)
            predicted_ok = si.target >= 0 or self.btb[slot] == si.pc
            self.btb[slot] = si.pc
        f1, shift = self.fetch1, self.caches.line_shift
        if not predicted_ok:
            stats.mispredicts += 1
        if nxt < 0:                          # the run ends here
            return fetch_t, fetch_slots, last_line
        if not predicted_ok:
            self._wrong_path(si, f, c, pred_taken)
            return f1.start(nxt >> shift, c + self.p.branch_delay), 0, nxt >> shift
        if pred_taken and taken:
            f1.run_ahead(f + 1, f + 1)       # Fetch2 predicts at f + 1, Fetch1 hears it a cycle on
            return f1.start(nxt >> shift, f + 1 + self.p.fetch1_to_fetch2_backward_delay), 0, nxt >> shift
        return fetch_t, fetch_slots, last_line

    def _wrong_path(self, si: StaticInst, f: int, c: int, pred_taken: bool) -> None:
        """Fetch between a mispredicted branch's fetch (f) and its commit (c): Fetch2 follows the
        prediction (the target when predicted taken, else the instructions after the branch) and
        Fetch1 streams lines for it; their requests delay the refetch and count as L1I accesses."""
        f1, shift = self.fetch1, self.caches.line_shift
        budget = f1.wrong_path_limit
        if pred_taken:
            f1.run_ahead(f + 1, f + 1)
            at = f + 1 + self.p.fetch1_to_fetch2_backward_delay
            if si.target < 0 or max(at, f1.slot) > c:
                return
            ready = f1.start(si.target >> shift, at)
            pop, n = f1.line_rest(si.target, ready)
        else:
            pop, n = f1.line_rest(si.pc + 4, f) if (si.pc + 4) >> shift == si.pc >> shift else (f + 1, 0)
        f1.wrong_path(c, f1.line, pop, budget - n)

    # ---- SPARCE hooks into fetch
    def _sequential_fetch(self, n: int):
        """(fetch cycle, slots then taken in it) of each of the next n sequential instructions,
        given the in-flight window (exact for the first `in_flight_window()` of them,
        decode-width rate beyond)."""
        t, slots = self.fetch_t, self.fetch_slots
        for j in range(n):
            if slots >= self.p.decode_width:
                t, slots = t + 1, 0
            if j < self.window:
                back = self.ring[(self.ring_i + j) % self.window] - self.depth
                if t < back:
                    t, slots = back, 0
            slots += 1
            yield t, slots

    def upcoming_fetch_times(self, n: int) -> list[int]:
        """Fetch cycles the next n sequential instructions would get."""
        return [t for t, _ in self._sequential_fetch(n)]

    def earliest_issue(self, si: StaticInst, f: int) -> int:
        """The earliest cycle `si`, fetched at f, could issue: the front-end depth, in-order issue
        and its sources' scoreboard times (FU and slot limits not counted)."""
        t = max(f + self.depth, self.issue_t)
        rel = self.src_rel[si.fu]
        for s in si.srcs:
            t = max(t, self.ret[s] - rel)
        return t

    def nullify_fetched(self, n: int) -> None:
        """n region instructions were fetched and decoded, then dropped at issue (a skippable
        region that resolved true): fetch goes on after their slots."""
        state = (self.fetch_t, self.fetch_slots)
        for state in self._sequential_fetch(n):
            pass
        self.fetch_t, self.fetch_slots = state
