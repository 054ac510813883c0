/*
 * sparce_sim._native: the engine's hot path in C++ on unicorn's C API (issue 10).
 *
 * unicorn executes the program; three hooks written here drive the timing model (minor.hh) and
 * the PSRU (psru.hh) without entering Python:
 *   - a code hook on every instruction times the previous one (its memory records and its
 *     successor PC are then known), looks the PC up in the SASA table, and skips a region by
 *     moving unicorn's PC past it, so skipped instructions never execute;
 *   - loads and stores need no memory hook (unicorn syncs its PC before every memory callback,
 *     which costs more than all the timing): the code hook computes the effective address from
 *     the base/index registers before the instruction executes (decode.py gives the mode);
 *   - an interrupt hook stops emulation at `svc` and at an undefined word (SASA-LD or a fault),
 *     which the Python wrapper (sparce_sim/native_engine.py) handles before resuming.
 * Python is entered only to decode a PC met for the first time (capstone, sparce_sim/decode.py).
 *
 * The unicorn functions are taken as addresses from the Python binding's own libunicorn (ctypes),
 * so this module links against nothing of unicorn and needs none of its headers to build.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "minor.hh"
#include "psru.hh"

namespace axsim {

typedef void uc_engine;
typedef size_t uc_hook;
typedef int (*uc_hook_add_t)(uc_engine *, uc_hook *, int, void *, void *, uint64_t, uint64_t, ...);
typedef int (*uc_hook_del_t)(uc_engine *, uc_hook);
typedef int (*uc_reg_read_t)(uc_engine *, int, void *);
typedef int (*uc_reg_write_t)(uc_engine *, int, const void *);
typedef int (*uc_emu_start_t)(uc_engine *, uint64_t, uint64_t, uint64_t, size_t);
typedef int (*uc_emu_stop_t)(uc_engine *);
typedef int (*uc_mem_read_t)(uc_engine *, uint64_t, void *, uint64_t);

/* Why run() returned. */
enum Stop { STOP_NONE = 0, STOP_SVC, STOP_EXCEPTION, STOP_UC_ERROR, STOP_DECODE, STOP_LIMIT,
            STOP_INTERRUPT, STOP_EMPTY, STOP_SASA_NEW };

/* SASA-LD [Xn], #size (isa_ext/encoding.py): 0x02000000 | size << 5 | n; n = 31 or size = 0
 * are reserved forms, left to the wrapper's error message. */
constexpr uint32_t SASA_LD_MASK = 0xFFE00000, SASA_LD_BASE = 0x02000000;
constexpr unsigned SASA_ENTRY_BYTES = 16;

struct Api {
    uc_hook_add_t hook_add;
    uc_hook_del_t hook_del;
    uc_reg_read_t reg_read;
    uc_reg_write_t reg_write;
    uc_emu_start_t emu_start;
    uc_emu_stop_t emu_stop;
    uc_mem_read_t mem_read;
};

struct Profile { uint64_t lo, hi, cycles, insts; };

struct Core {
    PyObject_HEAD
    Api api;
    uc_engine *uc;
    PyObject *decode_cb;               // pc -> tuple (sparce_sim/native_engine.py)
    PyObject *uc_owner;                // the Python Uc: kept alive until the hooks are removed
    int hook_types[2];                 // UC_HOOK_CODE, UC_HOOK_INTR
    int uc_pc;                         // UC_ARM64_REG_PC
    int uc_x[32];                      // unicorn ids of X0-X30, SP (engine ids 0-31)
    uc_hook hooks[2];
    bool attached;
    /* static instructions: an array over the text, a map outside it */
    uint64_t text_lo, text_hi;
    std::vector<StaticInst> *text;
    std::unordered_map<uint64_t, StaticInst> *other;
    std::vector<Region *> *region_at;  // per text PC: the current table's region starting there
    StaticInst *text_base;             // text->data() and region_at->data(), sized text_n
    Region **region_base;
    uint64_t text_n;
    /* timing */
    Hierarchy *caches;
    Pipeline *pipe;
    Psru *psru;
    /* the instruction seen by the last code hook, timed at the next one */
    StaticInst *pending;
    uint64_t pending_pc;
    uint64_t pending_addr;             // its effective address (loads/stores)
    int64_t pending_prefetch;
    int64_t skip_landing;
    /* run control */
    uint64_t max_insts;
    bool sparce_on;                    // SASA-LD loads tables (off: it is a no-op)
    int stop;
    uint64_t stop_pc;
    uint32_t stop_intno;
    std::string *stop_msg;
    uint64_t next_check;               // committed count of the next limit/signal check
    std::vector<Profile> *profile;
};

/* ---- static instructions */

static StaticInst *slot(Core *c, uint64_t pc) {
    const uint64_t i = (pc - c->text_lo) >> 2;    // wraps to a huge index below text_lo
    if (i < c->text_n)
        return &c->text_base[i];
    return &(*c->other)[pc];
}

static bool fill_inst(StaticInst &si, PyObject *t, std::string &err) {
    /* (fu, latency, srcs, dsts, mem_bytes, flags, prefetch_base, prefetch_disp, target,
     *  addr_base, addr_index, addr_ext, addr_shift, addr_disp, wb_base, req_bytes) */
    PyObject *srcs, *dsts;
    int fu, lat, mem_bytes, flags, pf_base, a_base, a_index, a_ext, a_shift, wb_base, req_bytes;
    long long pf_disp, target, a_disp;
    if (!PyArg_ParseTuple(t, "iiOOiiiLLiiiiLii", &fu, &lat, &srcs, &dsts, &mem_bytes, &flags, &pf_base,
                          &pf_disp, &target, &a_base, &a_index, &a_ext, &a_shift, &a_disp,
                          &wb_base, &req_bytes) || req_bytes < 1 || req_bytes > 16) {
        err = "decoder returned a malformed record";
        return false;
    }
    Py_ssize_t ns = PySequence_Size(srcs), nd = PySequence_Size(dsts);
    if (ns < 0 || nd < 0 || ns > MAX_SRCS || nd > MAX_DSTS) {
        err = "instruction has more registers than the native engine holds";
        return false;
    }
    for (Py_ssize_t i = 0; i < ns; i++) {
        PyObject *o = PySequence_GetItem(srcs, i);
        si.srcs[i] = uint8_t(PyLong_AsLong(o));
        Py_XDECREF(o);
    }
    for (Py_ssize_t i = 0; i < nd; i++) {
        PyObject *o = PySequence_GetItem(dsts, i);
        si.dsts[i] = uint8_t(PyLong_AsLong(o));
        Py_XDECREF(o);
    }
    si.nsrc = uint8_t(ns);
    si.ndst = uint8_t(nd);
    si.fu = uint8_t(fu);
    si.latency = uint8_t(lat);
    si.mem_bytes = uint16_t(mem_bytes);
    si.flags = uint16_t(flags);
    si.prefetch_base = int8_t(pf_base);
    si.prefetch_disp = pf_disp;
    si.target = target;
    si.addr_base = int8_t(a_base);
    si.addr_index = int8_t(a_index);
    si.addr_ext = uint8_t(a_ext);
    si.addr_shift = uint8_t(a_shift);
    si.addr_disp = a_disp;
    si.wb_base = int8_t(wb_base);
    si.req_bytes = uint8_t(req_bytes);
    if (si.mem_bytes && si.addr_base == -2) {
        err = "load/store without an addressing mode";
        return false;
    }
    si.state = 1;
    return true;
}

static void halt(Core *c, int why, uint64_t pc, const std::string &msg) {
    if (c->stop == STOP_NONE) {
        c->stop = why;
        c->stop_pc = pc;
        *c->stop_msg = msg;
    }
    c->api.emu_stop(c->uc);
}

static StaticInst *decode(Core *c, uint64_t pc) {
    StaticInst *si = slot(c, pc);
    if (si->state)
        return si;
    PyObject *r = PyObject_CallFunction(c->decode_cb, "K", (unsigned long long)pc);
    std::string err;
    if (!r) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyObject *s = value ? PyObject_Str(value) : nullptr;
        err = s ? PyUnicode_AsUTF8(s) : "decode failed";
        Py_XDECREF(s);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        PyErr_Clear();
    } else {
        fill_inst(*si, r, err);
        Py_DECREF(r);
    }
    if (!si->state) {
        halt(c, STOP_DECODE, pc, err);
        return nullptr;
    }
    return si;
}

/* ---- timing */

__attribute__((always_inline)) static inline void time_pending(Core *c, int64_t next_pc) {
    StaticInst *si = c->pending;
    if (!si)
        return;
    c->pending = nullptr;
    const int64_t before = c->pipe->commit_t();
    c->pipe->time(*si, c->pending_pc, c->pending_addr, c->pending_prefetch, next_pc);
    if (c->psru->loaded())
        c->psru->counters.lookups++;
    if (c->profile->empty())
        return;
    for (Profile &p : *c->profile) {
        if (c->pending_pc >= p.lo && c->pending_pc < p.hi) {
            p.cycles += uint64_t(c->pipe->commit_t() - before);
            p.insts++;
            break;
        }
    }
}

static uint64_t read_x(Core *c, int rid) {
    uint64_t v = 0;
    c->api.reg_read(c->uc, c->uc_x[rid], &v);
    return v;
}

static bool operand_sparse(Core *c, const SpRFOperand &o) {
    if (!o.vector) {
        uint64_t v = 0;
        c->api.reg_read(c->uc, o.ucreg, &v);
        return v == 0;
    }
    if (o.lane_view) {
        uint32_t v = 0;
        c->api.reg_read(c->uc, o.ucreg, &v);
        return v == 0;
    }
    uint32_t v[4] = {0, 0, 0, 0};
    c->api.reg_read(c->uc, o.ucreg, v);
    if (o.lane >= 0)
        return v[o.lane] == 0;
    return (v[0] | v[1] | v[2] | v[3]) == 0;
}

/* The current table's region starting at pc, or null. */
static Region *region_at(Core *c, uint64_t pc) {
    const uint64_t i = (pc - c->text_lo) >> 2;
    if (i < c->text_n)
        return c->region_base[i];
    auto &regions = c->psru->regions();
    auto it = regions.find(pc);
    return it == regions.end() ? nullptr : &it->second;
}

/* The PSRU's verdict on region r when fetch reaches its first PC (landed: fetch jumped there
 * past a skipped region); books a skip. */
static Decision evaluate(Core *c, Region &r, bool landed) {
    Pipeline &pipe = *c->pipe;
    c->psru->counters.hits++;
    int64_t ready[2];
    bool sparse[2];
    for (unsigned i = 0; i < r.nops; i++) {
        ready[i] = pipe.ready()[r.opnd[i].rid];
        sparse[i] = operand_sparse(c, r.opnd[i]);
    }
    const int64_t fetch_pre = landed ? pipe.fetch.t : pipe.fetch.last_fetch;
    int64_t first_issue = 0;
    bool in_flight = false;
    for (unsigned i = 0; i < r.nops; i++) in_flight |= ready[i] > fetch_pre;
    if (in_flight) {                    /* only then can the region's first inst's issue matter */
        const StaticInst *first = decode(c, r.start);
        if (!first) return Decision();
        first_issue = pipe.earliest_issue(*first, pipe.next_fetch_time());
    }
    Decision d = c->psru->decide(r, fetch_pre, ready, sparse, pipe, first_issue);
    c->psru->counters.regions_skippable += d.skippable;
    if (d.skip) {
        c->psru->record_skip(r, d);
        if (d.squashed)
            pipe.nullify_fetched(d.squashed);
    }
    return d;
}

/* The PSRU at region r's first PC; true when the region was skipped (PC moved past it). A skip
 * whose landing PC starts another region is looked up again at once (nothing executes or is
 * timed in between, so this is what fetch would see there), and unicorn's PC is moved once, past
 * the whole chain: each move costs more than the timing of several instructions. */
static bool on_region(Core *c, Region &r, bool landed) {
    if (!(landed || c->pipe->last_pc == int64_t(r.preceding_pc)))
        return false;
    if (!evaluate(c, r, landed).skip)
        return false;
    uint64_t end = r.end;
    for (Region *next = region_at(c, end); next && evaluate(c, *next, true).skip;
         next = region_at(c, end))
        end = next->end;
    c->skip_landing = -1;              // the landing PC's region, if any, was just looked up
    c->api.reg_write(c->uc, c->uc_pc, &end);
    return true;
}

/* The effective address of a load/store about to execute (decode.py addr_* fields). */
static uint64_t effective_address(Core *c, const StaticInst &si) {
    if (si.addr_base == -1)
        return uint64_t(si.addr_disp);              // PC-relative literal
    uint64_t addr = read_x(c, si.addr_base) + uint64_t(si.addr_disp);
    if (si.addr_index >= 0) {
        uint64_t idx = read_x(c, si.addr_index);
        if (si.addr_ext == EXT_UXTW)
            idx = uint32_t(idx);
        else if (si.addr_ext == EXT_SXTW)
            idx = uint64_t(int64_t(int32_t(uint32_t(idx))));
        addr += idx << si.addr_shift;
    }
    return addr;
}

/* ---- hooks */

/* Every CHECK_EVERY committed instructions and at the instruction limit: stop for the limit or
 * for a pending signal (Ctrl-C). Returns false when emulation stops. */
constexpr uint64_t CHECK_EVERY = 1 << 20;

static void schedule_check(Core *c) {
    uint64_t next = c->pipe->stats.committed + CHECK_EVERY;
    c->next_check = c->max_insts < UINT64_MAX && c->max_insts + 1 < next ? c->max_insts + 1 : next;
}

static bool periodic_check(Core *c, uint64_t pc) {
    if (c->pipe->stats.committed > c->max_insts) {
        halt(c, STOP_LIMIT, pc, "");
        return false;
    }
    schedule_check(c);
    if (PyErr_CheckSignals() < 0) {
        PyErr_Clear();
        halt(c, STOP_INTERRUPT, pc, "");
        return false;
    }
    return true;
}

static void hook_code(uc_engine *, uint64_t pc, uint32_t, void *user) {
    Core *c = static_cast<Core *>(user);
    if (c->stop != STOP_NONE)
        return;
    if (c->pending) {
        time_pending(c, int64_t(pc));
        if (c->pipe->stats.committed >= c->next_check && !periodic_check(c, pc))
            return;
    }
    const bool landed = c->skip_landing == int64_t(pc);
    c->skip_landing = -1;
    if (c->psru->loaded()) {
        Region *r = region_at(c, pc);
        if (r && on_region(c, *r, landed))
            return;
    }
    StaticInst *si = decode(c, pc);
    if (!si)
        return;
    c->pending = si;
    c->pending_pc = pc;
    c->pending_prefetch = -1;
    if (si->mem_bytes) {
        c->pending_addr = effective_address(c, *si);
    } else if (si->flags & F_PREFETCH) {
        uint64_t addr = read_x(c, si->prefetch_base) + uint64_t(si->prefetch_disp);
        c->pending_prefetch = int64_t(addr >> c->caches->line_shift);
    }
}

/* Make `t` the hardware table: the per-PC array points at its regions. */
static void switch_table(Core *c, Table *t) {
    if (c->psru->current == t)
        return;
    if (c->psru->current)
        for (auto &kv : c->psru->current->regions)
            if (kv.first >= c->text_lo && kv.first < c->text_hi)
                (*c->region_at)[(kv.first - c->text_lo) >> 2] = nullptr;
    for (auto &kv : t->regions)
        if (kv.first >= c->text_lo && kv.first < c->text_hi)
            (*c->region_at)[(kv.first - c->text_lo) >> 2] = &kv.second;
    c->psru->current = t;
}

/* A SASA-LD at pc executed: time it; with SPARCE on, read the table: a table seen before is
 * loaded here (its L1D accesses, then a swap), a new one stops for the wrapper to validate.
 * Returns false when emulation must stop. */
static bool sasa_ld(Core *c, uint64_t pc, unsigned rn, unsigned size) {
    time_pending(c, int64_t(pc + 4));
    c->psru->counters.sasa_loads++;
    uint64_t next = pc + 4;
    if (c->sparce_on) {
        uint64_t addr = read_x(c, int(rn));
        std::string raw(size_t(size) * SASA_ENTRY_BYTES, '\0');
        Table *t = nullptr;
        if (c->api.mem_read(c->uc, addr, raw.data(), raw.size()) == 0)
            t = c->psru->find(addr, raw);
        if (!t) {
            halt(c, STOP_SASA_NEW, pc, "");    // unmapped or new: the wrapper reads and validates
            return false;
        }
        for (uint64_t line = addr >> 6; line <= (addr + raw.size() - 1) >> 6; line++)
            c->caches->touch_data(int64_t(line));
        switch_table(c, t);
    }
    c->api.reg_write(c->uc, c->uc_pc, &next);
    return true;
}

static void hook_intr(uc_engine *, uint32_t intno, void *user) {
    Core *c = static_cast<Core *>(user);
    uint64_t pc = 0;
    c->api.reg_read(c->uc, c->uc_pc, &pc);
    c->stop_intno = intno;
    if (intno == 2) {                  // svc: PC is already past it
        time_pending(c, int64_t(pc));
        halt(c, STOP_SVC, pc, "");
        return;
    }
    uint32_t word = 0;
    if (c->api.mem_read(c->uc, pc, &word, 4) == 0 && (word & SASA_LD_MASK) == SASA_LD_BASE) {
        unsigned rn = word & 0x1F, size = (word >> 5) & 0xFFFF;
        if (rn != 31 && size != 0) {
            sasa_ld(c, pc, rn, size);
            return;
        }
    }
    halt(c, STOP_EXCEPTION, pc, "");   // a fault (or a reserved SASA-LD form): the wrapper reports it
}

/* ---- the Python type */

static PyObject *Core_new(PyTypeObject *type, PyObject *, PyObject *) {
    Core *c = reinterpret_cast<Core *>(type->tp_alloc(type, 0));
    if (!c)
        return nullptr;
    c->text = new std::vector<StaticInst>();
    c->other = new std::unordered_map<uint64_t, StaticInst>();
    c->region_at = new std::vector<Region *>();
    c->caches = new Hierarchy();
    c->pipe = new Pipeline();
    c->psru = new Psru();
    c->stop_msg = new std::string();
    c->profile = new std::vector<Profile>();
    c->skip_landing = -1;
    c->max_insts = UINT64_MAX;
    return reinterpret_cast<PyObject *>(c);
}

static void Core_dealloc(Core *c) {
    if (c->attached)
        for (uc_hook h : c->hooks)
            c->api.hook_del(c->uc, h);
    Py_XDECREF(c->decode_cb);
    Py_XDECREF(c->uc_owner);          // after hook_del: the engine may be closed now
    delete c->text;
    delete c->other;
    delete c->region_at;
    delete c->caches;
    delete c->pipe;
    delete c->psru;
    delete c->stop_msg;
    delete c->profile;
    Py_TYPE(c)->tp_free(reinterpret_cast<PyObject *>(c));
}

static bool get_int(PyObject *d, const char *key, long long &out) {
    PyObject *v = PyDict_GetItemString(d, key);
    if (!v) {
        PyErr_Format(PyExc_KeyError, "native engine: missing setting %s", key);
        return false;
    }
    out = PyLong_AsLongLong(v);
    return !(out == -1 && PyErr_Occurred());
}

/* Core(config: dict, decode: callable, uc: the Python Uc whose engine config["uc"] is) */
static int Core_init(Core *c, PyObject *args, PyObject *) {
    PyObject *cfg, *cb, *owner;
    if (!PyArg_ParseTuple(args, "O!OO", &PyDict_Type, &cfg, &cb, &owner))
        return -1;
    if (c->attached) {
        PyErr_SetString(PyExc_RuntimeError, "native engine: a Core is initialised once");
        return -1;
    }
    Py_INCREF(owner);
    Py_XSETREF(c->uc_owner, owner);
    const char *api_names[] = {"uc_hook_add", "uc_hook_del", "uc_reg_read", "uc_reg_write",
                               "uc_emu_start", "uc_emu_stop", "uc_mem_read"};
    void **api_slots[] = {(void **)&c->api.hook_add, (void **)&c->api.hook_del,
                          (void **)&c->api.reg_read, (void **)&c->api.reg_write,
                          (void **)&c->api.emu_start, (void **)&c->api.emu_stop,
                          (void **)&c->api.mem_read};
    long long v;
    for (int i = 0; i < 7; i++) {
        if (!get_int(cfg, api_names[i], v))
            return -1;
        *api_slots[i] = reinterpret_cast<void *>(intptr_t(v));
    }
    if (!get_int(cfg, "uc", v)) return -1;
    c->uc = reinterpret_cast<uc_engine *>(intptr_t(v));
    const char *hook_names[] = {"hook_code", "hook_intr"};
    for (int i = 0; i < 2; i++) {
        if (!get_int(cfg, hook_names[i], v)) return -1;
        c->hook_types[i] = int(v);
    }
    if (!get_int(cfg, "uc_pc", v)) return -1;
    c->uc_pc = int(v);
    PyObject *xs = PyDict_GetItemString(cfg, "uc_x");
    if (!xs || PySequence_Size(xs) != 32) {
        PyErr_SetString(PyExc_ValueError, "native engine: uc_x must list 32 unicorn register ids");
        return -1;
    }
    for (int i = 0; i < 32; i++) {
        PyObject *o = PySequence_GetItem(xs, i);
        c->uc_x[i] = int(PyLong_AsLong(o));
        Py_XDECREF(o);
    }
    long long lo, hi;
    if (!get_int(cfg, "text_lo", lo) || !get_int(cfg, "text_hi", hi)) return -1;
    c->text_lo = uint64_t(lo);
    c->text_hi = uint64_t(hi);
    c->text->assign((c->text_hi - c->text_lo) / 4, StaticInst());
    c->region_at->assign(c->text->size(), nullptr);
    c->text_base = c->text->data();
    c->region_base = c->region_at->data();
    c->text_n = c->text->size();
    /* caches */
    long long l1i_kb, l1i_assoc, l1d_kb, l1d_assoc, l2_kb, l2_assoc, line, l2_lat, dram, l1d_lat,
        l2_path, mem_path, mem_limit;
    if (!get_int(cfg, "l1i_kb", l1i_kb) || !get_int(cfg, "l1i_assoc", l1i_assoc) ||
        !get_int(cfg, "l1d_kb", l1d_kb) || !get_int(cfg, "l1d_assoc", l1d_assoc) ||
        !get_int(cfg, "l2_kb", l2_kb) || !get_int(cfg, "l2_assoc", l2_assoc) ||
        !get_int(cfg, "line_bytes", line) || !get_int(cfg, "l2_latency", l2_lat) ||
        !get_int(cfg, "dram_latency", dram) || !get_int(cfg, "l1d_latency", l1d_lat) ||
        !get_int(cfg, "l2_path_cycles", l2_path) || !get_int(cfg, "mem_path_cycles", mem_path) ||
        !get_int(cfg, "mem_accesses_limit", mem_limit))
        return -1;
    c->caches->l1i.init(unsigned(l1i_kb), unsigned(l1i_assoc), unsigned(line));
    c->caches->l1d.init(unsigned(l1d_kb), unsigned(l1d_assoc), unsigned(line));
    c->caches->l2.init(unsigned(l2_kb), unsigned(l2_assoc), unsigned(line));
    c->caches->l2_latency = int(l2_lat);
    c->caches->dram_latency = int(dram);
    c->caches->l1d_latency = int(l1d_lat);
    c->caches->l2_path = int(l2_path);
    c->caches->mem_path = int(mem_path);
    c->caches->mem_limit = int(mem_limit);
    unsigned shift = 0;
    while ((1ull << shift) < uint64_t(line)) shift++;
    c->caches->line_shift = shift;
    /* pipeline */
    PipelineParams pp;
    long long dw, depth, il, cl, win, l1i_lat, bdelay, backdelay, ia, ml, bpe, btbe, lat_mem, load_extra, lsq, sb,
        rel_int, rel_float, rel_mem, lat_int;
    if (!get_int(cfg, "lat_mem", lat_mem) || !get_int(cfg, "load_commit_extra", load_extra) ||
        !get_int(cfg, "lsq_transfers", lsq) || !get_int(cfg, "store_buffer", sb) ||
        !get_int(cfg, "src_rel_int", rel_int) || !get_int(cfg, "src_rel_float", rel_float) ||
        !get_int(cfg, "src_rel_mem", rel_mem) || !get_int(cfg, "lat_int_alu", lat_int))
        return -1;
    pp.lat_int = int(lat_int);
    pp.lat_mem = int(lat_mem); pp.load_extra = int(load_extra);
    pp.lsq_transfers = int(lsq); pp.store_buffer = int(sb);
    pp.src_rel[FU_INT] = int(rel_int); pp.src_rel[FU_FLOAT] = int(rel_float);
    pp.src_rel[FU_MEM] = int(rel_mem);
    if (!get_int(cfg, "decode_width", dw) || !get_int(cfg, "depth", depth) ||
        !get_int(cfg, "issue_limit", il) || !get_int(cfg, "commit_limit", cl) ||
        !get_int(cfg, "window", win) || !get_int(cfg, "l1i_latency", l1i_lat) ||
        !get_int(cfg, "branch_delay", bdelay) || !get_int(cfg, "backward_delay", backdelay) ||
        !get_int(cfg, "int_alu_units", ia) ||
        !get_int(cfg, "mem_issue_limit", ml) || !get_int(cfg, "bp_entries", bpe) ||
        !get_int(cfg, "btb_entries", btbe))
        return -1;
    pp.decode_width = int(dw); pp.depth = int(depth); pp.issue_limit = int(il);
    pp.commit_limit = int(cl); pp.window = int(win);
    pp.l1i_latency = int(l1i_lat); pp.branch_delay = int(bdelay); pp.backward_delay = int(backdelay);
    pp.int_alu_units = int(ia); pp.mem_issue_limit = int(ml);
    pp.bp_entries = unsigned(bpe); pp.btb_entries = unsigned(btbe);
    c->pipe->init(pp, c->caches);
    if (!get_int(cfg, "max_insts", v)) return -1;
    c->max_insts = v > 0 ? uint64_t(v) : UINT64_MAX;
    schedule_check(c);
    if (!get_int(cfg, "sparce_on", v)) return -1;
    c->sparce_on = v != 0;
    Py_INCREF(cb);
    Py_XSETREF(c->decode_cb, cb);
    /* hooks: all code, interrupts */
    int rc = c->api.hook_add(c->uc, &c->hooks[0], c->hook_types[0], (void *)hook_code, c, 1, 0);
    rc |= c->api.hook_add(c->uc, &c->hooks[1], c->hook_types[1], (void *)hook_intr, c, 1, 0);
    if (rc) {
        PyErr_SetString(PyExc_RuntimeError, "native engine: unicorn refused a hook");
        return -1;
    }
    c->attached = true;
    return 0;
}

/* run(pc) -> (stop, pc, intno, message): emulate from pc until a stop. */
static PyObject *Core_run(Core *c, PyObject *args) {
    unsigned long long pc;
    if (!PyArg_ParseTuple(args, "K", &pc))
        return nullptr;
    c->stop = STOP_NONE;
    c->stop_msg->clear();
    int err = c->api.emu_start(c->uc, pc, 0, 0, 0);
    if (PyErr_Occurred())
        return nullptr;
    if (c->stop == STOP_NONE)
        c->stop = err ? STOP_UC_ERROR : STOP_EMPTY;
    if (c->stop == STOP_UC_ERROR)
        c->stop_intno = uint32_t(err);
    return Py_BuildValue("iKIs", c->stop, (unsigned long long)c->stop_pc, c->stop_intno,
                         c->stop_msg->c_str());
}

/* finish(next_pc): time the instruction still pending (next_pc = -1 when unknown). */
static PyObject *Core_finish(Core *c, PyObject *args) {
    long long next_pc;
    if (!PyArg_ParseTuple(args, "L", &next_pc))
        return nullptr;
    time_pending(c, next_pc);
    Py_RETURN_NONE;
}

static bool parse_operand(PyObject *t, SpRFOperand &o) {
    int vec, lane_view;
    if (!PyArg_ParseTuple(t, "iiipp", &o.rid, &o.ucreg, &o.lane, &vec, &lane_view))
        return false;
    o.vector = vec;
    o.lane_view = lane_view;
    return o.rid >= 0 && o.rid < NUM_REGS;
}

/* add_table(addr, raw, [(preceding_pc, insts, op, [(rid, ucreg, lane, vector, lane_view), ...]), ...]):
 * a table the wrapper read and validated at a SASA-LD; it becomes the hardware table, and later
 * SASA-LDs of the same bytes at the same address load it without leaving C++. */
static PyObject *Core_add_table(Core *c, PyObject *args) {
    PyObject *list;
    unsigned long long addr;
    const char *raw;
    Py_ssize_t raw_len;
    if (!PyArg_ParseTuple(args, "Ky#O", &addr, &raw, &raw_len, &list))
        return nullptr;
    std::unordered_map<uint64_t, Region> regions;
    Py_ssize_t n = PySequence_Size(list);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_GetItem(list, i);
        unsigned long long pre;
        unsigned insts, op;
        PyObject *ops;
        Region r;
        bool ok = PyArg_ParseTuple(item, "KIIO", &pre, &insts, &op, &ops);
        Py_XDECREF(item);
        if (!ok)
            return nullptr;
        r.preceding_pc = pre;
        r.start = pre + 4;
        r.end = r.start + 4ull * insts;
        r.insts = insts;
        r.op = uint8_t(op);
        r.nops = unsigned(PySequence_Size(ops));
        if (r.nops < 1 || r.nops > 2) {
            PyErr_SetString(PyExc_ValueError, "a SASA entry has one or two operands");
            return nullptr;
        }
        for (unsigned k = 0; k < r.nops; k++) {
            PyObject *o = PySequence_GetItem(ops, k);
            bool good = parse_operand(o, r.opnd[k]);
            Py_XDECREF(o);
            if (!good) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "bad SpRF operand");
                return nullptr;
            }
        }
        regions[r.start] = r;
    }
    Table *t = c->psru->find(addr, std::string(raw, size_t(raw_len)));
    if (!t)
        t = c->psru->add(addr, std::string(raw, size_t(raw_len)), std::move(regions));
    for (uint64_t line = addr >> 6; raw_len && line <= (addr + uint64_t(raw_len) - 1) >> 6; line++)
        c->caches->touch_data(int64_t(line));
    switch_table(c, t);
    Py_RETURN_NONE;
}

/* set_profile([(lo, hi), ...]) */
static PyObject *Core_set_profile(Core *c, PyObject *args) {
    PyObject *list;
    if (!PyArg_ParseTuple(args, "O", &list))
        return nullptr;
    c->profile->clear();
    Py_ssize_t n = PySequence_Size(list);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_GetItem(list, i);
        unsigned long long lo, hi;
        bool ok = PyArg_ParseTuple(item, "KK", &lo, &hi);
        Py_XDECREF(item);
        if (!ok)
            return nullptr;
        c->profile->push_back({lo, hi, 0, 0});
    }
    Py_RETURN_NONE;
}

static PyObject *cache_dict(const CacheStats &s) {
    return Py_BuildValue("{sKsKsKsKsKsKsKsK}", "hits", s.hits, "misses", s.misses, "read_hits",
                         s.read_hits, "read_misses", s.read_misses, "write_hits", s.write_hits,
                         "write_misses", s.write_misses, "prefetches", s.prefetches,
                         "mshr_hits", s.mshr_hits);
}

/* d[key] = value, both unsigned 64-bit integers (the per-PC counts). */
static void set_u64(PyObject *d, uint64_t key, uint64_t value) {
    PyObject *k = PyLong_FromUnsignedLongLong(key), *v = PyLong_FromUnsignedLongLong(value);
    PyDict_SetItem(d, k, v);
    Py_DECREF(k);
    Py_DECREF(v);
}

static int put(PyObject *d, const char *key, PyObject *value) {
    if (!value)
        return -1;
    int rc = PyDict_SetItemString(d, key, value);
    Py_DECREF(value);
    return rc;
}

/* snapshot() -> dict of every counter (the engine's statistics, read once at the end). */
static PyObject *Core_snapshot(Core *c, PyObject *) {
    const PipelineStats &s = c->pipe->stats;
    const SparceCounters &k = c->psru->counters;
    PyObject *d = PyDict_New();
    if (!d)
        return nullptr;
    PyObject *by_pc = PyDict_New();
    for (size_t i = 0; i < c->text->size(); i++)
        if ((*c->text)[i].committed)
            set_u64(by_pc, c->text_lo + 4 * i, (*c->text)[i].committed);
    for (auto &kv : *c->other)
        if (kv.second.committed)
            set_u64(by_pc, kv.first, kv.second.committed);
    PyObject *skips = PyDict_New();
    for (auto &kv : c->psru->all_skips())
        set_u64(skips, kv.first, kv.second);
    PyObject *prof = PyList_New(0);
    for (const Profile &p : *c->profile) {
        PyObject *t = Py_BuildValue("(KK)", p.cycles, p.insts);
        PyList_Append(prof, t);
        Py_DECREF(t);
    }
    int rc = 0;
    rc |= put(d, "cycles", PyLong_FromLongLong(c->pipe->cycles()));
    rc |= put(d, "committed", PyLong_FromUnsignedLongLong(s.committed));
    rc |= put(d, "branches", PyLong_FromUnsignedLongLong(s.branches));
    rc |= put(d, "cond_branches", PyLong_FromUnsignedLongLong(s.cond_branches));
    rc |= put(d, "mispredicts", PyLong_FromUnsignedLongLong(s.mispredicts));
    rc |= put(d, "loads", PyLong_FromUnsignedLongLong(s.loads));
    rc |= put(d, "stores", PyLong_FromUnsignedLongLong(s.stores));
    rc |= put(d, "prefetches", PyLong_FromUnsignedLongLong(s.prefetches));
    rc |= put(d, "by_pc", by_pc);
    rc |= put(d, "l1i", cache_dict(c->caches->l1i.stats));
    rc |= put(d, "l1d", cache_dict(c->caches->l1d.stats));
    rc |= put(d, "l2", cache_dict(c->caches->l2.stats));
    rc |= put(d, "sasa_loads", PyLong_FromUnsignedLongLong(k.sasa_loads));
    rc |= put(d, "lookups", PyLong_FromUnsignedLongLong(k.lookups));
    rc |= put(d, "hits", PyLong_FromUnsignedLongLong(k.hits));
    rc |= put(d, "regions_skipped", PyLong_FromUnsignedLongLong(k.regions_skipped));
    rc |= put(d, "regions_skippable", PyLong_FromUnsignedLongLong(k.regions_skippable));
    rc |= put(d, "skippable_resolved_true", PyLong_FromUnsignedLongLong(k.skippable_resolved_true));
    rc |= put(d, "insts_skipped", PyLong_FromUnsignedLongLong(k.insts_skipped));
    rc |= put(d, "squashed_insts", PyLong_FromUnsignedLongLong(k.squashed_insts));
    rc |= put(d, "skips_by_pc", skips);
    rc |= put(d, "profile", prof);
    if (rc) {
        Py_DECREF(d);
        return nullptr;
    }
    return d;
}

static PyMethodDef Core_methods[] = {
    {"run", (PyCFunction)Core_run, METH_VARARGS, "run(pc) -> (stop, pc, intno, message)"},
    {"finish", (PyCFunction)Core_finish, METH_VARARGS, "time the pending instruction"},
    {"add_table", (PyCFunction)Core_add_table, METH_VARARGS, "load a validated SASA table"},
    {"set_profile", (PyCFunction)Core_set_profile, METH_VARARGS, "symbols to profile"},
    {"snapshot", (PyCFunction)Core_snapshot, METH_NOARGS, "all counters"},
    {nullptr, nullptr, 0, nullptr}};

static PyTypeObject CoreType = {PyVarObject_HEAD_INIT(nullptr, 0)};

static PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_native",
                                 "sparce_sim's native timing core (C++ on unicorn's C API)", -1};

}  // namespace axsim

PyMODINIT_FUNC PyInit__native(void) {
    using namespace axsim;
    CoreType.tp_name = "sparce_sim._native.Core";
    CoreType.tp_basicsize = sizeof(Core);
    CoreType.tp_flags = Py_TPFLAGS_DEFAULT;
    CoreType.tp_new = Core_new;
    CoreType.tp_init = (initproc)Core_init;
    CoreType.tp_dealloc = (destructor)Core_dealloc;
    CoreType.tp_methods = Core_methods;
    CoreType.tp_doc = "One native simulation attached to a unicorn engine.";
    if (PyType_Ready(&CoreType) < 0)
        return nullptr;
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return nullptr;
    Py_INCREF(&CoreType);
    PyModule_AddObject(m, "Core", reinterpret_cast<PyObject *>(&CoreType));
    PyModule_AddIntConstant(m, "STOP_SVC", STOP_SVC);
    PyModule_AddIntConstant(m, "STOP_EXCEPTION", STOP_EXCEPTION);
    PyModule_AddIntConstant(m, "STOP_UC_ERROR", STOP_UC_ERROR);
    PyModule_AddIntConstant(m, "STOP_DECODE", STOP_DECODE);
    PyModule_AddIntConstant(m, "STOP_LIMIT", STOP_LIMIT);
    PyModule_AddIntConstant(m, "STOP_INTERRUPT", STOP_INTERRUPT);
    PyModule_AddIntConstant(m, "STOP_EMPTY", STOP_EMPTY);
    PyModule_AddIntConstant(m, "STOP_SASA_NEW", STOP_SASA_NEW);
    return m;
}
