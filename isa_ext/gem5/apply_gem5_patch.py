#!/usr/bin/env python3
"""Apply the axsim SPARCE extension to a gem5 source tree (gem5 v24.0.0.1).

    python3 isa_ext/gem5/apply_gem5_patch.py /path/to/gem5            # apply
    python3 isa_ext/gem5/apply_gem5_patch.py /path/to/gem5 --check    # dry run

Two steps:
1. copy the new files under isa_ext/gem5/src/ into gem5's src/ (the SparceUnit
   SimObject in src/cpu/sparce/, the SASA-LD instruction in src/arch/arm/insts/);
2. insert the integration hooks into existing gem5 files (EDITS below). Each hook
   is placed next to one anchor line, which must occur exactly once in the file;
   the script stops with the file and anchor if it does not, and never edits a
   file twice (every inserted block carries the marker "axsim-sparce").

The hooks are written here, next to their anchors, instead of as a diff, so the
repository carries no copy of gem5's own lines beyond the one-line anchors.
Re-applying is safe: unchanged files are not touched, changed copied files are
refreshed, and a file with hooks of an older version of this script is first
restored from the gem5 checkout's git HEAD.
The EDITS list is the documentation of the patch points (see README.md).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
NEW_FILES_ROOT = HERE / "src"
MARKER = "axsim-sparce"
GEM5_VERSION = "24.0.0.1"
GEM5_COMMIT = "b1a44b89c7bae73fae2dc547bc1f871452075b85"


@dataclass(frozen=True)
class Edit:
    path: str           # relative to the gem5 root
    anchor: str         # one full line (without indentation) that occurs once
    where: str          # "before" or "after" the anchor line
    text: str           # inserted lines, already indented
    why: str


EDITS: list[Edit] = [
    # ---- ARM decoder: SASA-LD in the unallocated op0 = 0b0001 space ----
    Edit("src/arch/arm/isa/includes.isa",
         '#include "arch/arm/insts/tme64.hh"', "after",
         '#include "arch/arm/insts/sasa_ld.hh" // axsim-sparce\n',
         "the decoder's generated header must see the SasaLd64 class"),
    Edit("src/arch/arm/SConscript",
         "Source('insts/tme64.cc', tags='arm isa')", "after",
         "Source('insts/sasa_ld.cc', tags='arm isa') # axsim-sparce\n",
         "build the SASA-LD instruction"),
    Edit("src/arch/arm/isa/formats/aarch64.isa",
         "if ((bits(machInst, 25) == 0x0) && \\", "before",
         "                    // axsim-sparce: SASA-LD [Xn], #size is\n"
         "                    // 0x02000000 | size << 5 | n (bits 31:21 =\n"
         "                    // 0b00000010000); rn = 31 or size = 0 stay\n"
         "                    // UNDEFINED (isa_ext/encoding.py).\n"
         "                    if (bits(machInst, 31, 21) == 0x10) {\n"
         "                        const RegIndex rn =\n"
         "                            (RegIndex)(uint32_t)bits(machInst, 4, 0);\n"
         "                        const unsigned size = bits(machInst, 20, 5);\n"
         "                        if (rn != 31 && size != 0)\n"
         "                            return new SasaLd64(machInst, rn, size);\n"
         "                        return new Unknown64(machInst);\n"
         "                    }\n",
         "decode SASA-LD where bits 28:25 = 0b0001 would fall through to "
         "Unknown64: inside the bit27 = 0, bit28 = 0, bit26 = 0 branch, before "
         "the SME test"),
    # ---- MinorCPU: the unit as a parameter, attached in the constructor ----
    Edit("src/cpu/minor/BaseMinorCPU.py",
         "branchPred = Param.BranchPredictor(", "before",
         "    # axsim-sparce: SPARCE unit; NULL leaves the CPU unchanged\n"
         "    sparce = Param.SparceUnit(NULL, \"SPARCE unit (SpRF, SASA table, PSRU)\")\n",
         "a BaseMinorCPU parameter, so configs can set cpu.sparce = SparceUnit()"),
    Edit("src/cpu/minor/cpu.cc",
         '#include "cpu/minor/pipeline.hh"', "after",
         '#include "cpu/sparce/sparce_unit.hh" // axsim-sparce\n',
         "SparceUnit::attach"),
    Edit("src/cpu/minor/cpu.cc",
         "pipeline = new minor::Pipeline(*this, params);", "before",
         "    // axsim-sparce: register before the stages take their pointers\n"
         "    if (params.sparce)\n"
         "        params.sparce->attach(this);\n",
         "SASA-LD finds the unit of its CPU through SparceUnit::forCpu"),
    # ---- Fetch2: SpRF in-flight marking, PSRU lookup and skip ----
    Edit("src/cpu/minor/fetch2.hh",
         '#include "cpu/pred/bpred_unit.hh"', "after",
         '#include "cpu/sparce/sparce_unit.hh" // axsim-sparce\n',
         "declare the unit"),
    Edit("src/cpu/minor/fetch2.hh",
         "branch_prediction::BPredUnit &branchPredictor;", "after",
         "\n    /** axsim-sparce: SPARCE unit, NULL when the CPU has none */\n"
         "    sparce::SparceUnit *sparce;\n",
         "member right after branchPredictor (initialisation order)"),
    Edit("src/cpu/minor/fetch2.cc",
         "branchPredictor(*params.branchPred),", "after",
         "    sparce(params.sparce), // axsim-sparce\n",
         "initialise the member"),
    Edit("src/cpu/minor/fetch2.cc",
         "fetchInfo[branch_inp.threadId].havePC = false;", "after",
         "        // axsim-sparce: younger insts are gone, pending regions too\n"
         "        if (sparce)\n"
         "            sparce->streamChanged();\n",
         "an Execute stream change squashes everything in flight"),
    Edit("src/cpu/minor/fetch2.cc",
         "predictBranch(dyn_inst, prediction);", "after",
         "\n"
         "                    /* axsim-sparce: the fetched inst's destinations\n"
         "                     * go in flight in the SpRF and its PC is looked\n"
         "                     * up in the SASA table.  A skip that ends in\n"
         "                     * this line or the next is done by Fetch2 itself\n"
         "                     * (below); a farther one changes stream like a\n"
         "                     * predicted-taken branch, but the inst is not\n"
         "                     * marked predicted, so Execute has no branch to\n"
         "                     * verify. */\n"
         "                    if (sparce) {\n"
         "                        std::unique_ptr<PCStateBase> skip_to;\n"
         "                        if (sparce->fetched(thread, decoded_inst,\n"
         "                                *dyn_inst->pc, dyn_inst->id.fetchSeqNum,\n"
         "                                dyn_inst->predictedTaken,\n"
         "                                line_in->lineBaseAddr +\n"
         "                                    line_in->lineWidth,\n"
         "                                skip_to) &&\n"
         "                            prediction.isBubble())\n"
         "                        {\n"
         "                            fetch_info.expectedStreamSeqNum =\n"
         "                                dyn_inst->id.streamSeqNum;\n"
         "                            prediction = BranchData(\n"
         "                                BranchData::BranchPrediction,\n"
         "                                dyn_inst->id.threadId,\n"
         "                                dyn_inst->id.streamSeqNum,\n"
         "                                fetch_info.predictionSeqNum + 1,\n"
         "                                *skip_to, dyn_inst);\n"
         "                            fetch_info.predictionSeqNum++;\n"
         "                        }\n"
         "                    }\n",
         "PSRU lookup in Fetch2; a far skip reuses Fetch2's prediction path "
         "(new predictionSeqNum, Fetch1 redirect, rest of the line dropped)"),
    Edit("src/cpu/minor/fetch2.cc",
         "MinorDynInstPtr dyn_inst = NULL;", "before",
         "            /* axsim-sparce: a skip is armed (a definite skip, or\n"
         "             * a skippable region that resolved true while fetch was\n"
         "             * inside it): step over the region in the lines Fetch1\n"
         "             * streams, without a stream change. */\n"
         "            if (sparce && !discard_line && !line_in->isFault() &&\n"
         "                fetch_info.havePC)\n"
         "            {\n"
         "                Addr sparce_to;\n"
         "                if (sparce->fetchSkip(fetch_info.pc->instAddr(),\n"
         "                        sparce_to))\n"
         "                {\n"
         "                    if (sparce_to >= line_in->lineBaseAddr +\n"
         "                            line_in->lineWidth)\n"
         "                    {\n"
         "                        popInput(tid);\n"
         "                        line_in = processMoreThanOneInput ?\n"
         "                            getInput(tid) : NULL;\n"
         "                        continue;\n"
         "                    }\n"
         "                    fetch_info.inputIndex =\n"
         "                        sparce_to - line_in->lineBaseAddr;\n"
         "                    fetch_info.pc->set(sparce_to);\n"
         "                    sparce->fetchSkipDone();\n"
         "                }\n"
         "            }\n"
         "\n",
         "Fetch2's own skip: move inputIndex and the PC to the region end "
         "(popping lines wholly inside the region)"),
    # ---- Execute: SVC at writeback, skippable-region resolution ----
    Edit("src/cpu/minor/execute.hh",
         '#include "cpu/minor/scoreboard.hh"', "after",
         '#include "cpu/sparce/sparce_unit.hh" // axsim-sparce\n',
         "declare the unit"),
    Edit("src/cpu/minor/execute.hh",
         "ThreadID commitPriority;", "after",
         "\n    /** axsim-sparce: SPARCE unit, NULL when the CPU has none */\n"
         "    sparce::SparceUnit *sparce;\n",
         "member after the last initialised member (initialisation order)"),
    Edit("src/cpu/minor/execute.cc",
         "commitPriority(0)", "after",
         "    , sparce(params.sparce) // axsim-sparce\n",
         "initialise the member (the anchor ends the initialiser list)"),
    Edit("src/cpu/minor/execute.cc",
         "} else if (inst->id.streamSeqNum != thread.streamSeqNum) {", "before",
         "        } else if (sparce && inst->isInst() &&\n"
         "            sparce->nullified(inst->id.fetchSeqNum))\n"
         "        {\n"
         "            /* axsim-sparce: a region inst nullified when its\n"
         "             * skippable region resolved true: dropped, like an\n"
         "             * inst of a wrong stream */\n"
         "            DPRINTF(MinorExecute, \"Dropping nullified SPARCE region\"\n"
         "                \" inst: %s\\n\", *inst);\n"
         "            issued = true;\n"
         "            discarded = true;\n",
         "drop nullified region insts at issue (another branch of the "
         "discard chain)"),
    Edit("src/cpu/minor/execute.cc",
         "num_insts_issued++;", "after",
         "                if (sparce && inst->isInst()) // axsim-sparce\n"
         "                    sparce->issued(inst->id.fetchSeqNum);\n",
         "a skippable region resolving after one of its insts issued is too "
         "late"),
    Edit("src/cpu/minor/execute.cc",
         "scoreboard[thread_id].clearInstDests(inst, inst->isMemRef());", "before",
         "            /* axsim-sparce: Sparse Value Checker on the results the\n"
         "             * inst wrote (skippable regions waiting on them resolve\n"
         "             * there); the last microop also counts the SASA hit of\n"
         "             * a precedingPC. */\n"
         "            if (sparce && committed_inst && !discard_inst &&\n"
         "                !inst->isFault())\n"
         "            {\n"
         "                sparce->wroteBack(cpu.getContext(thread_id),\n"
         "                    inst->staticInst, inst->id.fetchSeqNum);\n"
         "                if (inst->isLastOpInInst())\n"
         "                    sparce->committed(inst->id.fetchSeqNum);\n"
         "            }\n",
         "every completed, non-discarded inst passes here once (normal commit "
         "and memory response), just before its scoreboard entries clear"),
]


class PatchError(Exception):
    pass


def new_files() -> list[Path]:
    return sorted(p for p in NEW_FILES_ROOT.rglob("*") if p.is_file())


def gem5_version(root: Path) -> str | None:
    version = root / "src" / "base" / "version.cc"
    if not version.is_file():
        return None
    m = re.search(r'gem5Version\s*=\s*"([^"]+)"', version.read_text())
    return m.group(1) if m else None


def plan_edit(text: str, edit: Edit) -> str:
    """The file text with `edit` applied; PatchError if the anchor is not unique."""
    lines = text.splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.strip() == edit.anchor]
    if len(hits) != 1:
        raise PatchError(f"{edit.path}: anchor {edit.anchor!r} found {len(hits)} times (expected 1); "
                         f"is this gem5 {GEM5_VERSION}?")
    i = hits[0] + (1 if edit.where == "after" else 0)
    return "".join(lines[:i]) + edit.text + "".join(lines[i:])


def pristine_text(root: Path, rel: str) -> str:
    """gem5's own version of `rel` (from the checkout's git HEAD): needed when the file holds hooks
    of an older version of this patch. PatchError when root is not a git checkout."""
    try:
        out = subprocess.run(["git", "-C", str(root), "show", f"HEAD:{rel}"], capture_output=True,
                             text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise PatchError(f"{rel} holds {MARKER} hooks of another version of this patch and {root} is not "
                         f"a git checkout to restore it from; restore gem5's file and apply again") from exc
    return out.stdout


def apply(root: Path, check: bool = False, any_version: bool = False) -> list[str]:
    """Apply (or with check=True, only verify) the patch; returns a log of actions.

    Idempotent: hooks already in place are left alone, and files are only written when their
    content changes (so a rebuild recompiles nothing that did not change). A file holding hooks of
    an older version of this patch is refreshed from gem5's pristine copy (git HEAD of root)."""
    log = []
    if not (root / "src" / "cpu" / "minor").is_dir():
        raise PatchError(f"{root} is not a gem5 source tree (no src/cpu/minor)")
    version = gem5_version(root)
    if version != GEM5_VERSION:
        msg = f"gem5 version {version or 'unknown'} at {root}; this patch targets {GEM5_VERSION}"
        if not any_version:
            raise PatchError(msg + " (use --any-version to try anyway)")
        log.append("warning: " + msg)
    by_file: dict[str, list[Edit]] = {}
    for edit in EDITS:
        by_file.setdefault(edit.path, []).append(edit)
    edited: dict[Path, str] = {}
    for rel, edits in by_file.items():
        path = root / rel
        if not path.is_file():
            raise PatchError(f"{rel} is missing in {root}")
        current = path.read_text()
        text = current
        if MARKER in text and not all(e.text in text for e in edits):
            text = pristine_text(root, rel)
            log.append(f"{'would refresh' if check else 'refresh'}: {rel} (hooks of another version)")
        for edit in edits:
            if edit.text in text:
                log.append(f"already applied: {edit.path} ({edit.why})")
                continue
            text = plan_edit(text, edit)
            log.append(f"{'would edit' if check else 'edit'}: {edit.path} {edit.where} {edit.anchor!r}")
        if text != current:
            edited[path] = text
    for src in new_files():
        rel = src.relative_to(NEW_FILES_ROOT)
        dst = root / "src" / rel
        if dst.is_file() and dst.read_bytes() == src.read_bytes():
            log.append(f"up to date: src/{rel}")
            continue
        log.append(f"{'would copy' if check else 'copy'}: src/{rel}")
        if not check:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    if not check:
        for path, text in edited.items():
            path.write_text(text)
    return log


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gem5_root", type=Path)
    ap.add_argument("--check", action="store_true", help="verify every anchor, change nothing")
    ap.add_argument("--any-version", action="store_true", help=f"allow a gem5 other than {GEM5_VERSION}")
    args = ap.parse_args(argv)
    try:
        for line in apply(args.gem5_root, args.check, args.any_version):
            print(line)
    except PatchError as exc:
        print(f"apply_gem5_patch: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
