"""The Linux system calls a static AArch64 program may make on the engine (SE-mode style).

Shared by both engines: `svc #0` stops at the engine, which calls `emulate` with unicorn's state.
exit/exit_group end the run, write() to stdout/stderr is captured; anything else is refused with a
message naming the call, so the engine can report the PC.
"""
from __future__ import annotations

from unicorn import Uc, UcError
from unicorn import arm64_const as A

SYS_WRITE, SYS_EXIT, SYS_EXIT_GROUP = 64, 93, 94


class SyscallError(RuntimeError):
    """The program asked for a system call the engine does not provide."""


def emulate(uc: Uc, out: bytearray) -> int | None:
    """Carry out the system call in X8; return the exit code when the program exits, else None.
    write() output to fd 1/2 is appended to `out`."""
    num = uc.reg_read(A.UC_ARM64_REG_X8)
    if num in (SYS_EXIT, SYS_EXIT_GROUP):
        return uc.reg_read(A.UC_ARM64_REG_X0) & 0xFF
    if num == SYS_WRITE:
        fd, buf, count = (uc.reg_read(A.UC_ARM64_REG_X0 + i) for i in range(3))
        try:
            data = bytes(uc.mem_read(buf, count))
        except UcError:
            raise SyscallError(f"write() buffer {buf:#x}+{count} is not mapped") from None
        if fd in (1, 2):
            out += data
        uc.reg_write(A.UC_ARM64_REG_X0, count)
        return None
    raise SyscallError(f"unsupported syscall {num}")
