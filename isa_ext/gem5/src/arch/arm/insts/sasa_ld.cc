/*
 * SASA-LD [Xn], #size (axsim gem5 backend).  NOT COMPILED in the axsim
 * repository.  See sasa_ld.hh and isa_ext/gem5/README.md.
 *
 * Timing: SASA-LD runs once at a kernel's entry, so it is modelled as one
 * IntAlu operation that reads the table functionally at commit.  It is
 * serialising (IsSerializeAfter), so Minor refetches after it and every
 * later fetch sees the new table.  On a CPU without a SparceUnit, or with
 * the unit disabled, it is a no-op, which is what the baseline runs need
 * (the same binary runs with SPARCE off).
 */

#include "arch/arm/insts/sasa_ld.hh"

#include <sstream>
#include <type_traits>

#include "arch/arm/regs/int.hh"
#include "cpu/exec_context.hh"
#include "cpu/sparce/sparce_unit.hh"
#include "cpu/thread_context.hh"

namespace gem5
{

namespace ArmISA
{

SasaLd64::SasaLd64(ExtMachInst mach_inst, RegIndex rn, unsigned size)
    : ArmStaticInst("sasa_ld", mach_inst, IntAluOp), base(rn), entries(size)
{
    setRegIdxArrays(
        reinterpret_cast<RegIdArrayPtr>(
            &std::remove_pointer_t<decltype(this)>::srcRegIdxArr),
        nullptr);
    _numSrcRegs = 0;
    _numDestRegs = 0;
    setSrcRegIdx(_numSrcRegs++, int_reg::x(base));
    flags[IsInteger] = true;
    flags[IsNonSpeculative] = true;
    flags[IsSerializeAfter] = true;
}

Fault
SasaLd64::execute(ExecContext *xc, trace::InstRecord *trace_data) const
{
    const Addr table = xc->getRegOperand(this, 0);
    ThreadContext *tc = xc->tcBase();
    if (auto *unit = sparce::SparceUnit::forCpu(tc->getCpuPtr()))
        unit->sasaLoad(tc, xc->pcState().instAddr(), table, entries);
    return NoFault;
}

std::string
SasaLd64::generateDisassembly(
        Addr pc, const loader::SymbolTable *symtab) const
{
    std::stringstream ss;
    printMnemonic(ss, "", false);
    ss << "[";
    printIntReg(ss, int_reg::x(base).index(), 64);
    ss << "], #" << entries;
    return ss.str();
}

} // namespace ArmISA
} // namespace gem5
