/*
 * SASA-LD [Xn], #size: the SPARCE instruction that loads the SASA table
 * (dissertation eq. 4.1; encoding in isa_ext/encoding.py and
 * cpu/sparce/sparce_core.hh).  axsim gem5 backend, NOT COMPILED in the axsim
 * repository.  Target: gem5 v24.0.0.1.
 */

#ifndef __ARCH_ARM_INSTS_SASA_LD_HH__
#define __ARCH_ARM_INSTS_SASA_LD_HH__

#include <string>

#include "arch/arm/insts/static_inst.hh"

namespace gem5
{

namespace ArmISA
{

class SasaLd64 : public ArmStaticInst
{
  private:
    RegId srcRegIdxArr[1];
    RegIndex base;
    unsigned entries;

  public:
    SasaLd64(ExtMachInst mach_inst, RegIndex rn, unsigned size);

    Fault execute(ExecContext *xc,
                  trace::InstRecord *trace_data) const override;

    std::string generateDisassembly(
            Addr pc, const loader::SymbolTable *symtab) const override;
};

} // namespace ArmISA
} // namespace gem5

#endif // __ARCH_ARM_INSTS_SASA_LD_HH__
