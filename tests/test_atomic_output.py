"""atomic_output: mode 0644, parents created, no temporary file left after a failure (old file
intact), CSV as csv.DictWriter writes it, figures as PNG + PDF."""
import csv
import os
import stat
import subprocess
import sys

import pytest

import atomic_output as ao


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture(autouse=True)
def strict_umask():
    """Under umask 077 a plain open() would make 0600 files: the mode must come from the module."""
    old = os.umask(0o077)
    yield
    os.umask(old)


def test_write_text_and_bytes_are_0644_and_create_parents(tmp_path):
    t = ao.write_text(tmp_path / "a" / "b" / "x.txt", "héllo\n")
    b = ao.write_bytes(tmp_path / "c" / "y.bin", b"\x00\x01")
    assert t.read_bytes() == "héllo\n".encode() and b.read_bytes() == b"\x00\x01"
    assert mode(t) == 0o644 and mode(b) == 0o644
    assert leftovers(t.parent) == [] and leftovers(b.parent) == []


def test_overwrite_replaces_and_resets_mode(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("old")
    os.chmod(path, 0o600)
    ao.write_text(path, "new")
    assert path.read_text() == "new" and mode(path) == 0o644


def test_explicit_mode(tmp_path):
    assert mode(ao.write_bytes(tmp_path / "prog.elf", b"\x7fELF", mode=0o755)) == 0o755


def test_writer_that_raises_leaves_old_file_and_no_temp(tmp_path):
    path = tmp_path / "model.pt"
    path.write_text("old contents")

    def writer(tmp):
        with open(tmp, "w") as fh:
            fh.write("half")
        raise RuntimeError("killed mid-write")
    with pytest.raises(RuntimeError, match="killed"):
        ao.write_with(path, writer)
    assert path.read_text() == "old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def test_keyboard_interrupt_also_cleans_up(tmp_path):
    def writer(tmp):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        ao.write_with(tmp_path / "x.json", writer)
    assert list(tmp_path.iterdir()) == []


def test_write_with_gets_a_name_in_the_target_folder(tmp_path):
    seen = []
    out = ao.write_with(tmp_path / "sub" / "f.onnx", lambda tmp: (seen.append(tmp), tmp.write_bytes(b"onnx")))
    assert seen[0].parent == tmp_path / "sub" and seen[0].name.startswith(".f.onnx.")
    assert out.read_bytes() == b"onnx" and mode(out) == 0o644 and leftovers(out.parent) == []


def test_write_with_accepts_a_writer_that_recreates_the_file(tmp_path):
    """A linker unlinks its -o file and makes a new one (0755 under umask 022): the result still
    gets the requested mode and lands on the target."""
    def writer(tmp):
        os.unlink(tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o700)
        os.write(fd, b"new")
        os.close(fd)
    out = ao.write_with(tmp_path / "k.elf", writer, mode=0o755)
    assert out.read_bytes() == b"new" and mode(out) == 0o755


def test_write_many_all_or_nothing(tmp_path):
    a, b = tmp_path / "a.S", tmp_path / "sub" / "b.json"
    a.write_text("old a")
    with pytest.raises(TypeError):
        ao.write_many({a: "new a", b: 12345})          # the second cannot be written
    assert a.read_text() == "old a" and not b.exists()
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "sub") == []
    assert ao.write_many({a: "new a", b: b"{}"}) == [a, b]
    assert a.read_text() == "new a" and b.read_bytes() == b"{}"
    assert mode(a) == mode(b) == 0o644


def test_write_csv_matches_dictwriter(tmp_path):
    rows = [{"k": "sgemm", "v": 1.5}, {"k": "dot", "v": 2}]
    out = ao.write_csv(tmp_path / "r.csv", rows, ["k", "v"])
    assert out.read_bytes() == b"k,v\r\nsgemm,1.5\r\ndot,2\r\n"
    with out.open() as fh:
        assert list(csv.DictReader(fh)) == [{"k": "sgemm", "v": "1.5"}, {"k": "dot", "v": "2"}]
    assert ao.write_csv(tmp_path / "d.csv", rows).read_bytes() == out.read_bytes()   # fields from row 0
    assert ao.write_csv(tmp_path / "e.csv", []).read_bytes() == b""
    with pytest.raises(ValueError):                    # a field the header lacks is refused
        ao.write_csv(tmp_path / "f.csv", rows, ["k"])
    assert not (tmp_path / "f.csv").exists() and leftovers(tmp_path) == []


def test_copy_file(tmp_path):
    src = tmp_path / "src.a"
    src.write_bytes(b"!<arch>\n")
    os.chmod(src, 0o600)
    dest = ao.copy_file(src, tmp_path / "out" / "lib.a")
    assert dest.read_bytes() == b"!<arch>\n" and mode(dest) == 0o644
    with pytest.raises(FileNotFoundError):
        ao.copy_file(tmp_path / "missing", tmp_path / "out" / "lib.a")
    assert dest.read_bytes() == b"!<arch>\n" and leftovers(dest.parent) == []


@pytest.mark.parametrize("given", ["fig.png", "fig", "fig.pdf"])
def test_save_figure_writes_png_and_pdf(tmp_path, given):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [1, 0])
    png = ao.save_figure(fig, tmp_path / "figs" / given)
    assert png == tmp_path / "figs" / "fig.png"
    pdf = png.with_suffix(".pdf")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and pdf.read_bytes()[:5] == b"%PDF-"
    assert mode(png) == mode(pdf) == 0o644
    assert sorted(p.name for p in png.parent.iterdir()) == ["fig.pdf", "fig.png"]
    assert not plt.fignum_exists(fig.number)               # closed


def test_save_figure_dpi_and_png_only(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sizes = {}
    for dpi in (100, 300):
        fig, ax = plt.subplots(figsize=(2, 1))
        ax.plot([0, 1], [1, 0])
        png = ao.save_figure(fig, tmp_path / f"f{dpi}.png", dpi=dpi, pdf=False)
        sizes[dpi] = int.from_bytes(png.read_bytes()[16:20], "big")      # IHDR width
    assert sizes[300] == pytest.approx(3 * sizes[100], abs=2)
    assert not list(tmp_path.glob("*.pdf"))


def test_savefig_failure_leaves_nothing(tmp_path):
    class Broken:
        def savefig(self, *a, **k):
            raise OSError("disk full")
    with pytest.raises(OSError, match="disk full"):
        ao.save_figure(Broken(), tmp_path / "x.png", close=False)
    assert list(tmp_path.iterdir()) == []


def test_import_is_cheap_and_self_contained():
    code = ("import sys, atomic_output; "
            "heavy = [m for m in ('matplotlib', 'numpy', 'torch', 'sparce_sim', 'sasa_compiler', 'sw_models') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(ao.__file__)))
    assert out.stdout.strip() == "[]"
