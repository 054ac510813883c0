/*
 * SPARCE's Pre-identify and Skip Redundancy Unit with its SASA table and SpRF view (dissertation
 * §4.1.2-§4.1.3, Figs. 4.3-4.5), in C++: the native twin of sparce_sim/sparce.py (`decide` and the
 * engine's region hook).  One unit, one interface: `lookup` is called when fetch reaches a region's
 * first PC and answers whether the region is skipped, and what it costs fetch.
 *
 * isSparse is the Sparse Value Checker's verdict on the architectural value (all bits zero; -0.0 is
 * not sparse); regUpdInFlight is "the youngest writer's writeback cycle is after the cycle
 * precedingPC was fetched", both as in sparce.py.
 */
#ifndef AXSIM_PSRU_HH
#define AXSIM_PSRU_HH

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "minor.hh"

namespace axsim {

enum CondOp : uint8_t { COND_SINGLE = 0, COND_OR = 1, COND_AND = 2 };

struct SpRFOperand {
    int rid = 0;          // engine register id (ready[] index)
    int ucreg = 0;        // unicorn register to read
    int lane = -1;        // 32-bit lane, -1 = the whole register
    bool vector = false;
    bool lane_view = false;   // ucreg is the 32-bit S view of lane 0
};

struct Region {
    uint64_t preceding_pc = 0, start = 0, end = 0;
    unsigned insts = 0;
    uint8_t op = COND_SINGLE;
    unsigned nops = 0;
    SpRFOperand opnd[2];
    uint64_t skips = 0;       // regions skipped at this entry (stats: skips by precedingPC)
};

struct SparceCounters {
    uint64_t sasa_loads = 0, lookups = 0, hits = 0, regions_skipped = 0, regions_skippable = 0,
             skippable_resolved_true = 0, insts_skipped = 0, squashed_insts = 0;
};

/* The PSRU's verdict for one hit (sparce.Decision). */
struct Decision {
    bool skip = false;
    bool skippable = false;
    unsigned squashed = 0;    // region insts fetched before it resolved, dropped at issue
};

/* One SASA table as loaded by a SASA-LD: where it was read, its bytes, its regions by start PC. */
struct Table {
    uint64_t addr = 0;
    std::string raw;
    std::unordered_map<uint64_t, Region> regions;
};

class Psru {
  public:
    SparceCounters counters;
    Table *current = nullptr;          // the hardware table's contents (null before any SASA-LD)

    bool loaded() const { return current != nullptr; }
    std::unordered_map<uint64_t, Region> &regions() { return current->regions; }

    /* The table a SASA-LD of `raw` at `addr` loads, if it was validated before (else null). */
    Table *find(uint64_t addr, const std::string &raw) {
        for (auto &t : tables)
            if (t->addr == addr && t->raw == raw) return t.get();
        return nullptr;
    }

    /* Keep a newly validated table. */
    Table *add(uint64_t addr, std::string raw, std::unordered_map<uint64_t, Region> regions) {
        tables.push_back(std::make_unique<Table>());
        Table *t = tables.back().get();
        t->addr = addr;
        t->raw = std::move(raw);
        t->regions = std::move(regions);
        return t;
    }

    /* Skips by precedingPC over every table loaded. */
    std::unordered_map<uint64_t, uint64_t> all_skips() const {
        std::unordered_map<uint64_t, uint64_t> out;
        for (auto &t : tables)
            for (auto &kv : t->regions)
                if (kv.second.skips) out[kv.second.preceding_pc] += kv.second.skips;
        return out;
    }

    /* Fig. 4.5 for a hit: operand i was written back at cycle ready[i] and is sparse[i];
     * fetch_pre is the cycle precedingPC was fetched; first_issue the earliest cycle the region's
     * first instruction could issue (sparce.decide). */
    Decision decide(const Region &r, int64_t fetch_pre, const int64_t *ready, const bool *sparse,
                    const Pipeline &pipe, int64_t first_issue) const {
        Decision d;
        bool all_settled = true, any_settled_sparse = false, all_settled_sparse = true;
        bool any_sparse = false, all_sparse = true;
        int64_t settle = 0;
        for (unsigned i = 0; i < r.nops; i++) {
            any_sparse |= sparse[i];
            all_sparse &= sparse[i];
            if (ready[i] > settle) settle = ready[i];
            if (ready[i] <= fetch_pre) {
                any_settled_sparse |= sparse[i];
                all_settled_sparse &= sparse[i];
            } else {
                all_settled = false;
            }
        }
        const bool is_and = r.op == COND_AND;
        if (all_settled || (r.op == COND_OR && any_settled_sparse) || (is_and && !all_settled_sparse)) {
            d.skip = is_and ? all_settled_sparse : any_settled_sparse;
            return d;
        }
        d.skippable = true;
        if (!(is_and ? all_sparse : any_sparse))
            return d;                                   // resolves false: execute in order
        if (first_issue < settle)
            return d;                                   // a region inst issued first: too late
        d.skip = true;
        d.squashed = pipe.fetched_before(r.insts, settle);
        return d;
    }

    /* Book a skip of region r. */
    void record_skip(Region &r, const Decision &d) {
        counters.regions_skipped++;
        counters.skippable_resolved_true += d.skippable;
        counters.squashed_insts += d.squashed;
        counters.insts_skipped += r.insts - d.squashed;
        r.skips++;
    }

  private:
    std::vector<std::unique_ptr<Table>> tables;   // every table validated so far
};

}  // namespace axsim

#endif
