/*
 * SPARCE core logic (dissertation ch. 4, section 4.1): the SASA-LD / SASA
 * table encoding, the Sparse Register File (SpRF), the Sparse Value Checker
 * (SVC), the SASA table and the Pre-identify and Skip Redundancy Unit (PSRU).
 *
 * This header is deliberately independent of gem5: it uses only the C++17
 * standard library, so it compiles on its own (isa_ext/gem5/test/core_check.cc
 * builds it with the host g++ and tests/test_gem5_backend.py checks it against
 * isa_ext/encoding.py).  The gem5 glue that feeds it from MinorCPU lives in
 * sparce_unit.hh / sparce_unit.cc.
 *
 * The constants below MUST equal isa_ext/encoding.py; the test suite parses the
 * `constexpr ... NAME = VALUE;` lines of this file and compares them.
 *
 * Semantics (those of sparce_sim/sparce.py where the pipelines allow; the
 * differences are listed in isa_ext/gem5/README.md):
 *  - SpRF: per X register one isSparse bit, per V register one bit per
 *    32-bit lane, plus regUpdInFlight, kept as the list of fetched writers
 *    (fetch sequence numbers) that have not written back yet.
 *  - SVC: a value is sparse when all of its bits are zero (-0.0 is not
 *    sparse).
 *  - PSRU: on fetching precedingPC (not predicted taken) with a table hit:
 *    (a) every condition register settled and the condition holds -> skip
 *        (the fetch stage jumps over the region);
 *    (b) settled registers already decide it (OR with a settled sparse
 *        operand -> skip, AND with a settled dense one -> execute);
 *    (c) otherwise the region is "skippable": fetch continues into it and
 *        the decision is taken at the writeback of the last condition
 *        writer older than precedingPC.  If the condition holds and no
 *        region instruction has issued yet, the region instructions fetched
 *        so far are nullified (dropped at issue) and, if fetch is still
 *        inside the region, it jumps to the region end.
 *  - Statistics are counted when precedingPC commits, so wrong-path
 *    fetches never count.
 */

#ifndef __CPU_SPARCE_SPARCE_CORE_HH__
#define __CPU_SPARCE_SPARCE_CORE_HH__

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <iterator>
#include <string>
#include <unordered_map>
#include <vector>

namespace gem5
{

namespace sparce
{

/* ---- Encoding (isa_ext/encoding.py) ---------------------------------- */

/* SASA-LD [Xn], #size : 0x02000000 | size << 5 | n (unallocated op0 space) */
constexpr uint32_t SASA_LD_BASE = 0x02000000;
constexpr uint32_t SASA_LD_MASK = 0xFFE00000;
constexpr uint32_t SASA_LD_SIZE_SHIFT = 5;
constexpr uint32_t SASA_LD_SIZE_MASK = 0xFFFF;
constexpr uint32_t SASA_LD_RN_MASK = 0x1F;

/* SASA table entry: <Q precedingPC, H instsToSkip, B op, B 0, H opnd0, H opnd1> */
constexpr unsigned ENTRY_BYTES = 16;
constexpr unsigned MAX_INSTS_TO_SKIP = 0xFFFF;
constexpr unsigned MAX_TABLE_SIZE = 0xFFFF;
constexpr uint16_t NO_OPERAND = 0xFFFF;
constexpr unsigned VECTOR_LANES = 4;

/* Condition ops (encoding.CondOp) */
constexpr uint8_t COND_SINGLE = 0;
constexpr uint8_t COND_OR = 1;
constexpr uint8_t COND_AND = 2;

/* SpRF operand code bit fields (encoding.SpRFOperand.code) */
constexpr uint16_t OPND_REG_MASK = 0x1F;
constexpr uint16_t OPND_VFILE = 0x20;
constexpr uint16_t OPND_HAS_LANE = 0x40;
constexpr uint16_t OPND_LANE_SHIFT = 7;
constexpr uint16_t OPND_LANE_MASK = 0x3;
constexpr uint16_t OPND_VALID_BITS = 0x1FF;

constexpr unsigned NUM_X_REGS = 31;     // X0-X30 (X31 is SP/XZR, no SpRF entry)
constexpr unsigned NUM_V_REGS = 32;     // V0-V31

/** Is `word` a SASA-LD?  Fills rn/size.  A word in the SASA-LD space with
 *  rn == 31 or size == 0 is a reserved form: returns true with valid=false. */
inline bool
decodeSasaLd(uint32_t word, unsigned &rn, unsigned &size, bool &valid)
{
    if ((word & SASA_LD_MASK) != SASA_LD_BASE)
        return false;
    rn = word & SASA_LD_RN_MASK;
    size = (word >> SASA_LD_SIZE_SHIFT) & SASA_LD_SIZE_MASK;
    valid = rn != 31 && size != 0;
    return true;
}

struct Operand
{
    uint8_t reg = 0;
    bool isV = false;
    bool hasLane = false;
    uint8_t lane = 0;
};

struct Entry
{
    uint64_t precedingPC = 0;
    uint16_t instsToSkip = 0;
    uint8_t op = COND_SINGLE;
    uint8_t numOperands = 0;
    Operand operand[2];

    uint64_t regionStart() const { return precedingPC + 4; }
    uint64_t regionEnd() const { return regionStart() + 4ull * instsToSkip; }
};

inline uint64_t
readLE(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= uint64_t(p[i]) << (8 * i);
    return v;
}

inline bool
decodeOperand(uint16_t code, Operand &out, std::string &err)
{
    if (code & ~OPND_VALID_BITS) {
        err = "SpRF operand code has reserved bits set";
        return false;
    }
    out.reg = code & OPND_REG_MASK;
    out.isV = code & OPND_VFILE;
    out.hasLane = code & OPND_HAS_LANE;
    out.lane = (code >> OPND_LANE_SHIFT) & OPND_LANE_MASK;
    if (!out.isV && (out.hasLane || out.reg == 31)) {
        err = "SpRF operand code is not a valid register";
        return false;
    }
    if (!out.hasLane)
        out.lane = 0;
    return true;
}

/** Decode one 16-byte little-endian table row (encoding.decode_entry). */
inline bool
decodeEntry(const uint8_t *raw, Entry &out, std::string &err)
{
    out.precedingPC = readLE(raw, 8);
    out.instsToSkip = uint16_t(readLE(raw + 8, 2));
    out.op = raw[10];
    uint8_t reserved = raw[11];
    uint16_t code0 = uint16_t(readLE(raw + 12, 2));
    uint16_t code1 = uint16_t(readLE(raw + 14, 2));
    if (reserved) {
        err = "reserved byte is not zero";
        return false;
    }
    if (out.op != COND_SINGLE && out.op != COND_OR && out.op != COND_AND) {
        err = "unknown condition op";
        return false;
    }
    if (out.op == COND_SINGLE && code1 != NO_OPERAND) {
        err = "single-operand condition has a second operand";
        return false;
    }
    out.numOperands = out.op == COND_SINGLE ? 1 : 2;
    const uint16_t codes[2] = {code0, code1};
    for (unsigned i = 0; i < out.numOperands; i++) {
        if (!decodeOperand(codes[i], out.operand[i], err))
            return false;
    }
    if (out.instsToSkip < 1) {
        err = "instsToSkip is 0";
        return false;
    }
    if (out.precedingPC % 4) {
        err = "precedingPC is not 4-byte aligned";
        return false;
    }
    return true;
}

/* ---- SpRF + SVC ------------------------------------------------------- */

class SpRF
{
  public:
    struct Reg
    {
        /** isSparse: bit l = 32-bit lane l is zero (X registers use bit 0) */
        uint8_t sparseLanes = 0;
        /** fetch sequence numbers of the fetched writers that have not
         *  written back yet, oldest first (regUpdInFlight = non-empty) */
        std::deque<uint64_t> inFlight;
        /** sequence number of the youngest writer that wrote back */
        uint64_t lastWrittenBack = 0;
    };

    Reg x[NUM_X_REGS];
    Reg v[NUM_V_REGS];

    Reg *
    reg(bool is_v, unsigned n)
    {
        if (is_v)
            return n < NUM_V_REGS ? &v[n] : nullptr;
        return n < NUM_X_REGS ? &x[n] : nullptr;
    }
    const Reg *
    reg(bool is_v, unsigned n) const
    {
        return const_cast<SpRF *>(this)->reg(is_v, n);
    }

    /** Fetch saw an instruction (sequence number seq) that writes the
     *  register: regUpdInFlight becomes true. */
    void
    noteFetchedWriter(bool is_v, unsigned n, uint64_t seq)
    {
        Reg *r = reg(is_v, n);
        if (r && (r->inFlight.empty() || r->inFlight.back() < seq))
            r->inFlight.push_back(seq);
    }

    /** SVC: the writer with sequence number seq wrote `bytes` bytes of
     *  little-endian value (8 for X, 16 for V) at writeback.  Writeback is
     *  in order, so every older fetched writer is done too. */
    void
    writeback(bool is_v, unsigned n, uint64_t seq, const uint8_t *value,
              unsigned bytes)
    {
        Reg *r = reg(is_v, n);
        if (!r || seq < r->lastWrittenBack)
            return;
        r->lastWrittenBack = seq;
        while (!r->inFlight.empty() && r->inFlight.front() <= seq)
            r->inFlight.pop_front();
        setValue(is_v, n, value, bytes);
    }

    /** Set isSparse from an architectural value (SVC comparators). */
    void
    setValue(bool is_v, unsigned n, const uint8_t *value, unsigned bytes)
    {
        Reg *r = reg(is_v, n);
        if (!r)
            return;
        if (!is_v) {
            bool zero = true;
            for (unsigned i = 0; i < bytes; i++)
                zero = zero && value[i] == 0;
            r->sparseLanes = zero ? 1 : 0;
            return;
        }
        uint8_t lanes = 0;
        for (unsigned l = 0; l < VECTOR_LANES; l++) {
            bool zero = true;
            for (unsigned b = 4 * l; b < 4 * l + 4 && b < bytes; b++)
                zero = zero && value[b] == 0;
            lanes |= uint8_t(zero) << l;
        }
        r->sparseLanes = lanes;
    }

    bool
    inFlight(const Operand &o) const
    {
        const Reg *r = reg(o.isV, o.reg);
        return r && !r->inFlight.empty();
    }

    /** Is a writer with sequence number <= seq still in flight? */
    bool
    inFlightUpTo(const Operand &o, uint64_t seq) const
    {
        const Reg *r = reg(o.isV, o.reg);
        return r && !r->inFlight.empty() && r->inFlight.front() <= seq;
    }

    bool
    isSparse(const Operand &o) const
    {
        const Reg *r = reg(o.isV, o.reg);
        if (!r)
            return false;
        if (!o.isV)
            return r->sparseLanes & 1;
        if (o.hasLane)
            return (r->sparseLanes >> o.lane) & 1;
        return (r->sparseLanes & 0xF) == 0xF;
    }

    /** The writers with sequence numbers lo..hi were nullified (they will
     *  never write back, and the register keeps its value). */
    void
    nullify(uint64_t lo, uint64_t hi)
    {
        auto drop = [lo, hi](Reg &r) {
            for (auto it = r.inFlight.begin(); it != r.inFlight.end();) {
                if (*it >= lo && *it <= hi)
                    it = r.inFlight.erase(it);
                else
                    ++it;
            }
        };
        for (auto &r : x)
            drop(r);
        for (auto &r : v)
            drop(r);
    }

    /** Instruction seq committed: commit is in order, so every writer
     *  older than it has written back or was discarded. */
    void
    retireUpTo(uint64_t seq)
    {
        auto drop = [seq](Reg &r) {
            while (!r.inFlight.empty() && r.inFlight.front() < seq)
                r.inFlight.pop_front();
        };
        for (auto &r : x)
            drop(r);
        for (auto &r : v)
            drop(r);
    }

    /** A stream change discarded every instruction not yet written back:
     *  nothing is in flight any more. */
    void
    squashInFlight()
    {
        for (auto &r : x)
            r.inFlight.clear();
        for (auto &r : v)
            r.inFlight.clear();
    }
};

/* ---- SASA table ------------------------------------------------------- */

class SasaTable
{
  public:
    std::vector<Entry> entries;
    std::unordered_map<uint64_t, size_t> byPrecedingPC;

    bool loaded() const { return !entries.empty(); }

    /** Replace the table with `count` rows read from `raw` (SASA-LD).
     *  On error the table is left unchanged and err names row and cause. */
    bool
    load(const uint8_t *raw, unsigned count, unsigned capacity,
         unsigned sprf_entries, std::string &err)
    {
        if (count < 1) {
            err = "SASA table is empty";
            return false;
        }
        if (count > capacity) {
            err = "SASA table of " + std::to_string(count) +
                " entries overflows the " + std::to_string(capacity) +
                "-entry hardware table";
            return false;
        }
        std::vector<Entry> rows(count);
        std::unordered_map<uint64_t, size_t> index;
        for (unsigned i = 0; i < count; i++) {
            std::string why;
            if (!decodeEntry(raw + i * ENTRY_BYTES, rows[i], why)) {
                err = "SASA entry " + std::to_string(i) + ": " + why;
                return false;
            }
            for (unsigned k = 0; k < rows[i].numOperands; k++) {
                if (rows[i].operand[k].reg >= sprf_entries) {
                    err = "SASA entry " + std::to_string(i) +
                        ": register has no SpRF entry";
                    return false;
                }
            }
            if (!index.emplace(rows[i].precedingPC, i).second) {
                err = "SASA table has two entries for one precedingPC";
                return false;
            }
        }
        entries.swap(rows);
        byPrecedingPC.swap(index);
        return true;
    }

    const Entry *
    lookup(uint64_t preceding_pc) const
    {
        auto it = byPrecedingPC.find(preceding_pc);
        return it == byPrecedingPC.end() ? nullptr : &entries[it->second];
    }
};

/* ---- PSRU ------------------------------------------------------------- */

enum class Verdict { Execute, Skip, Skippable };

/** Fig. 4.5 with the early decision of sparce_sim.sparce.decide. */
inline Verdict
evaluate(const Entry &e, const SpRF &sprf)
{
    bool any_in_flight = false, any_settled_sparse = false,
         any_settled_dense = false, all_sparse = true;
    for (unsigned k = 0; k < e.numOperands; k++) {
        const Operand &o = e.operand[k];
        bool sparse = sprf.isSparse(o);
        if (sprf.inFlight(o)) {
            any_in_flight = true;
            all_sparse = false;
        } else if (sparse) {
            any_settled_sparse = true;
        } else {
            any_settled_dense = true;
            all_sparse = false;
        }
    }
    if (!any_in_flight) {
        bool holds = e.op == COND_AND ? all_sparse : any_settled_sparse;
        return holds ? Verdict::Skip : Verdict::Execute;
    }
    if (e.op == COND_OR && any_settled_sparse)
        return Verdict::Skip;
    if (e.op == COND_AND && any_settled_dense)
        return Verdict::Execute;
    return Verdict::Skippable;
}

/** Does the condition hold on the current SpRF bits (in flight or not)? */
inline bool
holds(const Entry &e, const SpRF &sprf)
{
    bool any = false, all = true;
    for (unsigned k = 0; k < e.numOperands; k++) {
        bool s = sprf.isSparse(e.operand[k]);
        any = any || s;
        all = all && s;
    }
    return e.op == COND_AND ? all : any;
}

/** Counted when precedingPC commits (wrong-path fetches never count), so
 *  they are comparable with sparce_sim, which only sees the committed
 *  path.  The first eight are sparce_sim's statistics. */
struct Counters
{
    uint64_t sasaLoads = 0;
    uint64_t sasaLookups = 0;           // committed insts while a table is loaded
    uint64_t sasaHits = 0;
    uint64_t regionsSkipped = 0;
    uint64_t regionsSkippable = 0;
    uint64_t skippableResolvedTrue = 0;
    uint64_t instsSkipped = 0;
    uint64_t squashedInsts = 0;         // region insts fetched, then nullified
    /* gem5 only */
    uint64_t skippableTooLate = 0;      // resolved true after a region inst issued
    uint64_t fetchRedirects = 0;        // skips that needed a Fetch1 redirect
};

struct FetchAction
{
    bool redirect = false;      // fetch must continue at `target`
    uint64_t target = 0;
};

/** The PSRU with its SASA table and SpRF, for one hardware thread.
 *
 *  The pipeline calls, in its own order:
 *    onFetch      each instruction Fetch2 produces (after noting its dests)
 *    fetchSkipFor Fetch2, before producing an instruction: is an armed skip
 *                 pending at this PC?  (fetchSkipDone once applied)
 *    nullified    Execute issue: drop this instruction?
 *    onIssue      Execute issued this instruction to an FU
 *    resolve      after each SVC writeback (the glue does the SpRF update)
 *    onCommit     each committed instruction (last microop)
 *    onStreamChange  an Execute stream change reached Fetch2
 */
class Psru
{
  public:
    SasaTable table;
    SpRF sprf;
    Counters counters;

    /** How late a skippable region may resolve true.  false: only while
     *  fetch has not left the region (sparce_sim's rule); true: also
     *  after fetch left it, as long as none of its instructions has
     *  issued (the fetched ones are nullified before issue). */
    bool nullifyUnissued = true;

    enum class State { Waiting, True, False, TooLate };

    /** One SASA hit at a fetched precedingPC, counted when it commits. */
    struct Record
    {
        uint64_t precedingSeq = 0;
        const Entry *entry = nullptr;
        Verdict verdict = Verdict::Execute;
        /* skipped regions and insts of a definite skip; for a skippable
         * region, the regions chained to it when it resolved true */
        unsigned chainHits = 0;
        unsigned regions = 0;
        unsigned insts = 0;
        /* skippable regions */
        State state = State::Waiting;
        unsigned fetched = 0;       // region insts fetched (seqs after precedingSeq)
        bool leftRegion = false;    // fetch went somewhere outside the region
        bool continued = false;     // ... sequentially, at the region end
        bool takenInRegion = false; // a region inst was predicted taken
        bool issued = false;        // a fetched region inst issued
        unsigned nullifiedInsts = 0;
        bool precedingNullified = false;    // precedingPC is in a skipped region
    };
    std::deque<Record> records;

    /** SASA-LD: replace the table (see SasaTable::load).  The records of
     *  the old table go: every older instruction has committed (SASA-LD
     *  commits in order) and every younger one is discarded by the stream
     *  change that follows a serialising instruction. */
    bool
    loadTable(const uint8_t *raw, unsigned count, unsigned capacity,
              unsigned sprf_entries, std::string &err)
    {
        if (!table.load(raw, count, capacity, sprf_entries, err))
            return false;
        records.clear();
        nullRanges.clear();
        skipArmed = false;
        return true;
    }

    FetchAction
    onFetch(uint64_t pc, uint64_t seq, bool predicted_taken)
    {
        FetchAction act;
        if (!table.loaded())
            return act;
        for (Record &r : records) {
            if (r.verdict != Verdict::Skippable || r.leftRegion ||
                r.state != State::Waiting || r.precedingSeq == seq)
                continue;
            if (pc == r.entry->regionStart() + 4ull * r.fetched &&
                r.fetched < r.entry->instsToSkip) {
                r.fetched++;
                r.takenInRegion = r.takenInRegion || predicted_taken;
            } else {
                r.continued = r.fetched == r.entry->instsToSkip &&
                    pc == r.entry->regionEnd();
                r.leftRegion = true;
            }
        }
        if (predicted_taken)
            return act;               // a taken branch never enters its region
        const Entry *e = table.lookup(pc);
        if (!e)
            return act;
        Record rec;
        rec.precedingSeq = seq;
        rec.entry = e;
        rec.verdict = evaluate(*e, sprf);
        if (rec.verdict == Verdict::Skip) {
            rec.regions = 1;
            rec.insts = e->instsToSkip;
            act.redirect = true;
            act.target = e->regionEnd();
            /* Chained regions: the landing PC may itself start a region
             * whose precedingPC (the last skipped instruction) was never
             * fetched.  Only definite skips chain. */
            for (size_t guard = 0; guard < table.entries.size(); guard++) {
                const Entry *next = table.lookup(act.target - 4);
                if (!next || next == e)
                    break;
                rec.chainHits++;
                if (evaluate(*next, sprf) != Verdict::Skip)
                    break;
                rec.regions++;
                rec.insts += next->instsToSkip;
                act.target = next->regionEnd();
                e = next;
            }
        }
        records.push_back(rec);
        return act;
    }

    /** Fetch2 is about to produce the instruction at `pc`: should it jump
     *  to `to` instead?  An armed skip whose range does not hold `pc` is
     *  stale (fetch went elsewhere) and is dropped. */
    bool
    fetchSkipFor(uint64_t pc, uint64_t &to)
    {
        if (!skipArmed)
            return false;
        if (pc < skipFrom || pc >= skipTo) {
            skipArmed = false;
            return false;
        }
        to = skipTo;
        return true;
    }

    void fetchSkipDone() { skipArmed = false; }

    /** Fetch2 skips [from, to) without a Fetch1 redirect.  A skip that
     *  overlaps one already armed (overlapping regions: a definite skip
     *  armed at a precedingPC inside a skippable region that then resolves
     *  true) extends it. */
    void
    armFetchSkip(uint64_t from, uint64_t to)
    {
        if (skipArmed && from <= skipTo && skipFrom <= to) {
            skipFrom = std::min(skipFrom, from);
            skipTo = std::max(skipTo, to);
            return;
        }
        skipArmed = true;
        skipFrom = from;
        skipTo = to;
    }

    /** Execute is about to issue instruction seq: true when it belongs to
     *  a region that resolved true (it must be dropped, not executed). */
    bool
    nullified(uint64_t seq)
    {
        while (!nullRanges.empty() && nullRanges.front().second < seq)
            nullRanges.pop_front();
        return !nullRanges.empty() && nullRanges.front().first <= seq;
    }

    void
    onIssue(uint64_t seq)
    {
        for (Record &r : records) {
            if (r.verdict == Verdict::Skippable &&
                r.state == State::Waiting && seq > r.precedingSeq &&
                seq <= r.precedingSeq + r.fetched)
                r.issued = true;
        }
    }

    /** Resolve every waiting skippable region whose condition writers
     *  (those fetched before precedingPC) have all written back: call
     *  after each SVC update.  Writeback is in order, so the SpRF bits
     *  are then exactly the condition's value at precedingPC. */
    void
    resolve()
    {
        for (Record &r : records) {
            if (r.verdict != Verdict::Skippable || r.state != State::Waiting)
                continue;
            bool settled = true;
            for (unsigned k = 0; k < r.entry->numOperands; k++)
                settled = settled &&
                    !sprf.inFlightUpTo(r.entry->operand[k], r.precedingSeq);
            if (settled)
                decideRegion(r);
        }
    }

    /** Instruction seq committed (after its SVC update): count its SASA
     *  hit, if any. */
    void
    onCommit(uint64_t seq)
    {
        sprf.retireUpTo(seq);
        resolve();
        if (table.loaded())
            counters.sasaLookups++;
        while (!records.empty() && records.front().precedingSeq < seq) {
            /* not committed: discarded on a wrong path, or nullified as
             * part of another region that was skipped (then counted) */
            if (records.front().precedingNullified)
                count(records.front());
            records.pop_front();
        }
        if (records.empty() || records.front().precedingSeq != seq)
            return;
        count(records.front());
        records.pop_front();
    }

    /** Execute changed the stream (mispredict, fault): every instruction
     *  not yet committed is gone. */
    void
    onStreamChange()
    {
        records.clear();
        nullRanges.clear();
        skipArmed = false;
        sprf.squashInFlight();
    }

  private:
    void
    count(Record &r)
    {
        if (r.verdict == Verdict::Skippable && r.state == State::Waiting) {
            /* a condition writer vanished without writeback (cannot happen
             * with in-order commit; resolved here, too late to skip) */
            r.issued = true;
            decideRegion(r);
        }
        counters.sasaHits += 1 + r.chainHits;
        switch (r.verdict) {
          case Verdict::Execute:
            break;
          case Verdict::Skip:
            counters.regionsSkipped += r.regions;
            counters.instsSkipped += r.insts;
            break;
          case Verdict::Skippable:
            counters.regionsSkippable++;
            if (r.state == State::True) {
                counters.skippableResolvedTrue++;
                counters.regionsSkipped += 1 + r.regions;   // + chained
                counters.squashedInsts += r.nullifiedInsts;
                counters.instsSkipped +=
                    r.entry->instsToSkip - r.nullifiedInsts + r.insts;
            } else if (r.state == State::TooLate) {
                counters.skippableTooLate++;
            }
            break;
        }
    }

    bool skipArmed = false;
    uint64_t skipFrom = 0, skipTo = 0;
    /** fetch sequence number ranges to drop at issue, ascending */
    std::deque<std::pair<uint64_t, uint64_t>> nullRanges;

    void
    decideRegion(Record &r)
    {
        const Entry &e = *r.entry;
        if (!holds(e, sprf)) {
            r.state = State::False;
            return;
        }
        bool inside = !r.leftRegion && r.fetched < e.instsToSkip;
        /* fetch produced the whole region and went on (if at all) at its
         * end: nullifying the region leaves the younger insts valid */
        bool whole = r.fetched == e.instsToSkip && !r.takenInRegion &&
            (!r.leftRegion || r.continued);
        if (r.issued || !(inside || (nullifyUnissued && whole))) {
            r.state = State::TooLate;
            return;
        }
        r.state = State::True;
        r.nullifiedInsts = r.fetched;
        if (r.fetched) {
            uint64_t lo = r.precedingSeq + 1, hi = r.precedingSeq + r.fetched;
            /* regions may resolve out of order: keep the ranges sorted */
            auto at = nullRanges.end();
            while (at != nullRanges.begin() && std::prev(at)->first > lo)
                --at;
            nullRanges.insert(at, {lo, hi});
            sprf.nullify(lo, hi);
            for (Record &other : records) {
                if (other.precedingSeq >= lo && other.precedingSeq <= hi)
                    other.precedingNullified = true;
            }
        }
        if (!inside)
            return;
        /* Fetch2 has not produced the region's last instruction, which
         * may be the precedingPC of the next region: chain into it as a
         * definite skip does (its condition may have settled with this
         * one). */
        uint64_t target = e.regionEnd();
        const Entry *cur = &e;
        for (size_t guard = 0; guard < table.entries.size(); guard++) {
            const Entry *next = table.lookup(target - 4);
            if (!next || next == cur)
                break;
            r.chainHits++;
            if (evaluate(*next, sprf) != Verdict::Skip)
                break;
            r.regions++;
            r.insts += next->instsToSkip;
            target = next->regionEnd();
            cur = next;
        }
        armFetchSkip(e.regionStart(), target);
    }
};

} // namespace sparce
} // namespace gem5

#endif // __CPU_SPARCE_SPARCE_CORE_HH__
