"""The Linux system calls a static AArch64 program makes, emulated SE-mode style (ARCHITECTURE.md,
sparce_sim/functional; dissertation §4.3.1 runs OpenBLAS programs in gem5's syscall-emulation mode).

Shared by both engines: `svc #0` stops at the engine, which calls `GuestOS.emulate` with unicorn's
state. What is provided is what glibc's static start-up, malloc and stdio need (brk, mmap/munmap,
mprotect, uname, set_tid_address, set_robust_list, rseq, prlimit64, getrandom, readlinkat,
newfstatat/fstat, ioctl, clock_gettime, write/writev, exit/exit_group, ...). Anything else is refused
with the call's name, so the engine can report the PC. Everything is deterministic: getrandom and
AT_RANDOM give a fixed byte stream, clock_gettime a clock that advances 1 µs per call, so two runs of one
program (SPARCE on and off) see the same inputs. The guest's stdout and stderr are kept separately
(`simout`/`simerr`, as gem5 SE writes them).
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

from unicorn import Uc, UcError
from unicorn import arm64_const as A

SYS_WRITE, SYS_EXIT, SYS_EXIT_GROUP = 64, 93, 94
PAGE = 0x1000
MMAP_BASE = 0x10_0000_0000          # anonymous mappings grow upwards from here
MMAP_LIMIT = 0x40_0000_0000
TID = 1000
ENOENT, EBADF, ENOMEM, EINVAL, ENOTTY, ENOSYS = 2, 9, 12, 22, 25, 38
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_FIXED, MAP_ANONYMOUS = 0x10, 0x20
AT_EMPTY_PATH = 0x1000
S_IFIFO, S_IFCHR = 0o010000, 0o020000

_UNISTD = Path("/usr/aarch64-linux-gnu/include/asm-generic/unistd.h")
_BUILTIN_NAMES = {17: "getcwd", 23: "dup", 25: "fcntl", 29: "ioctl", 48: "faccessat", 56: "openat",
                  57: "close", 62: "lseek", 63: "read", 64: "write", 66: "writev", 78: "readlinkat",
                  79: "newfstatat", 80: "fstat", 93: "exit", 94: "exit_group", 96: "set_tid_address",
                  98: "futex", 99: "set_robust_list", 113: "clock_gettime", 124: "sched_yield",
                  131: "tgkill", 134: "rt_sigaction", 135: "rt_sigprocmask", 160: "uname",
                  169: "gettimeofday", 172: "getpid", 178: "gettid", 198: "socket", 214: "brk",
                  215: "munmap", 216: "mremap", 220: "clone", 221: "execve", 222: "mmap",
                  226: "mprotect", 233: "madvise", 235: "mbind", 261: "prlimit64", 278: "getrandom",
                  291: "statx", 293: "rseq", 435: "clone3"}
_names: dict[int, str] | None = None


def syscall_name(num: int) -> str:
    """The Linux AArch64 name of system call `num` (from the cross toolchain's unistd.h when present)."""
    global _names
    if _names is None:
        _names = dict(_BUILTIN_NAMES)
        try:
            for m in re.finditer(r"#define __NR(?:3264)?_(\w+)\s+(\d+)", _UNISTD.read_text()):
                _names.setdefault(int(m.group(2)), m.group(1))
        except OSError:
            pass
        _names[79] = "newfstatat"
    return _names.get(num, "unknown")


class SyscallError(RuntimeError):
    """The program asked for a system call the engine does not provide."""


@dataclass
class GuestOS:
    """The state of the emulated kernel for one run: program break, anonymous mappings, output."""
    exe: str = "a.out"
    brk_start: int = 0
    brk: int = 0
    mmap_next: int = MMAP_BASE
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    calls: dict[str, int] = field(default_factory=dict)
    _random: int = 0x9E3779B97F4A7C15
    _clock_ns: int = 0

    @classmethod
    def for_segments(cls, exe: str, segment_ends: list[int]) -> "GuestOS":
        end = (max(segment_ends, default=0) + PAGE - 1) & ~(PAGE - 1)
        return cls(exe=exe, brk_start=end, brk=end)

    # ---- deterministic sources
    def random_bytes(self, n: int) -> bytes:
        """A fixed xorshift64* stream: the same for every run, so SPARCE on/off runs agree."""
        out = bytearray()
        x = self._random
        while len(out) < n:
            x ^= x >> 12
            x ^= (x << 25) & (1 << 64) - 1
            x ^= x >> 27
            out += ((x * 0x2545F4914F6CDD1D) & (1 << 64) - 1).to_bytes(8, "little")
        self._random = x
        return bytes(out[:n])

    # ---- the call
    def emulate(self, uc: Uc) -> int | None:
        """Carry out the system call in X8; return the exit code when the program exits, else None."""
        num = uc.reg_read(A.UC_ARM64_REG_X8)
        args = [uc.reg_read(A.UC_ARM64_REG_X0 + i) for i in range(6)]
        name = syscall_name(num)
        handler = getattr(self, f"_sys_{name}", None)
        if handler is None:
            raise SyscallError(f"unsupported syscall {num} ({name})")
        self.calls[name] = self.calls.get(name, 0) + 1
        try:
            result = handler(uc, *args)
        except UcError as exc:
            raise SyscallError(f"{name}(): guest memory not accessible ({exc})") from None
        if isinstance(result, _Exit):
            return result.code
        uc.reg_write(A.UC_ARM64_REG_X0, result & (1 << 64) - 1)
        return None

    # ---- process
    def _sys_exit(self, uc, code, *_):
        return _Exit(code & 0xFF)

    _sys_exit_group = _sys_exit

    def _sys_set_tid_address(self, uc, *_):
        return TID

    def _sys_gettid(self, uc, *_):
        return TID

    def _sys_getpid(self, uc, *_):
        return TID

    def _sys_getppid(self, uc, *_):
        return 1

    def _sys_getuid(self, uc, *_):
        return 0

    _sys_geteuid = _sys_getgid = _sys_getegid = _sys_getuid

    def _sys_set_robust_list(self, uc, *_):
        return 0

    def _sys_rseq(self, uc, *_):
        return -ENOSYS              # glibc then runs without restartable sequences (as under qemu)

    def _sys_mbind(self, uc, *_):
        return -ENOSYS              # no NUMA policy (OpenBLAS's allocator ignores the failure)

    def _sys_rt_sigaction(self, uc, sig, act, old, *_):
        if old:
            uc.mem_write(old, bytes(32))
        return 0

    def _sys_rt_sigprocmask(self, uc, how, new, old, *_):
        if old:
            uc.mem_write(old, bytes(8))
        return 0

    def _sys_sched_yield(self, uc, *_):
        return 0

    def _sys_prlimit64(self, uc, pid, resource, new, old, *_):
        if old:
            infinity = (1 << 64) - 1
            cur = 8 << 20 if resource == 3 else infinity          # RLIMIT_STACK: 8 MiB
            uc.mem_write(old, struct.pack("<QQ", cur, infinity))
        return 0

    def _sys_uname(self, uc, buf, *_):
        fields = (b"Linux", b"axsim", b"5.15.0", b"#1 SMP axsim", b"aarch64", b"(none)")
        uc.mem_write(buf, b"".join(f.ljust(65, b"\0") for f in fields))
        return 0

    def _sys_getrandom(self, uc, buf, count, *_):
        uc.mem_write(buf, self.random_bytes(count))
        return count

    def _sys_clock_gettime(self, uc, clock, tp, *_):
        self._clock_ns += 1000
        uc.mem_write(tp, struct.pack("<qq", self._clock_ns // 10 ** 9, self._clock_ns % 10 ** 9))
        return 0

    def _sys_gettimeofday(self, uc, tv, *_):
        self._clock_ns += 1000
        if tv:
            uc.mem_write(tv, struct.pack("<qq", self._clock_ns // 10 ** 9, self._clock_ns // 1000 % 10 ** 6))
        return 0

    # ---- memory
    def _sys_brk(self, uc, addr, *_):
        if addr <= self.brk_start:
            return self.brk
        old_top = (self.brk + PAGE - 1) & ~(PAGE - 1)
        new_top = (addr + PAGE - 1) & ~(PAGE - 1)
        if new_top > old_top:
            try:
                uc.mem_map(old_top, new_top - old_top)
            except UcError:
                return self.brk                  # overlaps something: the break stays (ENOMEM)
        elif new_top < old_top:
            uc.mem_unmap(new_top, old_top - new_top)
        self.brk = addr
        return addr

    def _sys_mmap(self, uc, addr, length, prot, flags, fd, offset):
        if not flags & MAP_ANONYMOUS or fd not in (-1 & (1 << 64) - 1, (1 << 32) - 1):
            raise SyscallError("mmap of a file is not supported (only anonymous memory)")
        size = (length + PAGE - 1) & ~(PAGE - 1)
        if size == 0:
            return -EINVAL
        if flags & MAP_FIXED:
            start = addr & ~(PAGE - 1)
            self._unmap(uc, start, size)
        else:
            start = self.mmap_next
            if start + size > MMAP_LIMIT:
                return -ENOMEM
            self.mmap_next = start + size + PAGE          # a guard page between mappings
        uc.mem_map(start, size, _uc_perms(prot))
        return start

    def _sys_mremap(self, uc, addr, old_len, new_len, flags, *_):
        """Shrink in place, or (MREMAP_MAYMOVE) move to a fresh mapping: glibc's realloc of big blocks."""
        old = (old_len + PAGE - 1) & ~(PAGE - 1)
        new = (new_len + PAGE - 1) & ~(PAGE - 1)
        if addr & (PAGE - 1) or new == 0:
            return -EINVAL
        if new <= old:
            self._unmap(uc, addr + new, old - new)
            return addr
        if not flags & 1:
            return -ENOMEM
        perms = next((p for b, e, p in uc.mem_regions() if b <= addr <= e), PROT_READ | PROT_WRITE)
        start = self._sys_mmap(uc, 0, new, perms, MAP_ANONYMOUS, -1 & (1 << 64) - 1, 0)
        if start < 0:
            return start
        uc.mem_write(start, bytes(uc.mem_read(addr, old)))
        self._unmap(uc, addr, old)
        return start

    def _sys_munmap(self, uc, addr, length, *_):
        if addr & (PAGE - 1):
            return -EINVAL
        self._unmap(uc, addr, (length + PAGE - 1) & ~(PAGE - 1))
        return 0

    def _sys_mprotect(self, uc, addr, length, prot, *_):
        if addr & (PAGE - 1):
            return -EINVAL
        size = (length + PAGE - 1) & ~(PAGE - 1)
        for start, end in _mapped(uc, addr, addr + size):
            uc.mem_protect(start, end - start, _uc_perms(prot))
        return 0

    def _sys_madvise(self, uc, *_):
        return 0

    @staticmethod
    def _unmap(uc: Uc, addr: int, size: int) -> None:
        for start, end in _mapped(uc, addr, addr + size):
            uc.mem_unmap(start, end - start)

    # ---- files: only the three standard streams exist
    def _sys_write(self, uc, fd, buf, count, *_):
        return self._write(uc, fd, bytes(uc.mem_read(buf, count)) if count else b"")

    def _sys_writev(self, uc, fd, iov, iovcnt, *_):
        data = bytearray()
        for k in range(iovcnt):
            base, length = struct.unpack("<QQ", bytes(uc.mem_read(iov + 16 * k, 16)))
            if length:
                data += uc.mem_read(base, length)
        return self._write(uc, fd, bytes(data))

    def _write(self, uc, fd, data: bytes) -> int:
        if fd == 1:
            self.stdout += data
        elif fd == 2:
            self.stderr += data
        else:
            return -EBADF
        return len(data)

    def _sys_read(self, uc, fd, *_):
        return 0 if fd == 0 else -EBADF          # stdin is empty

    def _sys_close(self, uc, fd, *_):
        return 0 if fd <= 2 else -EBADF

    def _sys_ioctl(self, uc, fd, request, *_):
        return -ENOTTY if fd <= 2 else -EBADF     # the streams are files (simout), not terminals

    def _sys_lseek(self, uc, fd, *_):
        return -29 if fd <= 2 else -EBADF         # ESPIPE

    def _sys_fcntl(self, uc, fd, *_):
        return 0 if fd <= 2 else -EBADF

    def _sys_fstat(self, uc, fd, buf, *_):
        if fd > 2:
            return -EBADF
        uc.mem_write(buf, _stat(S_IFIFO | 0o600))
        return 0

    def _sys_newfstatat(self, uc, dirfd, path, buf, flags, *_):
        name = _cstring(uc, path) if path else b""
        if name == b"" and flags & AT_EMPTY_PATH:
            return self._sys_fstat(uc, dirfd, buf)
        return -ENOENT                             # the simulated system has no files

    def _sys_readlinkat(self, uc, dirfd, path, buf, size, *_):
        if _cstring(uc, path) != b"/proc/self/exe":
            return -ENOENT
        data = self.exe.encode()[:size]
        uc.mem_write(buf, data)
        return len(data)

    def _sys_openat(self, uc, dirfd, path, *_):
        return -ENOENT                             # no files, as a program with no inputs expects

    def _sys_faccessat(self, uc, *_):
        return -ENOENT


@dataclass(frozen=True)
class _Exit:
    code: int


def _uc_perms(prot: int) -> int:
    return prot & (PROT_READ | PROT_WRITE | PROT_EXEC)     # unicorn's UC_PROT_* use the same bits


def _mapped(uc: Uc, lo: int, hi: int) -> list[tuple[int, int]]:
    """The parts of [lo, hi) that are mapped, as (start, end) pairs."""
    out = []
    for begin, end, _perms in uc.mem_regions():
        s, e = max(lo, begin), min(hi, end + 1)
        if s < e:
            out.append((s, e))
    return out


def _cstring(uc: Uc, addr: int, limit: int = 4096) -> bytes:
    data = bytearray()
    while len(data) < limit:
        chunk = bytes(uc.mem_read(addr + len(data), 64))
        if b"\0" in chunk:
            return bytes(data + chunk[:chunk.index(b"\0")])
        data += chunk
    return bytes(data)


def _stat(mode: int) -> bytes:
    """struct stat (AArch64 generic layout, 128 bytes) for a stream: mode, blksize 4096."""
    return struct.pack("<QQIIIIQQqiiqQQQQQQII", 0, 0, mode, 1, 0, 0, 0, 0, 0, 4096, 0, 0, 0, 0, 0, 0, 0,
                       0, 0, 0)
