/*
 * The Minor-style in-order timing model of sparce_sim in C++ (dissertation Table 4.1(a); gem5's
 * src/cpu/minor).  This is the native twin of sparce_sim/pipeline.py and sparce_sim/cache.py: the
 * same recurrences, the same departures from Minor (listed in pipeline.py's docstring), and the
 * same statistics, so that `--engine python` is its oracle (tests/test_native_identity.py).
 *
 * Structure, after Minor's stages:
 *   Fetch1          - one line request in flight through the L1I, sequential lines streamed
 *                     ahead into Fetch2's two-line buffer, stream changes (predicted-taken
 *                     branches, mispredicts) waiting for the old stream's request;
 *   Fetch           - Fetch2/Decode: decode_width instructions a cycle from Fetch1's lines, the
 *                     bounded in-flight window (executeInputBufferSize x executeInputWidth);
 *   Execute         - in-order issue (issue_limit a cycle, the scoreboard, the FuPool), execution
 *                     with the L1D/L2/DRAM latency of loads, commit (commit_limit a cycle);
 *   BranchPredictor - bimodal 2-bit counters, a BTB for indirect branches, a return stack.
 * The FU pool and every latency come from gem5_configs/params.py through the Python wrapper.
 */
#ifndef AXSIM_MINOR_HH
#define AXSIM_MINOR_HH

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <vector>

namespace axsim {

enum Fu : uint8_t { FU_INT = 0, FU_MULT, FU_DIV, FU_FLOAT, FU_MEM, FU_MISC, FU_COUNT };

enum InstFlag : uint16_t {
    F_LOAD = 1, F_STORE = 2, F_PREFETCH = 4, F_BRANCH = 8, F_COND = 16, F_CALL = 32, F_RETURN = 64,
};

constexpr uint8_t EXT_UXTW = 3, EXT_SXTW = 7;   // capstone ARM64_EXT_* of an index register
constexpr int NUM_REGS = 65;           // X0-X30, SP, V0-V31, NZCV (sparce_sim/decode.py ids)
constexpr int MAX_SRCS = 8;
constexpr int MAX_DSTS = 8;

/* One decoded static instruction (sparce_sim.decode.StaticInst, the fields timing needs). */
struct StaticInst {
    uint8_t state = 0;                 // 0 undecoded, 1 decoded
    uint8_t fu = 0, latency = 0, nsrc = 0, ndst = 0;
    uint16_t flags = 0;
    uint16_t mem_bytes = 0;
    uint8_t srcs[MAX_SRCS] = {};
    uint8_t dsts[MAX_DSTS] = {};
    int8_t prefetch_base = -1;
    int64_t prefetch_disp = 0;
    int64_t target = -1;
    int8_t addr_base = -2;             // engine register id; -1 literal; -2 no memory access
    int8_t addr_index = -1;
    uint8_t addr_ext = 0, addr_shift = 0;
    int64_t addr_disp = 0;
    /* the base a pre/post-indexed access's writeback micro-op updates, -1 none (decode.py) */
    int8_t wb_base = -1;
    /* bytes per memory micro-op (decode.py req_bytes) */
    uint8_t req_bytes = 16;
    /* dynamic per-PC state */
    uint64_t committed = 0;
};

struct CacheStats {
    uint64_t hits = 0, misses = 0, read_hits = 0, read_misses = 0, write_hits = 0,
             write_misses = 0, prefetches = 0, mshr_hits = 0;
};

/* One set-associative LRU cache level; ways are kept most-recently-used first, each with the
 * cycle its fill completes (sparce_sim.cache.Hierarchy.fills). */
class Cache {
  public:
    unsigned assoc = 1;
    uint64_t set_mask = 0;
    std::vector<int64_t> ways, fill_t;
    std::vector<uint8_t> fill;
    CacheStats stats;

    void init(unsigned size_kb, unsigned assoc_, unsigned line_bytes) {
        assoc = assoc_;
        uint64_t nsets = uint64_t(size_kb) * 1024 / (uint64_t(assoc) * line_bytes);
        set_mask = nsets - 1;
        ways.assign(nsets * assoc, -1);
        fill_t.assign(nsets * assoc, 0);
        fill.assign(nsets, 0);
    }

    /* True on a hit; moves the line to the MRU way (allocating it on a miss, with fill time 0);
     * *ready points at its fill time.  Counts nothing. */
    bool lookup(int64_t line, int64_t **ready = nullptr) {
        uint64_t set = line & set_mask;
        int64_t *w = &ways[set * assoc];
        int64_t *f = &fill_t[set * assoc];
        unsigned n = fill[set];
        bool hit = false;
        if (n && w[0] == line) {
            hit = true;
        } else {
            unsigned i = 1;
            while (i < n && w[i] != line) i++;
            hit = i < n;
            unsigned move = hit ? i : (n < assoc ? n : assoc - 1);
            int64_t keep_f = hit ? f[i] : 0;
            std::memmove(w + 1, w, move * sizeof(int64_t));
            std::memmove(f + 1, f, move * sizeof(int64_t));
            w[0] = line;
            f[0] = keep_f;
            if (!hit && n < assoc) fill[set] = n + 1;
        }
        if (ready) *ready = &f[0];
        return hit;
    }

    void count(bool hit, bool write) {
        if (hit) {
            stats.hits++;
            (write ? stats.write_hits : stats.read_hits)++;
        } else {
            stats.misses++;
            (write ? stats.write_misses : stats.read_misses)++;
        }
    }

    bool access(int64_t line, bool write) {
        bool hit = lookup(line);
        count(hit, write);
        return hit;
    }
};

/* L1I and L1D over a unified L2 over DRAM, timed (sparce_sim.cache.Hierarchy): the paths' latencies,
 * MSHR hits waiting for the fill, at most mem_limit data accesses in flight. */
class Hierarchy {
  public:
    static constexpr int INFLIGHT_RING = 8;          // a power of two
    Cache l1i, l1d, l2;
    int l1d_latency = 3, l2_latency = 12, dram_latency = 100, l2_path = 0, mem_path = 0, mem_limit = 2;
    unsigned line_shift = 6;
    int64_t sent_at[INFLIGHT_RING] = {}, done_at[INFLIGHT_RING] = {};
    int inflight_i = 0;

    int below_l1(int64_t line) {
        int hit_pen = l2_latency + l2_path;
        return l2.access(line, false) ? hit_pen : hit_pen + mem_path + dram_latency;
    }

    /* the earliest cycle >= t at which fewer than mem_limit data accesses are in flight */
    int64_t mem_slot(int64_t t) const {
        if (t >= latest_done) return t;        // nothing in flight at t or later
        for (;;) {
            int active = 0;
            int64_t first_done = INT64_MAX;
            for (int i = 0; i < INFLIGHT_RING; i++) {
                if (sent_at[i] <= t && t < done_at[i]) {
                    active++;
                    if (done_at[i] < first_done) first_done = done_at[i];
                }
            }
            if (active < mem_limit) return t;
            t = first_done;
        }
    }

    /* a demand access to `line` sent at cycle t; returns the cycle its data is there */
    int64_t data_access(int64_t line, bool write, int64_t t) {
        int64_t *ready;
        bool hit = l1d.lookup(line, &ready);
        int64_t done = t + l1d_latency;
        if (hit) {
            if (*ready > done) {            // the line is still being filled: an MSHR hit
                hit = false;
                done = *ready;
                l1d.stats.mshr_hits++;
            }
        } else {
            done += below_l1(line);
            *ready = done;
        }
        l1d.count(hit, write);
        sent(t, done);
        return done;
    }

    /* prfm PLDL1*: an L1D access answered after the lookup; a miss fills in the background */
    void prefetch(int64_t line, int64_t t) {
        int64_t *ready;
        bool hit = l1d.lookup(line, &ready);
        int64_t done = t + l1d_latency;
        if (hit) {
            l1d.stats.hits++;
        } else {
            l1d.stats.misses++;
            l1d.stats.prefetches++;
            *ready = done + below_l1(line);
        }
        sent(t, done);
    }

    /* an untimed read (the SASA-LD table load): LRU state and counts only */
    void touch_data(int64_t line) {
        bool hit = l1d.lookup(line);
        if (!hit) below_l1(line);
        l1d.count(hit, false);
    }

    int inst_miss_penalty(int64_t line) {
        return l1i.access(line, false) ? 0 : below_l1(line);
    }

  private:
    int64_t latest_done = 0;            // the largest done_at[] ever recorded

    void sent(int64_t t, int64_t done) {
        sent_at[inflight_i] = t;
        done_at[inflight_i] = done;
        if (done > latest_done) latest_done = done;
        inflight_i = (inflight_i + 1) & (INFLIGHT_RING - 1);
    }
};

struct PipelineParams {
    int decode_width = 2, depth = 3, issue_limit = 2, commit_limit = 2, window = 7;
    int lat_int = 3;                    // IntAlu latency (the writeback micro-op's)
    int l1i_latency = 3, branch_delay = 1, backward_delay = 1;
    int int_alu_units = 2, mem_issue_limit = 1;
    unsigned bp_entries = 2048, btb_entries = 4096;
    int lat_mem = 1, load_extra = 2, lsq_transfers = 2, store_buffer = 5;
    int src_rel[FU_COUNT] = {2, 0, 0, 2, 1, 0};    // srcRegsRelativeLats per FU class
};

constexpr int64_t NEVER = int64_t(1) << 62;
constexpr int MAX_REQUEST_LINES = 16;   // lines of one load/store's requests (8-byte stores of 64)

struct PipelineStats {
    uint64_t committed = 0, branches = 0, cond_branches = 0, mispredicts = 0, loads = 0,
             stores = 0, prefetches = 0;
};

/* gem5's Fetch1 and Fetch2's line buffer (pipeline.py Fetch1): one line request in flight
 * (fetch1FetchLimit), answered after the L1I latency (+ miss penalty); sequential lines streamed
 * ahead while Fetch2's two-line input buffer has room; a new stream's first line requested once
 * the old stream's request in flight is answered. Cycles in the fetch time base (Fetch1 hands a
 * line on at f, Fetch2 takes it at f + 1). */
struct Fetch1 {
    Hierarchy *caches = nullptr;
    int lat = 3, dw = 2;
    int64_t per_line = 16, wrong_path_limit = 14;
    int64_t line = -1;       // the line Fetch2 is taking instructions from
    int64_t slot = 0;        // cycle the next line may be requested (the last request answered)
    int64_t prev_pop = 0;    // cycle Fetch2 freed the line before `line` (the buffer holds two)

    int64_t request(int64_t l, int64_t at) {
        if (at < slot) at = slot;
        int64_t ready = at + lat + caches->inst_miss_penalty(l);
        slot = ready + 1;
        return ready;
    }
    int64_t start(int64_t l, int64_t at) {
        line = l;
        prev_pop = 0;
        return request(l, at);
    }
    /* the committed stream moves on to line l; Fetch2 took the current line's last instruction
     * at last_f (lines a SPARCE skip jumped over are requested too) */
    int64_t advance(int64_t l, int64_t last_f) {
        if (l - line < 0 || l - line > 4) return start(l, last_f + 1);
        int64_t pop = last_f + 1, ready = 0;
        while (line < l) {
            ready = request(line + 1, prev_pop);
            line++;
            prev_pop = pop;
        }
        return ready;
    }
    int64_t next_at() const { return slot > prev_pop ? slot : prev_pop; }
    /* lines after the current one requested up to cycle until, each freed at pop */
    void run_ahead(int64_t until, int64_t pop) {
        for (int64_t l = line; next_at() <= until;) {
            request(++l, next_at());
            prev_pop = pop;
        }
    }
    /* a sequential wrong path after line l (freed at pop), at most budget more instructions */
    void wrong_path(int64_t until, int64_t l, int64_t pop, int64_t budget) {
        while (next_at() <= until) {
            int64_t ready = request(++l, next_at());
            prev_pop = pop;
            int64_t n = per_line < budget ? per_line : budget;
            budget -= n;
            pop = n == per_line ? ready + (n + dw - 1) / dw : NEVER;
        }
    }
    /* Fetch2 takes pc's line from pc to its end from cycle f on: the cycle it frees it; n taken */
    int64_t line_rest(uint64_t pc, int64_t f, int64_t &n) const {
        n = per_line - int64_t((pc >> 2) % uint64_t(per_line));
        return f + (n + dw - 1) / dw;
    }
};

/* Fetch2/Decode: decode_width instructions a cycle from the lines Fetch1 hands on, held back by
 * the in-flight window (the ring of the last `window` instructions' commit cycles). */
struct Fetch {
    int64_t t = 0, last_line = -1, last_fetch = 0;
    int slots = 0;
    std::vector<int64_t> ring;
    int ring_i = 0;
    Fetch1 f1;

    int64_t next(uint64_t pc, unsigned line_shift, const PipelineParams &p) {
        int64_t line = int64_t(pc >> line_shift);
        if (line != last_line) {
            int64_t handed = f1.advance(line, t);
            if (handed > t) { t = handed; slots = 0; }
            last_line = line;
        }
        if (slots >= p.decode_width) { t++; slots = 0; }
        int64_t back = ring[ring_i] - p.depth;
        if (t < back) { t = back; slots = 0; }
        slots++;
        return t;
    }

    void retire(int64_t commit_t) {
        ring[ring_i] = commit_t;
        ring_i = ring_i + 1 < int(ring.size()) ? ring_i + 1 : 0;
    }

    /* a stream change: fetch resumes at `at`, in line `line` */
    void redirect(int64_t at, int64_t line) {
        if (at > t) t = at;
        slots = 0;
        last_line = line;
    }
};

/* The FU pool (MinorDefaultFUPool from params.py): per class, how many ops it accepts a cycle
 * (pipelined units); IntDiv is one unpipelined unit. */
struct FuPool {
    int units[FU_COUNT] = {2, 1, 1, 1, 1, 1};
    int64_t last[FU_COUNT] = {-1, -1, -1, -1, -1, -1};
    int count[FU_COUNT] = {};
    int64_t div_free = 0;

    int64_t earliest(int fu, int64_t t) const {
        if (fu == FU_DIV) return t < div_free ? div_free : t;
        return (t == last[fu] && count[fu] >= units[fu]) ? t + 1 : t;
    }
    void accept(int fu, int64_t t, int latency) {
        if (fu == FU_DIV) { div_free = t + latency; return; }
        if (last[fu] == t) count[fu]++;
        else { last[fu] = t; count[fu] = 1; }
    }
};

/* Bimodal 2-bit counters indexed by PC, a direct-mapped BTB for indirect branches, a return
 * address stack. */
struct BranchPredictor {
    std::vector<uint8_t> bimodal;
    std::vector<int64_t> btb;
    std::vector<uint64_t> ras;

    void init(unsigned bp_entries, unsigned btb_entries) {
        bimodal.assign(bp_entries, 1);
        btb.assign(btb_entries, -1);
    }

    /* Predict and train; returns whether the prediction was right, sets pred_taken. */
    bool predict(const StaticInst &si, uint64_t pc, bool taken, int64_t nxt, bool &pred_taken,
                 PipelineStats &stats) {
        if (si.flags & F_CALL) ras.push_back(pc + 4);
        if (si.flags & F_RETURN) {
            bool ok = false;
            if (!ras.empty()) { ok = int64_t(ras.back()) == nxt; ras.pop_back(); }
            pred_taken = true;
            return ok;
        }
        if (si.flags & F_COND) {
            stats.cond_branches++;
            uint8_t &counter = bimodal[(pc >> 2) & (bimodal.size() - 1)];
            pred_taken = counter >= 2;
            counter = taken ? (counter < 3 ? counter + 1 : 3) : (counter > 0 ? counter - 1 : 0);
            return pred_taken == taken;
        }
        pred_taken = true;
        int64_t &tag = btb[(pc >> 2) & (btb.size() - 1)];
        bool ok = si.target >= 0 || tag == int64_t(pc);
        tag = int64_t(pc);
        return ok;
    }
};

/* Execute: in-order issue through the scoreboard and the FU pool, loads through the data
 * caches, in-order commit. */
struct Execute {
    int64_t issue_t = 0, commit_t = 0;
    int issue_slots = 0, commit_slots = 0;
    int64_t ready[NUM_REGS] = {};      // cycle the register was written (its writer committed)
    int64_t ret[NUM_REGS] = {};        // the scoreboard's return cycle: issue + FU latency
    int64_t mem_fu_free = 0;           // earliest issue of the next memory access
    FuPool fus;

    int64_t issue(const StaticInst &si, int64_t f, bool is_mem, const PipelineParams &p) {
        int64_t t = f + p.depth;
        if (t < issue_t) t = issue_t;
        if (is_mem && t < mem_fu_free) t = mem_fu_free;
        const int rel = p.src_rel[si.fu];
        for (int i = 0; i < si.nsrc; i++)
            if (ret[si.srcs[i]] - rel > t) t = ret[si.srcs[i]] - rel;
        t = fus.earliest(si.fu, t);
        if (t == issue_t) {
            if (issue_slots >= p.issue_limit) { t++; issue_slots = 1; }
            else issue_slots++;
        } else {
            issue_slots = 1;
        }
        issue_t = t;
        fus.accept(si.fu, t, si.latency);
        return t;
    }

    int64_t commit(int64_t done, const PipelineParams &p) {
        if (done > commit_t) { commit_t = done; commit_slots = 1; }
        else if (commit_slots >= p.commit_limit) { commit_t++; commit_slots = 1; }
        else commit_slots++;
        return commit_t;
    }

    /* a later commit cycle (a store waiting for the store buffer) */
    void delay_commit(int64_t c) {
        if (c > commit_t) { commit_t = c; commit_slots = 1; }
    }
};

class Pipeline {
  public:
    PipelineParams p;
    Hierarchy *caches = nullptr;
    PipelineStats stats;
    Fetch fetch;
    Execute exec;
    BranchPredictor bp;
    int64_t last_pc = -1;
    std::vector<int64_t> lsq_ring;     // commit cycles of the last lsq_transfers memory accesses
    int lsq_i = 0;
    std::vector<int64_t> store_buffer; // completion cycles of the buffered stores' accesses
    std::vector<int64_t> scratch;      // reused by store_commit (no allocation per store)
    int64_t store_sent = 0;

    void init(const PipelineParams &params, Hierarchy *h) {
        p = params;
        caches = h;
        fetch.ring.assign(p.window > 0 ? p.window : 1, 0);
        fetch.f1.caches = h;
        fetch.f1.lat = p.l1i_latency;
        fetch.f1.dw = p.decode_width;
        fetch.f1.per_line = int64_t(1) << (h->line_shift - 2);
        fetch.f1.wrong_path_limit = int64_t(p.window);
        lsq_ring.assign(p.lsq_transfers > 0 ? p.lsq_transfers : 1, 0);
        exec.fus.units[FU_INT] = p.int_alu_units;
        exec.fus.units[FU_MEM] = p.mem_issue_limit;
        bp.init(p.bp_entries, p.btb_entries);
    }

    int64_t cycles() const { return stats.committed ? exec.commit_t + 1 : 0; }
    int64_t commit_t() const { return exec.commit_t; }
    const int64_t *ready() const { return exec.ready; }

    /* Time one executed instruction: addr is a load/store's effective address, prefetch_line the
     * line of an executed prfm (-1 when none), next_pc the PC executed after it (-1 unknown). */
    __attribute__((always_inline)) inline
    void time(StaticInst &si, uint64_t pc, uint64_t addr, int64_t prefetch_line, int64_t next_pc) {
        int64_t f = fetch.next(pc, caches->line_shift, p);
        const bool is_mem = si.mem_bytes || (si.flags & F_PREFETCH);
        int64_t t = exec.issue(si, f, is_mem, p);
        int64_t done = t + si.latency;
        int64_t lines[MAX_REQUEST_LINES];
        int nlines = 0;
        if (is_mem) {
            /* the Mem FU hands the access to the LSQ (a cycle later); it enters the transfers
             * queue when the access lsq_transfers places older has committed, and once the
             * writers of its sources have executed */
            int64_t sent = t + p.lat_mem + 1;
            if (lsq_ring[lsq_i] + 1 > sent) sent = lsq_ring[lsq_i] + 1;
            for (int i = 0; i < si.nsrc; i++)
                if (exec.ready[si.srcs[i]] + 1 > sent) sent = exec.ready[si.srcs[i]] + 1;
            if (si.mem_bytes) {
                nlines = request_lines(si, addr, lines);
                if (si.flags & F_STORE) {
                    stats.stores++;
                } else {
                    stats.loads++;
                    for (int k = 0; k < nlines; k++) {
                        sent = caches->mem_slot(sent);
                        int64_t c = caches->data_access(lines[k], false, sent) + p.load_extra;
                        if (c > done) done = c;
                    }
                }
            } else {
                if (prefetch_line >= 0) {
                    sent = caches->mem_slot(sent);
                    caches->prefetch(prefetch_line, sent);
                }
                stats.prefetches++;
            }
            if (sent > done) done = sent;
            exec.mem_fu_free = sent - p.lat_mem - 1;
        }
        for (int i = 0; i < si.ndst; i++)
            if (si.dsts[i] != si.wb_base) exec.ret[si.dsts[i]] = t + si.latency;
        int64_t c = exec.commit(done, p);
        if (si.mem_bytes && (si.flags & F_STORE)) exec.delay_commit(store_commit(lines, nlines, c));
        c = exec.commit_t;
        for (int i = 0; i < si.ndst; i++)                                // written back at commit
            if (si.dsts[i] != si.wb_base) exec.ready[si.dsts[i]] = c;
        fetch.retire(c);
        if (is_mem) {
            lsq_ring[lsq_i] = c;
            lsq_i = lsq_i + 1 < int(lsq_ring.size()) ? lsq_i + 1 : 0;
        }
        if (si.wb_base >= 0) writeback_uop(si.wb_base);
        si.committed++;
        if (si.flags & F_BRANCH) branch(si, pc, c, f, next_pc);   // a mispredict resolves at commit
        stats.committed++;
        last_pc = int64_t(pc);
        fetch.last_fetch = f;
    }

    /* How many of the next n sequential instructions would be fetched before `settle`
     * (pipeline.py upcoming_fetch_times, counted instead of listed). */
    unsigned fetched_before(unsigned n, int64_t settle) const {
        SequentialFetch walk(*this);
        for (unsigned j = 0; j < n; j++)
            if (walk.next() >= settle) return j;   // t never falls: no later one is before settle
        return n;
    }

    /* The fetch cycle the next sequential instruction would get (upcoming_fetch_times()[0]). */
    int64_t next_fetch_time() const {
        SequentialFetch walk(*this);
        return walk.next();
    }

    /* The earliest cycle si, fetched at f, could issue (pipeline.py earliest_issue). */
    int64_t earliest_issue(const StaticInst &si, int64_t f) const {
        int64_t t = f + p.depth;
        if (t < exec.issue_t) t = exec.issue_t;
        const int rel = p.src_rel[si.fu];
        for (int i = 0; i < si.nsrc; i++)
            if (exec.ret[si.srcs[i]] - rel > t) t = exec.ret[si.srcs[i]] - rel;
        return t;
    }

    /* n region insts were fetched, then dropped at issue (pipeline.py nullify_fetched). */
    void nullify_fetched(unsigned n) {
        SequentialFetch walk(*this);
        for (unsigned j = 0; j < n; j++) walk.next();
        fetch.t = walk.t;
        fetch.slots = walk.slots;
    }

    /* The fetch cycles of the next sequential instructions, given the in-flight window
     * (pipeline.py _sequential_fetch): next() gives one and takes its slot. */
    struct SequentialFetch {
        const Pipeline &pipe;
        int64_t t;
        int slots, k;                          // k: ring index of instruction j (j < window)
        unsigned j = 0;
        explicit SequentialFetch(const Pipeline &pp)
            : pipe(pp), t(pp.fetch.t), slots(pp.fetch.slots), k(pp.fetch.ring_i) {}
        int64_t next() {
            if (slots >= pipe.p.decode_width) { t++; slots = 0; }
            const int window = int(pipe.fetch.ring.size());
            if (int(j) < window) {
                int64_t back = pipe.fetch.ring[k] - pipe.p.depth;
                if (t < back) { t = back; slots = 0; }
                k = k + 1 < window ? k + 1 : 0;
            }
            j++;
            slots++;
            return t;
        }
    };

  private:
    /* gem5's MicroAddXiUop after a pre/post-indexed access, one micro-op after it in the same
     * line (pipeline.py _writeback_uop): a decode slot, the in-flight window, in-order IntAlu issue
     * reading the old base, the new base lat_int later, in-order commit. */
    void writeback_uop(int base) {
        if (fetch.slots >= p.decode_width) { fetch.t++; fetch.slots = 0; }
        int64_t back = fetch.ring[fetch.ring_i] - p.depth;
        if (fetch.t < back) { fetch.t = back; fetch.slots = 0; }
        fetch.slots++;
        int64_t t = fetch.t + p.depth;
        if (t < exec.issue_t) t = exec.issue_t;
        if (t < exec.ret[base] - p.src_rel[FU_INT]) t = exec.ret[base] - p.src_rel[FU_INT];
        t = exec.fus.earliest(FU_INT, t);
        if (t == exec.issue_t) {
            if (exec.issue_slots >= p.issue_limit) { t++; exec.issue_slots = 1; }
            else exec.issue_slots++;
        } else {
            exec.issue_slots = 1;
        }
        exec.issue_t = t;
        exec.fus.accept(FU_INT, t, p.lat_int);
        fetch.retire(exec.commit(t + p.lat_int, p));
        exec.ret[base] = t + p.lat_int;
        exec.ready[base] = exec.commit_t;
    }

    /* The lines of a load/store's 16-byte requests, in order (a request crossing a line gives
     * both); at most MAX_REQUEST_LINES (mem_bytes <= 64). */
    int request_lines(const StaticInst &si, uint64_t addr, int64_t *lines) const {
        const unsigned shift = caches->line_shift;
        int n = 0;
        const unsigned req = si.req_bytes;
        for (unsigned off = 0; off < si.mem_bytes && n < MAX_REQUEST_LINES - 1; off += req) {
            uint64_t lo = addr + off;
            unsigned size = si.mem_bytes - off < req ? si.mem_bytes - off : req;
            uint64_t hi = lo + size - 1;
            lines[n++] = int64_t(lo >> shift);
            if ((hi >> shift) != (lo >> shift)) lines[n++] = int64_t(hi >> shift);
        }
        return n;
    }

    /* A store's accesses enter the store buffer at commit cycle c (later while it is full);
     * returns the cycle the store commits. */
    int64_t store_commit(const int64_t *lines, int nlines, int64_t c) {
        const size_t size = size_t(p.store_buffer > 0 ? p.store_buffer : 1);
        for (int k = 0; k < nlines; k++) {
            drop_done_stores(c);
            if (store_buffer.size() >= size) {
                /* wait until all but size - 1 entries have completed: the (n - size)-th smallest */
                scratch.assign(store_buffer.begin(), store_buffer.end());
                std::nth_element(scratch.begin(), scratch.begin() + long(scratch.size() - size), scratch.end());
                c = scratch[scratch.size() - size];
                drop_done_stores(c);
            }
            int64_t s = store_sent > c + 1 ? store_sent : c + 1;
            s = caches->mem_slot(s);
            store_sent = s;
            store_buffer.push_back(caches->data_access(lines[k], true, s));
        }
        return c;
    }

    void drop_done_stores(int64_t c) {
        size_t w = 0;
        for (size_t r = 0; r < store_buffer.size(); r++)
            if (store_buffer[r] > c) store_buffer[w++] = store_buffer[r];
        store_buffer.resize(w);
    }

    /* Fetch between a mispredicted branch's fetch f and its commit c (pipeline.py _wrong_path) */
    void wrong_path(const StaticInst &si, uint64_t pc, int64_t f, int64_t c, bool pred_taken) {
        Fetch1 &f1 = fetch.f1;
        const unsigned shift = caches->line_shift;
        int64_t pop, n = 0;
        if (pred_taken) {
            f1.run_ahead(f + 1, f + 1);
            int64_t at = f + 1 + p.backward_delay;
            if (si.target < 0 || (at > f1.slot ? at : f1.slot) > c) return;
            int64_t ready = f1.start(si.target >> shift, at);
            pop = f1.line_rest(uint64_t(si.target), ready, n);
        } else if (((pc + 4) >> shift) == (pc >> shift)) {
            pop = f1.line_rest(pc + 4, f, n);
        } else {
            pop = f + 1;
        }
        f1.wrong_path(c, f1.line, pop, f1.wrong_path_limit - n);
    }

    void branch(const StaticInst &si, uint64_t pc, int64_t c, int64_t f, int64_t nxt) {
        stats.branches++;
        bool taken = nxt >= 0 ? uint64_t(nxt) != pc + 4 : false;
        bool pred_taken = false;
        bool ok = bp.predict(si, pc, taken, nxt, pred_taken, stats);
        if (!ok) stats.mispredicts++;
        if (nxt < 0) return;                  // the run ends here
        const int64_t target_line = nxt >> caches->line_shift;
        if (!ok) {
            wrong_path(si, pc, f, c, pred_taken);
            fetch.redirect(fetch.f1.start(target_line, c + p.branch_delay), target_line);
        } else if (pred_taken && taken) {
            fetch.f1.run_ahead(f + 1, f + 1);     // Fetch2 predicts at f + 1, Fetch1 hears it a cycle on
            fetch.redirect(fetch.f1.start(target_line, f + 1 + p.backward_delay), target_line);
        }
    }
};

}  // namespace axsim

#endif
