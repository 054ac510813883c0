/*
 * SparceUnit: the SPARCE extensions (SpRF, SVC, SASA table, PSRU) as a gem5
 * SimObject that MinorCPU's Fetch2 and Execute stages call into, and that the
 * AArch64 SASA-LD instruction fills.  Part of the axsim gem5 backend
 * (isa_ext/gem5/README.md).  NOT COMPILED in the axsim repository: gem5
 * cannot be built there; see the README for what is untested.
 *
 * Target: gem5 v24.0.0.1 (b1a44b89c7bae73fae2dc547bc1f871452075b85), ARM
 * builds (build/ARM/gem5.opt), MinorCPU with one hardware thread.
 */

#ifndef __CPU_SPARCE_SPARCE_UNIT_HH__
#define __CPU_SPARCE_SPARCE_UNIT_HH__

#include <memory>

#include "base/statistics.hh"
#include "base/types.hh"
#include "cpu/inst_seq.hh"
#include "cpu/sparce/sparce_core.hh"
#include "cpu/static_inst_fwd.hh"
#include "params/SparceUnit.hh"
#include "sim/sim_object.hh"

namespace gem5
{

class BaseCPU;
class PCStateBase;
class ThreadContext;

namespace sparce
{

class SparceUnit : public SimObject
{
  public:
    PARAMS(SparceUnit);
    SparceUnit(const Params &p);

    /** MinorCPU's constructor hands itself over; SASA-LD finds the unit of
     *  the executing thread's CPU through forCpu(). */
    void attach(BaseCPU *cpu);
    static SparceUnit *forCpu(const BaseCPU *cpu);

    bool enabled() const { return _enabled; }

    /* ---- Fetch2 ---------------------------------------------------- */

    /** An instruction was decoded in Fetch2 (after branch prediction).
     *  Marks its destination registers in flight in the SpRF and runs the
     *  PSRU lookup.  Returns true when fetch must skip to `target` (a clone
     *  of `pc` set to the region end). */
    bool fetched(ThreadContext *tc, const StaticInstPtr &inst,
                 const PCStateBase &pc, InstSeqNum seq, bool predicted_taken,
                 std::unique_ptr<PCStateBase> &target);

    /** Execute changed the stream: everything not yet written back is
     *  gone, pending skippable regions too. */
    void streamChanged();

    /* ---- Execute ----------------------------------------------------- */

    /** Sparse Value Checker: `inst` (fetch sequence number seq) completed
     *  and wrote its destination registers. */
    void wroteBack(ThreadContext *tc, const StaticInstPtr &inst,
                   InstSeqNum seq);

    /** `inst` committed without a stream change; if it is the precedingPC
     *  of a skippable region that resolved true, returns true and sets
     *  `target` to the region end (Execute squashes and redirects). */
    bool committed(const StaticInstPtr &inst, const PCStateBase &pc,
                   InstSeqNum seq, std::unique_ptr<PCStateBase> &target);

    /* ---- SASA-LD ----------------------------------------------------- */

    /** SASA-LD [Xn], #size executed at `pc`: read `size` 16-byte rows at
     *  `table_addr` into the SASA table.  fatal() on a malformed table. */
    void sasaLoad(ThreadContext *tc, Addr pc, Addr table_addr,
                  unsigned size);

    void preDumpStats() override;
    void resetStats() override;

  private:
    const bool _enabled;
    const unsigned sasaEntries;
    const unsigned sprfEntries;
    BaseCPU *cpu = nullptr;

    Psru psru;
    /** counters at the last statistics reset */
    Counters base;

    void noteDests(ThreadContext *tc, const StaticInstPtr &inst,
                   InstSeqNum seq);
    void svcDest(ThreadContext *tc, const RegId &reg, InstSeqNum seq);
    void loadSpRFFromArchState(ThreadContext *tc);

    struct SparceStats : public statistics::Group
    {
        SparceStats(SparceUnit *unit);

        statistics::Scalar enabled;
        statistics::Scalar sasaLoads;
        statistics::Scalar sasaLookups;
        statistics::Scalar sasaHits;
        statistics::Scalar regionsSkipped;
        statistics::Scalar regionsSkippable;
        statistics::Scalar skippableResolvedTrue;
        statistics::Scalar instsSkipped;
        statistics::Scalar squashedInsts;
    } stats;
};

} // namespace sparce
} // namespace gem5

#endif // __CPU_SPARCE_SPARCE_UNIT_HH__
