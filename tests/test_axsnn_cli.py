"""`axsim snn` end to end on digits (tiny settings), resume, bad input (chapter 6)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from axsim.cli import main


def test_cli_module_imports_no_torch():
    code = ("import sys, argparse; import sw_models.axsnn.cli as c; p = argparse.ArgumentParser();"
            "c.register(p.add_subparsers()); print(sorted(m for m in ('torch', 'onnx', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("snn")
    args = ["snn", "all", "--out", str(out), "--data", "digits", "--epochs", "3", "--steps", "30",
            "--lam", "5", "--n-tune", "40", "--n-test", "60", "--losses", "0", "5", "--points", "3"]
    assert main(args) == 0
    return out


def test_all_writes_every_output(run_dir):
    for name in ("ann.onnx", "snn.npz", "convert.json", "search.json", "results.json", "trace.npz",
                 "fig6_4.png", "fig6_5.png"):
        assert (run_dir / name).exists(), name
    res = json.loads((run_dir / "results.json").read_text())
    assert set(res["runs"]) == {"exact", "loss_0", "loss_5"}
    exact, ax = res["runs"]["exact"], res["runs"]["loss_5"]
    assert ax["updates"] <= exact["updates"]
    assert 0.5 < json.loads((run_dir / "convert.json").read_text())["ann_test_accuracy"] <= 1


def test_rerun_resumes_without_recomputing(run_dir, capsys):
    before = {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir() if p.suffix in (".npz", ".onnx")}
    search = (run_dir / "search.json").read_text()
    assert main(["snn", "search", "--out", str(run_dir), "--data", "digits", "--steps", "30", "--lam", "5",
                 "--n-tune", "40", "--losses", "0", "5", "--points", "3"]) == 0
    assert (run_dir / "search.json").read_text() == search
    after = {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir() if p.suffix in (".npz", ".onnx")}
    assert before == after


def test_simulate_command_prints_json(run_dir, capsys):
    assert main(["snn", "simulate", "--out", str(run_dir), "--data", "digits", "--n", "10", "--steps", "20"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_images"] == 10 and out["updates"] > 0


def _onnx(path, act):
    import torch
    from sw_models.empir.store import export_onnx
    layers = [torch.nn.Flatten(), torch.nn.Linear(64, 10), act]
    export_onnx(torch.nn.Sequential(*layers), path, (1, 8, 8))
    return path


@pytest.mark.parametrize("act,msg", [("sigmoid", "non-ReLU activation Sigmoid"), ("maxpool", "unsupported op MaxPool")])
def test_bad_onnx_refused_and_nothing_written(tmp_path, capsys, act, msg):
    import torch
    if act == "sigmoid":
        model = _onnx(tmp_path / "m.onnx", torch.nn.Sigmoid())
    else:
        from sw_models.empir.store import export_onnx
        model = tmp_path / "m.onnx"
        export_onnx(torch.nn.Sequential(torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(16, 10)),
                    model, (1, 8, 8))
    out = tmp_path / "run"
    out.mkdir()
    (out / "convert.json").write_text("keep")
    assert main(["snn", "convert", "--out", str(out), "--data", "digits", "--onnx", str(model)]) == 2
    err = capsys.readouterr().err.strip()
    assert msg in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == ["convert.json"]
    assert (out / "convert.json").read_text() == "keep"


@pytest.mark.parametrize("extra,msg", [(["--lam", "0"], "lambda"), (["--levels", "1", "0.5", "1.5", "0"], "alpha levels"),
                                       (["--levels", "1", "0.5"], "alpha levels")])
def test_bad_settings_refused(tmp_path, capsys, extra, msg):
    out = tmp_path / "run"
    assert main(["snn", "all", "--out", str(out), "--data", "digits"] + extra) == 2
    assert msg in capsys.readouterr().err
    assert not out.exists()


def test_empty_dataset_refused(tmp_path, capsys):
    f = tmp_path / "empty.npz"
    np.savez(f, x_train=np.zeros((0, 1, 8, 8)), y_train=np.zeros(0), x_test=np.zeros((0, 1, 8, 8)), y_test=np.zeros(0))
    out = tmp_path / "run"
    assert main(["snn", "all", "--out", str(out), "--data", f"npz:{f}", "--arch", "digits_mlp"]) == 2
    assert "empty" in capsys.readouterr().err
    assert not out.exists()


def test_heldout_tuning_split_is_disjoint_from_its_test_half():
    from sw_models.axsnn.pipeline import _split
    _, _, x_te, y_te = _split("digits", "train")
    x_tune, y_tune, x_test, y_test = _split("digits", "heldout")
    assert len(x_tune) + len(x_test) == len(x_te) and len(x_test) == len(x_te) // 2
    assert np.array_equal(np.concatenate([x_test, x_tune]), x_te)
    with pytest.raises(ValueError, match="tune_on"):
        _split("digits", "nope")
