# SPARCE unit SimObject (axsim gem5 backend, dissertation ch. 4).
# Target: gem5 v24.0.0.1.  Attach one to a MinorCPU through its `sparce`
# parameter (added by isa_ext/gem5/apply_gem5_patch.py); the stats appear as
# system.cpu.sparce.* when the unit is the CPU's child named "sparce".

from m5.params import *
from m5.SimObject import SimObject


class SparceUnit(SimObject):
    type = "SparceUnit"
    cxx_header = "cpu/sparce/sparce_unit.hh"
    cxx_class = "gem5::sparce::SparceUnit"

    enabled = Param.Bool(
        True,
        "Use the SASA table to skip redundant regions; when False, SASA-LD "
        "is a no-op and the SpRF only observes (baseline runs)",
    )
    sasaEntries = Param.Unsigned(20, "SASA table entries (Table 4.1)")
    sprfEntries = Param.Unsigned(
        32, "SpRF entries per register file (Table 4.1)"
    )
    nullifyUnissued = Param.Bool(
        True,
        "A skippable region resolving true after fetch has left it is still "
        "skipped when none of its instructions has issued (they are dropped "
        "at issue); False keeps sparce_sim's rule (only while fetch is "
        "inside the region)",
    )
