// Host-side driver for sparce_core.hh (no gem5 needed).  Built and driven by
// tests/test_gem5_backend.py: it reads one command per line on stdin and
// prints one answer line per command.
//
//   ld WORDHEX                         -> "none" | "sasa RN SIZE VALID"
//   entry HEX32                        -> "ok PC N OP K (REG ISV HASLANE LANE)*" | "err MSG"
//   table CAP SPRF HEX...              -> "ok" | "err MSG"       (SASA-LD)
//   late 0|1                           -> (no output) Psru::nullifyUnissued
//   writer V|X N SEQ                   -> (no output) fetch saw a writer
//   wb V|X N SEQ HEXVALUE_LE           -> (no output) SVC writeback, then
//                                         the PSRU resolves waiting regions
//   fetch PCHEX SEQ TAKEN              -> "redirect TARGETHEX" | "continue"
//   arm FROMHEX TOHEX                  -> (no output) arm a Fetch2 skip
//   skip PCHEX                         -> "skip TOHEX" (and consume it) | "none"
//   issue SEQ                          -> "drop" (nullified) | "issue"
//   commit SEQ                         -> (no output) last microop committed
//   stream                             -> (no output) Execute stream change
//   counters                           -> the ten counters, space separated
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "../src/cpu/sparce/sparce_core.hh"

using namespace gem5::sparce;

static std::vector<uint8_t>
hexBytes(const std::string &h)
{
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < h.size(); i += 2)
        out.push_back(uint8_t(std::stoul(h.substr(i, 2), nullptr, 16)));
    return out;
}

int
main()
{
    Psru psru;
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string cmd;
        if (!(in >> cmd))
            continue;
        if (cmd == "ld") {
            std::string w;
            in >> w;
            unsigned rn = 0, size = 0;
            bool valid = false;
            if (decodeSasaLd(uint32_t(std::stoul(w, nullptr, 16)), rn, size,
                             valid))
                std::cout << "sasa " << rn << " " << size << " " << valid;
            else
                std::cout << "none";
        } else if (cmd == "entry") {
            std::string h;
            in >> h;
            auto raw = hexBytes(h);
            Entry e;
            std::string err;
            if (raw.size() != ENTRY_BYTES) {
                std::cout << "err size";
            } else if (!decodeEntry(raw.data(), e, err)) {
                std::cout << "err " << err;
            } else {
                std::cout << "ok " << e.precedingPC << " " << e.instsToSkip
                          << " " << unsigned(e.op) << " "
                          << unsigned(e.numOperands);
                for (unsigned k = 0; k < e.numOperands; k++) {
                    const Operand &o = e.operand[k];
                    std::cout << " " << unsigned(o.reg) << " " << o.isV << " "
                              << o.hasLane << " " << unsigned(o.lane);
                }
            }
        } else if (cmd == "table") {
            unsigned cap, sprf;
            std::string h;
            in >> cap >> sprf >> h;
            auto raw = hexBytes(h);
            std::string err;
            if (psru.loadTable(raw.data(), raw.size() / ENTRY_BYTES, cap,
                               sprf, err)) {
                psru.counters.sasaLoads++;
                std::cout << "ok";
            } else {
                std::cout << "err " << err;
            }
        } else if (cmd == "late") {
            int on;
            in >> on;
            psru.nullifyUnissued = on != 0;
            continue;
        } else if (cmd == "writer" || cmd == "wb") {
            std::string file;
            unsigned n;
            uint64_t seq;
            in >> file >> n >> seq;
            bool is_v = file == "V";
            if (cmd == "writer") {
                psru.sprf.noteFetchedWriter(is_v, n, seq);
            } else {
                std::string h;
                in >> h;
                auto v = hexBytes(h);
                psru.sprf.writeback(is_v, n, seq, v.data(), v.size());
                psru.resolve();
            }
            continue;
        } else if (cmd == "fetch") {
            std::string pc;
            uint64_t seq;
            int taken;
            in >> pc >> seq >> taken;
            FetchAction a = psru.onFetch(std::stoull(pc, nullptr, 16), seq,
                                         taken != 0);
            if (a.redirect)
                std::cout << "redirect " << std::hex << a.target << std::dec;
            else
                std::cout << "continue";
        } else if (cmd == "arm") {
            std::string from, to;
            in >> from >> to;
            psru.armFetchSkip(std::stoull(from, nullptr, 16),
                              std::stoull(to, nullptr, 16));
            continue;
        } else if (cmd == "skip") {
            std::string pc;
            in >> pc;
            uint64_t to = 0;
            if (psru.fetchSkipFor(std::stoull(pc, nullptr, 16), to)) {
                std::cout << "skip " << std::hex << to << std::dec;
                psru.fetchSkipDone();
            } else {
                std::cout << "none";
            }
        } else if (cmd == "issue") {
            uint64_t seq;
            in >> seq;
            if (psru.nullified(seq)) {
                std::cout << "drop";
            } else {
                psru.onIssue(seq);
                std::cout << "issue";
            }
        } else if (cmd == "commit") {
            uint64_t seq;
            in >> seq;
            psru.onCommit(seq);
            continue;
        } else if (cmd == "stream") {
            psru.onStreamChange();
            continue;
        } else if (cmd == "counters") {
            const Counters &c = psru.counters;
            std::cout << c.sasaLoads << " " << c.sasaLookups << " "
                      << c.sasaHits << " " << c.regionsSkipped << " "
                      << c.regionsSkippable << " " << c.skippableResolvedTrue
                      << " " << c.instsSkipped << " " << c.squashedInsts
                      << " " << c.skippableTooLate << " " << c.fetchRedirects;
        } else {
            std::cout << "bad command";
        }
        std::cout << std::endl;
    }
    return 0;
}
