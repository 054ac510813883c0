"""Atomic file output for the whole toolkit: text, bytes, CSV, copies, files from writers, figures.

Every function writes to a temporary file in the target's own folder (so the final rename never
crosses a file system), sets its mode (0644 unless told otherwise: mkstemp makes 0600, and results
are for everyone to read), then moves it onto the target with os.replace. A reader therefore sees
the old file or the whole new one, never a part, and an interrupted job never leaves a half-written
file that a resumed job would trust. On any exception the temporary file is removed and the old
target is left as it was. Missing parent folders are created.

This is the bottom layer: it imports nothing from the project, so the engine (sparce_sim), the
compiler (sasa_compiler), the jobs, the software models and the benchmarks may all import it.
matplotlib is imported only inside save_figure, so importing this module stays cheap.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["FILE_MODE", "copy_file", "csv_text", "save_figure", "write_bytes", "write_csv", "write_many",
           "write_text", "write_with"]

FILE_MODE = 0o644
"""The mode of every file written here unless a caller asks for another (e.g. 0o755 for an ELF)."""

PathLike = str | os.PathLike


def _temp_for(path: Path) -> Path:
    """A new empty temporary file beside `path`, named `.NAME.XXXXXXXX.tmp`: hidden, and `*.tmp`
    finds any left by a killed process."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def _commit(tmp: Path, path: Path, mode: int) -> None:
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def write_with(path: PathLike, writer: Callable[[Path], Any], *, mode: int = FILE_MODE) -> Path:
    """Call writer(tmp) to write a temporary file beside `path`, then move it onto `path`.

    For writers that need a file name: torch.save, onnx.save, torch.onnx.export, a compiler or
    linker run with `-o tmp`. The temporary name ends with `.tmp`, so a writer that picks the format
    from the name must be told the format (savefig(tmp, format="png")), and one that appends a
    suffix must get an open file instead (np.save/np.savez: `with open(tmp, "wb") as fh`). The
    writer may replace the file (unlink and recreate it); whatever is at `tmp` when it returns
    becomes `path`. Returns `path`."""
    path = Path(path)
    tmp = _temp_for(path)
    try:
        writer(tmp)
        _commit(tmp, path, mode)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_bytes(path: PathLike, data: bytes, *, mode: int = FILE_MODE) -> Path:
    """Write `data` to `path` atomically. Returns `path`."""
    return write_with(path, lambda tmp: tmp.write_bytes(data), mode=mode)


def write_text(path: PathLike, text: str, *, mode: int = FILE_MODE) -> Path:
    """Write `text` (UTF-8, newlines as given) to `path` atomically. Returns `path`."""
    return write_bytes(path, text.encode("utf-8"), mode=mode)


def write_many(files: Mapping[PathLike, str | bytes], *, mode: int = FILE_MODE) -> list[Path]:
    """Write several files together: every one to its temporary file first, then all renamed, so a
    failure while writing leaves every target as it was (no mix of new and old outputs from one
    run). str is written as UTF-8. Returns the paths in the order given."""
    temps: list[tuple[Path, Path]] = []
    try:
        for target, data in files.items():
            path = Path(target)
            tmp = _temp_for(path)
            temps.append((tmp, path))
            tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
            os.chmod(tmp, mode)
        for tmp, path in temps:
            os.replace(tmp, path)
    finally:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
    return [path for _, path in temps]


def csv_text(rows: Iterable[Mapping[str, Any]], fields: Sequence[str]) -> str:
    """Rows as CSV text (csv.DictWriter's dialect: comma, \\r\\n line ends) with a header line."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(fields))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_csv(path: PathLike, rows: Sequence[Mapping[str, Any]], fields: Sequence[str] | None = None,
              *, mode: int = FILE_MODE) -> Path:
    """Write `rows` as CSV with a header atomically. `fields` defaults to the keys of the first row;
    with no rows and no fields the file is empty. Returns `path`."""
    if fields is None:
        fields = list(rows[0]) if rows else []
    return write_text(path, csv_text(rows, fields) if fields else "", mode=mode)


def copy_file(src: PathLike, dest: PathLike, *, mode: int = FILE_MODE) -> Path:
    """Copy the contents of `src` onto `dest` atomically (mode `mode`, not src's). Returns `dest`."""
    src = Path(src)
    return write_with(dest, lambda tmp: shutil.copyfile(src, tmp), mode=mode)


def save_figure(fig, path: PathLike, *, dpi: int = 300, pdf: bool = True, close: bool = True) -> Path:
    """Write a matplotlib figure as a `dpi` PNG and (unless pdf=False) a vector PDF beside it, each
    atomically, with bbox_inches="tight"; then close it (unless close=False).

    `path` is the PNG's path or the stem: `fig.png`, `fig.pdf` and `fig` all give fig.png + fig.pdf.
    Returns the PNG's path."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix.lower() in (".png", ".pdf") else path
    png = stem.with_name(stem.name + ".png")
    targets = [(png, {"format": "png", "dpi": dpi})]
    if pdf:
        targets.append((stem.with_name(stem.name + ".pdf"), {"format": "pdf"}))
    for target, options in targets:
        write_with(target, lambda tmp, options=options: fig.savefig(tmp, bbox_inches="tight", **options))
    if close:
        import matplotlib.pyplot as plt
        plt.close(fig)
    return png
