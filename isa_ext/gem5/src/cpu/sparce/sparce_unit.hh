/*
 * SparceUnit: the SPARCE extensions (SpRF, SVC, SASA table, PSRU) as a gem5
 * SimObject that MinorCPU's Fetch2 and Execute stages call into, and that the
 * AArch64 SASA-LD instruction fills.  Part of the axsim gem5 backend
 * (isa_ext/gem5/README.md).
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
#include "cpu/reg_class.hh"
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
     *  PSRU lookup.  A skip whose end lies in this line or the next one
     *  (line_end: the end of the line Fetch2 holds) is left to Fetch2's
     *  own skip (fetchSkip); a farther one returns true with `target` (a
     *  clone of `pc` set to the region end) for a Fetch1 redirect. */
    bool fetched(ThreadContext *tc, const StaticInstPtr &inst,
                 const PCStateBase &pc, InstSeqNum seq, bool predicted_taken,
                 Addr line_end, std::unique_ptr<PCStateBase> &target);

    /** Fetch2 is about to decode at `pc`: true when it must move on to
     *  `to` instead (the rest of a skipped region). */
    bool fetchSkip(Addr pc, Addr &to) { return psru.fetchSkipFor(pc, to); }
    void fetchSkipDone() { psru.fetchSkipDone(); }

    /** Execute changed the stream: everything not yet written back is
     *  gone, pending skippable regions too. */
    void streamChanged();

    /* ---- Execute ----------------------------------------------------- */

    /** Issue: true when the inst belongs to a region that resolved true
     *  (Execute drops it instead of issuing it). */
    bool nullified(InstSeqNum seq) { return _enabled && psru.nullified(seq); }
    /** Issue: the inst went to a functional unit. */
    void issued(InstSeqNum seq) { if (_enabled) psru.onIssue(seq); }

    /** Sparse Value Checker: `inst` (fetch sequence number seq) completed
     *  and wrote its destination registers; waiting skippable regions
     *  whose condition writers are now all done resolve here. */
    void wroteBack(ThreadContext *tc, const StaticInstPtr &inst,
                   InstSeqNum seq);

    /** The last microop of instruction seq committed: count its SASA hit. */
    void committed(InstSeqNum seq);

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
    unsigned lineBytes = 64;

    Psru psru;
    /** The address space whose SASA-LD loaded the table: TTBR0_EL1 (the
     *  user page-table base and, in Linux, the ASID).  The table is keyed
     *  by PC, so in full system it must not serve another process (one
     *  that runs after the program exits, or between its time slices):
     *  fetches from another TTBR0 make no PSRU lookup.  In SE mode the
     *  register never changes. */
    RegVal tableOwner = 0;
    static RegVal addressSpace(ThreadContext *tc);
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
        statistics::Scalar skippableTooLate;
        statistics::Scalar fetchRedirects;
        statistics::Scalar otherSpaceFetches;
    } stats;
};

} // namespace sparce
} // namespace gem5

#endif // __CPU_SPARCE_SPARCE_UNIT_HH__
