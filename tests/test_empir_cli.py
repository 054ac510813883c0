"""`axsim empir` end to end on a tiny configuration, and its user errors."""
import json

import numpy as np
import pytest

from axsim.cli import main
from sw_models.empir.store import export_onnx

import torch.nn as nn

TINY = ["--n-train", "96", "--n-test", "24"]


def test_train_search_evaluate_plot(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["empir", "train", "--out", out, *TINY, "--bits", "32:32", "2:4", "1:2",
                 "--epochs", "1"]) == 0
    assert main(["empir", "search", "--out", out, *TINY, "--n-search", "6",
                 "--max-clean-drop", "100"]) == 0
    capsys.readouterr()
    assert main(["empir", "evaluate", "--out", out, *TINY, "--n-eval", "6"]) == 0
    res = json.loads(capsys.readouterr().out)
    empir = res["table"]["EMPIR"]
    for key in ("clean", "cw", "fgsm", "bim", "pgd", "average", "adaptive_worst"):
        assert 0 <= empir[key] <= 100
    assert empir["average"] == pytest.approx(np.mean([empir[k] for k in ("cw", "fgsm", "bim", "pgd")]),
                                             abs=0.01)
    # the exported one-graph ensemble reproduces the torch ensemble's accuracy
    assert res["onnx"]["onnx_clean"] == res["onnx"]["torch_clean"]
    assert main(["empir", "plot", "--out", out]) == 0
    assert len(list((tmp_path / "run" / "plots").glob("*.png"))) == 4
    members = sorted((tmp_path / "run" / "members").glob("*/model.onnx"))
    assert main(["empir", "evaluate", "--out", out, *TINY, "--members", *map(str, members),
                 "--fp", "0", "0", "1"]) == 0


def test_user_errors(tmp_path, capsys):
    assert main(["empir", "train", "--out", str(tmp_path), *TINY, "--bits", "0:4"]) == 2
    assert "axsim empir: error:" in capsys.readouterr().err
    assert main(["empir", "search", "--out", str(tmp_path / "none"), *TINY]) == 2
    assert "no trained members" in capsys.readouterr().err
    conv = export_onnx(nn.Conv2d(1, 2, 3), tmp_path / "conv.onnx", (1, 28, 28))
    assert main(["empir", "evaluate", "--out", str(tmp_path), *TINY, "--members", str(conv)]) == 2
    err = capsys.readouterr().err
    assert "conv.onnx: not a classifier" in err
    assert main(["empir", "train", "--out", str(tmp_path), "--data", "cifar10:" + str(tmp_path / "x"),
                 "--bits", "32:32"]) == 2
    assert "data_batch_1" in capsys.readouterr().err
