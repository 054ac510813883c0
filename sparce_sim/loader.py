"""ELF loading with pyelftools: segments, entry point, symbols (ARCHITECTURE.md, sparce_sim/loader).

Only static, little-endian AArch64 executables are accepted (the kernels are built that way, so the
same file runs on sparce_sim, qemu-aarch64 and gem5 SE). Inputs and outputs live at named symbols;
`Symbol.size` is the ELF size, or the distance to the next symbol in its section when the
assembly gave none.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile


class LoadError(ValueError):
    """The file is not a usable static AArch64 ELF, or a symbol is missing/too small."""


@dataclass(frozen=True)
class Segment:
    vaddr: int
    memsz: int
    data: bytes     # the file-backed bytes (p_filesz of them)
    flags: int      # PF_X = 1, PF_W = 2, PF_R = 4
    offset: int = 0  # where `data` starts in the file


@dataclass(frozen=True)
class Symbol:
    name: str
    addr: int
    size: int


@dataclass
class Program:
    path: Path
    entry: int
    segments: list[Segment]
    symbols: dict[str, Symbol]
    phdr: int = 0            # address of the program headers in memory (AT_PHDR), 0 if not loaded
    phent: int = 56
    phnum: int = 0
    absolutes: dict[str, int] = field(default_factory=dict)   # SHN_ABS symbols (e.g. table sizes)

    def symbol(self, name: str) -> Symbol:
        if name not in self.symbols:
            raise LoadError(f"{self.path}: symbol {name!r} not found")
        return self.symbols[name]

    def text_ranges(self) -> list[tuple[int, bytes]]:
        return [(s.vaddr, s.data) for s in self.segments if s.flags & 1]

    def file_offset(self, addr: int, size: int) -> int | None:
        """Offset in the file of the file-backed bytes [addr, addr + size); None if not file-backed."""
        for s in self.segments:
            if s.vaddr <= addr and addr + size <= s.vaddr + len(s.data):
                return s.offset + addr - s.vaddr
        return None

    def read(self, addr: int, size: int) -> bytes:
        """The file-backed bytes [addr, addr + size) (b"" when they are not all in the file)."""
        for s in self.segments:
            if s.vaddr <= addr and addr + size <= s.vaddr + len(s.data):
                return s.data[addr - s.vaddr:addr - s.vaddr + size]
        return b""


def load_elf(path: str | Path) -> Program:
    path = Path(path)
    if not path.is_file():
        raise LoadError(f"{path}: no such file")
    try:
        with path.open("rb") as fh:
            elf = ELFFile(fh)
            _check_header(path, elf)
            segments = [Segment(seg["p_vaddr"], seg["p_memsz"], seg.data(), seg["p_flags"], seg["p_offset"])
                        for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]
            symbols = _symbols(elf)
            absolutes = _absolutes(elf)
            entry = elf.header["e_entry"]
            phdr = _phdr_address(elf)
            phent, phnum = elf.header["e_phentsize"], elf.header["e_phnum"]
    except ELFError as exc:
        raise LoadError(f"{path}: corrupt ELF ({exc})") from None
    except (ValueError, OSError) as exc:
        if isinstance(exc, LoadError):
            raise
        raise LoadError(f"{path}: corrupt ELF ({exc})") from None
    if not segments:
        raise LoadError(f"{path}: no loadable segments")
    return Program(path, entry, segments, symbols, phdr, phent, phnum, absolutes)


def _phdr_address(elf: ELFFile) -> int:
    """Where the program headers are in memory: PT_PHDR, else the load segment holding e_phoff."""
    off = elf.header["e_phoff"]
    for seg in elf.iter_segments():
        if seg["p_type"] == "PT_PHDR":
            return seg["p_vaddr"]
    for seg in elf.iter_segments():
        if seg["p_type"] == "PT_LOAD" and seg["p_offset"] <= off < seg["p_offset"] + seg["p_filesz"]:
            return seg["p_vaddr"] + off - seg["p_offset"]
    return 0


def _check_header(path: Path, elf: ELFFile) -> None:
    if elf.header["e_machine"] != "EM_AARCH64":
        raise LoadError(f"{path}: not an AArch64 ELF (machine {elf.header['e_machine']})")
    if elf.elfclass != 64 or not elf.little_endian:
        raise LoadError(f"{path}: not a 64-bit little-endian ELF")
    if elf.header["e_type"] != "ET_EXEC":
        raise LoadError(f"{path}: not a static executable (type {elf.header['e_type']}); "
                        "link with -static -no-pie")
    if any(seg["p_type"] == "PT_INTERP" for seg in elf.iter_segments()):
        raise LoadError(f"{path}: dynamically linked; link with -static")


def _absolutes(elf: ELFFile) -> dict[str, int]:
    symtab = elf.get_section_by_name(".symtab")
    if symtab is None:
        return {}
    return {s.name: s["st_value"] for s in symtab.iter_symbols() if s.name and s["st_shndx"] == "SHN_ABS"
            and s["st_info"]["type"] != "STT_FILE"}


def _symbols(elf: ELFFile) -> dict[str, Symbol]:
    symtab = elf.get_section_by_name(".symtab")
    if symtab is None:
        return {}
    raw = [(s.name, s["st_value"], s["st_size"], s["st_shndx"]) for s in symtab.iter_symbols()
           if s.name and s["st_info"]["type"] in ("STT_OBJECT", "STT_FUNC", "STT_NOTYPE")
           and isinstance(s["st_shndx"], int)]
    ends = {}
    for idx in {r[3] for r in raw}:
        sec = elf.get_section(idx)
        ends[idx] = sec["sh_addr"] + sec["sh_size"]
    by_section: dict[int, list[int]] = {}
    for _, addr, _, idx in raw:
        by_section.setdefault(idx, []).append(addr)
    symbols = {}
    for name, addr, size, idx in raw:
        if size == 0:
            later = [a for a in by_section[idx] if a > addr]
            size = (min(later) if later else ends[idx]) - addr
        symbols[name] = Symbol(name, addr, size)
    return symbols
