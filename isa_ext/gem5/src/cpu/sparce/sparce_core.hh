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
 * Semantics (the same as sparce_sim/sparce.py, see isa_ext/gem5/README.md):
 *  - SpRF: per X register one isSparse bit, per V register one bit per
 *    32-bit lane, plus regUpdInFlight, kept as "sequence number of the
 *    youngest fetched writer" vs "sequence number of the youngest writer that
 *    has written back".
 *  - SVC: a value is sparse when all of its bits are zero (-0.0 is not sparse).
 *  - PSRU: on fetching precedingPC (not predicted taken) with a table hit:
 *    (a) every condition register settled and the condition holds -> skip;
 *    (b) settled registers already decide it (OR with a settled sparse
 *        operand -> skip, AND with a settled dense one -> execute);
 *    (c) otherwise the region is "skippable": fetch continues into it and the
 *        decision is taken when precedingPC commits (the condition writers
 *        are older, so they have written back by then); if it holds and fetch
 *        is still inside the region, the region instructions fetched so far
 *        are squashed and fetch resumes at the region end.
 */

#ifndef __CPU_SPARCE_SPARCE_CORE_HH__
#define __CPU_SPARCE_SPARCE_CORE_HH__

#include <cstdint>
#include <cstring>
#include <deque>
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
        /** sequence number of the youngest fetched writer */
        uint64_t lastFetchedWriter = 0;
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
        if (Reg *r = reg(is_v, n)) {
            if (seq > r->lastFetchedWriter)
                r->lastFetchedWriter = seq;
        }
    }

    /** SVC: the writer with sequence number seq wrote `bytes` bytes of
     *  little-endian value (8 for X, 16 for V) at writeback. */
    void
    writeback(bool is_v, unsigned n, uint64_t seq, const uint8_t *value,
              unsigned bytes)
    {
        Reg *r = reg(is_v, n);
        if (!r || seq < r->lastWrittenBack)
            return;
        r->lastWrittenBack = seq;
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
        return r && r->lastFetchedWriter > r->lastWrittenBack;
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

    /** A stream change discarded every instruction not yet written back:
     *  nothing is in flight any more. */
    void
    squashInFlight()
    {
        for (auto &r : x)
            r.lastFetchedWriter = r.lastWrittenBack;
        for (auto &r : v)
            r.lastFetchedWriter = r.lastWrittenBack;
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

struct Counters
{
    uint64_t sasaLoads = 0;
    uint64_t sasaLookups = 0;
    uint64_t sasaHits = 0;
    uint64_t regionsSkipped = 0;
    uint64_t regionsSkippable = 0;
    uint64_t skippableResolvedTrue = 0;
    uint64_t instsSkipped = 0;
    uint64_t squashedInsts = 0;
};

struct FetchAction
{
    bool redirect = false;      // fetch must continue at `target`
    uint64_t target = 0;
};

struct CommitAction
{
    bool squash = false;        // discard younger insts, fetch from target
    uint64_t target = 0;
    unsigned squashed = 0;
};

/** The PSRU with its SASA table and SpRF, for one hardware thread. */
class Psru
{
  public:
    SasaTable table;
    SpRF sprf;
    Counters counters;

    struct Pending
    {
        uint64_t precedingSeq;
        const Entry *entry;
        unsigned fetched;       // region instructions fetched so far
        bool leftRegion;        // fetch went somewhere outside the region
    };
    std::deque<Pending> pending;

    /** Fetch produced the instruction at `pc` with sequence number `seq`;
     *  call after branch prediction.  A redirect means: the instructions
     *  after this one up to `target` must not be fetched. */
    FetchAction
    onFetch(uint64_t pc, uint64_t seq, bool predicted_taken)
    {
        FetchAction act;
        if (!table.loaded())
            return act;
        counters.sasaLookups++;
        if (!pending.empty() && !pending.back().leftRegion) {
            Pending &p = pending.back();
            if (p.precedingSeq != seq) {
                if (pc >= p.entry->regionStart() &&
                    pc < p.entry->regionEnd())
                    p.fetched++;
                else
                    p.leftRegion = true;
            }
        }
        if (predicted_taken)
            return act;               // a taken branch never enters its region
        const Entry *e = table.lookup(pc);
        if (!e)
            return act;
        counters.sasaHits++;
        switch (evaluate(*e, sprf)) {
          case Verdict::Execute:
            return act;
          case Verdict::Skippable:
            counters.regionsSkippable++;
            pending.push_back({seq, e, 0, false});
            return act;
          case Verdict::Skip:
            break;
        }
        act.redirect = true;
        skipWhole(*e);
        act.target = e->regionEnd();
        /* Chained regions: the landing PC may itself start a region whose
         * precedingPC (the last skipped instruction) was never fetched.
         * Only definite skips chain. */
        for (size_t guard = 0; guard < table.entries.size(); guard++) {
            const Entry *next = table.lookup(act.target - 4);
            if (!next || next == e)
                break;
            counters.sasaHits++;
            if (evaluate(*next, sprf) != Verdict::Skip)
                break;
            skipWhole(*next);
            act.target = next->regionEnd();
            e = next;
        }
        return act;
    }

    /** The instruction with sequence number seq committed without changing
     *  the stream (after the SVC update of its own results). */
    CommitAction
    onCommit(uint64_t seq)
    {
        CommitAction act;
        while (!pending.empty() && pending.front().precedingSeq < seq)
            pending.pop_front();          // stale: discarded on a squash
        if (pending.empty() || pending.front().precedingSeq != seq)
            return act;
        Pending p = pending.front();
        pending.pop_front();
        /* Commit is in order, so every writer older than precedingPC has
         * written back and no younger one has: the SpRF bits are exactly
         * the condition's value at precedingPC (younger fetched writers,
         * e.g. the next iteration's load, only mark the register in
         * flight, which does not matter here). */
        if (!holds(*p.entry, sprf) || p.leftRegion ||
            p.fetched >= p.entry->instsToSkip)
            return act;                   // resolved false / too late
        counters.skippableResolvedTrue++;
        counters.regionsSkipped++;
        counters.squashedInsts += p.fetched;
        counters.instsSkipped += p.entry->instsToSkip - p.fetched;
        act.squash = true;
        act.target = p.entry->regionEnd();
        act.squashed = p.fetched;
        /* the squash is a stream change: nothing else stays in flight */
        onStreamChange();
        return act;
    }

    /** Execute changed the stream (mispredict, fault, PSRU squash). */
    void
    onStreamChange()
    {
        pending.clear();
        sprf.squashInFlight();
    }

  private:
    void
    skipWhole(const Entry &e)
    {
        counters.regionsSkipped++;
        counters.instsSkipped += e.instsToSkip;
    }
};

} // namespace sparce
} // namespace gem5

#endif // __CPU_SPARCE_SPARCE_CORE_HH__
