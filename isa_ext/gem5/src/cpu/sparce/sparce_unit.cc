/*
 * SparceUnit: gem5 glue around sparce_core.hh.  See sparce_unit.hh.
 */

#include "cpu/sparce/sparce_unit.hh"

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "arch/arm/regs/int.hh"
#include "arch/arm/regs/misc.hh"
#include "arch/arm/regs/vec.hh"
#include "base/logging.hh"
#include "base/trace.hh"
#include "cpu/base.hh"
#include "cpu/reg_class.hh"
#include "cpu/static_inst.hh"
#include "cpu/thread_context.hh"
#include "debug/Sparce.hh"
#include "mem/translating_port_proxy.hh"

namespace gem5
{

namespace sparce
{

namespace
{

/** One unit per CPU; SASA-LD finds it through the executing context. */
std::unordered_map<const BaseCPU *, SparceUnit *> &
registry()
{
    static std::unordered_map<const BaseCPU *, SparceUnit *> units;
    return units;
}

/** An architectural register the SpRF tracks: X0-X30 or V0-V31. */
struct SpReg
{
    bool valid = false;
    bool isV = false;
    unsigned num = 0;
};

SpReg
spRegOf(const RegId &reg)
{
    SpReg r;
    switch (reg.classValue()) {
      case IntRegClass:
        /* AArch64 X0-X30 are the unflattened int indices 0-30 (X31 is
         * SP or XZR and has no SpRF entry). */
        if (reg.index() < NUM_X_REGS) {
            r.valid = true;
            r.num = reg.index();
        }
        break;
      case VecRegClass:
        if (reg.index() < NUM_V_REGS) {
            r.valid = true;
            r.isV = true;
            r.num = reg.index();
        }
        break;
      case VecElemClass:
        if (reg.index() / ArmISA::NumVecElemPerVecReg < NUM_V_REGS) {
            r.valid = true;
            r.isV = true;
            r.num = reg.index() / ArmISA::NumVecElemPerVecReg;
        }
        break;
      default:
        break;
    }
    return r;
}

/** The low 128 bits (or 64 for X) of a register, little endian. */
unsigned
readValue(ThreadContext *tc, const RegId &reg, const SpReg &r,
          uint8_t out[16])
{
    std::memset(out, 0, 16);
    if (!r.isV) {
        RegVal v = tc->getReg(ArmISA::intRegClass[r.num]);
        for (unsigned i = 0; i < 8; i++)
            out[i] = uint8_t(v >> (8 * i));
        return 8;
    }
    if (reg.classValue() == VecElemClass) {
        /* Element view: four 32-bit elements make the Neon register. */
        for (unsigned l = 0; l < VECTOR_LANES; l++) {
            RegId elem = ArmISA::vecElemClass[
                r.num * ArmISA::NumVecElemPerVecReg + l];
            RegVal v = tc->getReg(elem);
            for (unsigned i = 0; i < 4; i++)
                out[4 * l + i] = uint8_t(v >> (8 * i));
        }
        return 16;
    }
    RegId vreg = ArmISA::vecRegClass[r.num];
    std::vector<uint8_t> buf(vreg.regClass().regBytes());
    tc->getReg(vreg, buf.data());
    std::memcpy(out, buf.data(), std::min<size_t>(16, buf.size()));
    return 16;
}

} // anonymous namespace

SparceUnit::SparceUnit(const Params &p)
    : SimObject(p),
      _enabled(p.enabled),
      sasaEntries(p.sasaEntries),
      sprfEntries(p.sprfEntries),
      stats(this)
{
    psru.nullifyUnissued = p.nullifyUnissued;
    fatal_if(sasaEntries < 1 || sasaEntries > MAX_TABLE_SIZE,
             "%s: sasaEntries must be 1-%d", name(), MAX_TABLE_SIZE);
    fatal_if(sprfEntries < 1 || sprfEntries > NUM_V_REGS,
             "%s: sprfEntries must be 1-%d", name(), NUM_V_REGS);
}

void
SparceUnit::attach(BaseCPU *the_cpu)
{
    fatal_if(cpu && cpu != the_cpu, "%s is attached to two CPUs", name());
    fatal_if(the_cpu->numThreads != 1,
             "%s: SPARCE supports one hardware thread per CPU", name());
    cpu = the_cpu;
    lineBytes = the_cpu->cacheLineSize();
    registry()[the_cpu] = this;
}

SparceUnit *
SparceUnit::forCpu(const BaseCPU *the_cpu)
{
    auto it = registry().find(the_cpu);
    return it == registry().end() ? nullptr : it->second;
}

void
SparceUnit::noteDests(ThreadContext *tc, const StaticInstPtr &inst,
                      InstSeqNum seq)
{
    if (inst->isMacroop()) {
        /* Minor decomposes macroops after Fetch2: take the union of the
         * microops' destinations. */
        for (MicroPC upc = 0; ; upc++) {
            StaticInstPtr micro = inst->fetchMicroop(upc);
            noteDests(tc, micro, seq);
            if (micro->isLastMicroop())
                break;
        }
        return;
    }
    for (int i = 0; i < inst->numDestRegs(); i++) {
        SpReg r = spRegOf(inst->destRegIdx(i));
        if (r.valid)
            psru.sprf.noteFetchedWriter(r.isV, r.num, seq);
    }
}

bool
SparceUnit::fetched(ThreadContext *tc, const StaticInstPtr &inst,
                    const PCStateBase &pc, InstSeqNum seq,
                    bool predicted_taken, Addr line_end,
                    std::unique_ptr<PCStateBase> &target)
{
    noteDests(tc, inst, seq);
    if (!_enabled)
        return false;
    if (psru.table.loaded() && addressSpace(tc) != tableOwner) {
        /* another process (or the kernel on its behalf with another
         * TTBR0): the table is not its own */
        stats.otherSpaceFetches++;
        return false;
    }
    FetchAction act = psru.onFetch(pc.instAddr(), seq, predicted_taken);
    if (!act.redirect)
        return false;
    if (act.target < line_end + lineBytes) {
        /* The region ends in this line or the next: Fetch2 steps over it
         * in the lines Fetch1 streams anyway, no stream change. */
        DPRINTF(Sparce, "PSRU: skip after precedingPC %#x, Fetch2 resumes "
                "at %#x\n", pc.instAddr(), act.target);
        psru.armFetchSkip(pc.instAddr() + 4, act.target);
        return false;
    }
    DPRINTF(Sparce, "PSRU: skip after precedingPC %#x, Fetch1 redirect to "
            "%#x\n", pc.instAddr(), act.target);
    psru.counters.fetchRedirects++;
    target.reset(pc.clone());
    target->set(act.target);
    return true;
}

RegVal
SparceUnit::addressSpace(ThreadContext *tc)
{
    return tc->readMiscRegNoEffect(ArmISA::MISCREG_TTBR0_EL1);
}

void
SparceUnit::streamChanged()
{
    psru.onStreamChange();
}

void
SparceUnit::svcDest(ThreadContext *tc, const RegId &reg, InstSeqNum seq)
{
    SpReg r = spRegOf(reg);
    if (!r.valid)
        return;
    uint8_t value[16];
    unsigned bytes = readValue(tc, reg, r, value);
    psru.sprf.writeback(r.isV, r.num, seq, value, bytes);
}

void
SparceUnit::wroteBack(ThreadContext *tc, const StaticInstPtr &inst,
                      InstSeqNum seq)
{
    for (int i = 0; i < inst->numDestRegs(); i++)
        svcDest(tc, inst->destRegIdx(i), seq);
    if (_enabled)
        psru.resolve();
}

void
SparceUnit::committed(InstSeqNum seq)
{
    if (_enabled)
        psru.onCommit(seq);
}

void
SparceUnit::loadSpRFFromArchState(ThreadContext *tc)
{
    /* The SVC has seen every write since reset; reading the architectural
     * values once when a table is loaded gives the same isSparse bits for
     * registers not written since the unit started observing. */
    uint8_t value[16];
    for (unsigned n = 0; n < NUM_X_REGS; n++) {
        RegId reg = ArmISA::intRegClass[n];
        SpReg r = spRegOf(reg);
        unsigned bytes = readValue(tc, reg, r, value);
        if (psru.sprf.x[n].lastWrittenBack == 0)
            psru.sprf.setValue(false, n, value, bytes);
    }
    for (unsigned n = 0; n < NUM_V_REGS; n++) {
        RegId reg = ArmISA::vecRegClass[n];
        SpReg r = spRegOf(reg);
        unsigned bytes = readValue(tc, reg, r, value);
        if (psru.sprf.v[n].lastWrittenBack == 0)
            psru.sprf.setValue(true, n, value, bytes);
    }
}

void
SparceUnit::sasaLoad(ThreadContext *tc, Addr pc, Addr table_addr,
                     unsigned size)
{
    if (!_enabled) {
        DPRINTF(Sparce, "SASA-LD at %#x ignored: SPARCE disabled\n", pc);
        return;
    }
    std::vector<uint8_t> raw(size_t(size) * ENTRY_BYTES);
    TranslatingPortProxy proxy(tc);
    if (!proxy.tryReadBlob(table_addr, raw.data(), raw.size())) {
        fatal("SASA-LD at %#x reads %d entries at unmapped address %#x",
              pc, size, table_addr);
    }
    std::string err;
    if (!psru.loadTable(raw.data(), size, sasaEntries, sprfEntries, err))
        fatal("SASA-LD at %#x: %s", pc, err);
    loadSpRFFromArchState(tc);
    tableOwner = addressSpace(tc);
    psru.counters.sasaLoads++;
    DPRINTF(Sparce, "SASA-LD at %#x loaded %d entries from %#x\n", pc, size,
            table_addr);
}

void
SparceUnit::preDumpStats()
{
    SimObject::preDumpStats();
    const Counters &c = psru.counters;
    stats.enabled = _enabled ? 1 : 0;
    stats.sasaLoads = c.sasaLoads - base.sasaLoads;
    stats.sasaLookups = c.sasaLookups - base.sasaLookups;
    stats.sasaHits = c.sasaHits - base.sasaHits;
    stats.regionsSkipped = c.regionsSkipped - base.regionsSkipped;
    stats.regionsSkippable = c.regionsSkippable - base.regionsSkippable;
    stats.skippableResolvedTrue =
        c.skippableResolvedTrue - base.skippableResolvedTrue;
    stats.instsSkipped = c.instsSkipped - base.instsSkipped;
    stats.squashedInsts = c.squashedInsts - base.squashedInsts;
    stats.skippableTooLate = c.skippableTooLate - base.skippableTooLate;
    stats.fetchRedirects = c.fetchRedirects - base.fetchRedirects;
}

void
SparceUnit::resetStats()
{
    SimObject::resetStats();
    base = psru.counters;
}

SparceUnit::SparceStats::SparceStats(SparceUnit *unit)
    : statistics::Group(unit),
      ADD_STAT(enabled, statistics::units::Count::get(),
               "SPARCE extensions enabled"),
      ADD_STAT(sasaLoads, statistics::units::Count::get(),
               "SASA-LD instructions executed"),
      ADD_STAT(sasaLookups, statistics::units::Count::get(),
               "committed instructions while a SASA table is loaded"),
      ADD_STAT(sasaHits, statistics::units::Count::get(),
               "SASA table hits at committed precedingPCs (and chained "
               "regions)"),
      ADD_STAT(regionsSkipped, statistics::units::Count::get(),
               "redundant regions skipped"),
      ADD_STAT(regionsSkippable, statistics::units::Count::get(),
               "regions marked skippable (condition register update in "
               "flight)"),
      ADD_STAT(skippableResolvedTrue, statistics::units::Count::get(),
               "skippable regions whose condition resolved true in time "
               "(their region skipped)"),
      ADD_STAT(instsSkipped, statistics::units::Count::get(),
               "region instructions skipped without being fetched"),
      ADD_STAT(squashedInsts, statistics::units::Count::get(),
               "region instructions fetched, then nullified before issue "
               "when the region resolved true"),
      ADD_STAT(skippableTooLate, statistics::units::Count::get(),
               "skippable regions whose condition held, but resolved "
               "after a region instruction issued (gem5 only)"),
      ADD_STAT(fetchRedirects, statistics::units::Count::get(),
               "definite skips that needed a Fetch1 redirect (region end "
               "beyond the next line; gem5 only)"),
      ADD_STAT(otherSpaceFetches, statistics::units::Count::get(),
               "instructions fetched while the SASA table belonged to another "
               "address space (TTBR0_EL1): no PSRU lookup (full system)")
{
}

} // namespace sparce
} // namespace gem5
