"""model_zoo: one name per network, shipped ONNX files that run and classify held-out images, no torch
for chapter 4, torchvision's parameter counts for the seeded architectures."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

import model_zoo
from model_zoo.data import digits

REPO = Path(__file__).resolve().parents[1]


def _predict(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})[0]


def test_names_are_unique_and_differ_from_empirs_networks():
    from sw_models.empir.models import ARCHS
    names = [n.lower() for n in model_zoo.NAMES]
    assert len(set(names)) == len(names) == len(model_zoo.ZOO)
    assert not set(names) & {a.lower() for a in ARCHS}       # EMPIR's mnistconv is another network
    assert set(model_zoo.CHAPTER4) <= set(names)
    for net in model_zoo.ZOO.values():
        assert net.doc and ("Table" in net.doc or "chapter" in net.doc)


def test_unknown_name_is_a_value_error_naming_the_choices(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown model 'vgg'; choose from " + ", ".join(model_zoo.NAMES)):
        model_zoo.path("vgg", tmp_path)
    with pytest.raises(ValueError, match="choose from digitsconv, alexnet$"):
        model_zoo.get("resnet18", model_zoo.CHAPTER4)
    from axsim.cli import main
    for argv in (["network", "--shipped", "mnistconv", "--out", str(tmp_path / "n")],
                 ["compress", "--shipped", "vgg", "--out", str(tmp_path / "c")]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "choose from digitsconv, alexnet" in err
    assert not (tmp_path / "n" / "models").exists()


@pytest.mark.parametrize("name", [n for n in model_zoo.NAMES if model_zoo.ZOO[n].trained])
def test_shipped_onnx_is_valid_small_and_accurate_on_held_out_images(name, tmp_path):
    shipped = model_zoo.shipped_file(name)
    rec = model_zoo.record(name)
    assert shipped.stat().st_size == rec["bytes"] < 1_000_000
    onnx.checker.check_model(onnx.load(str(shipped)), full_check=True)
    _, _, x, y = digits(size=28, seed=rec["seed"])
    assert len(y) == rec["held_out_images"]
    acc = float(np.mean(_predict(shipped.read_bytes(), x).argmax(1) == y))
    assert acc >= rec["accuracy"] - 0.005 and rec["accuracy"] > 0.95
    # model_zoo.path writes plain float32 weights that compute what the shipped int8 file computes
    path = model_zoo.path(name, tmp_path)
    folded = onnx.load(str(path))
    onnx.checker.check_model(folded)
    assert not [n for n in folded.graph.node if n.op_type == "DequantizeLinear"]
    weights = [numpy_helper.to_array(i) for i in folded.graph.initializer]
    assert all(w.dtype == np.float32 for w in weights)
    np.testing.assert_allclose(_predict(path.read_bytes(), x[:64]), _predict(shipped.read_bytes(), x[:64]),
                               rtol=1e-5, atol=1e-5)


def test_numpy_digits_match_torch_bilinear_upsampling():
    """The numpy upsampling against torch's F.interpolate (the oracle), on the same split."""
    import torch
    import torch.nn.functional as F
    small, large = digits(size=8), digits(size=28)
    for a, b in zip(small[::2], large[::2]):
        want = F.interpolate(torch.from_numpy(a), size=(28, 28), mode="bilinear", align_corners=False).numpy()
        assert b.shape == want.shape and b.dtype == want.dtype
        np.testing.assert_allclose(b, want, rtol=0, atol=1e-6)
    for a, b in zip(small[1::2], large[1::2]):
        np.testing.assert_array_equal(a, b)        # labels: the same split


def test_chapter4_models_load_without_torch(tmp_path):
    code = f"""
import sys
from pathlib import Path
import model_zoo
from sparce_jobs.network import model_input
for name in model_zoo.CHAPTER4:
    p = model_zoo.path(name, Path({str(tmp_path)!r}), among=model_zoo.CHAPTER4)
    x = model_input(p, None, 0, 0)
    print(name, p.stat().st_size, x.shape)
bad = [m for m in sys.modules if m.split(".")[0] in ("torch", "sw_models") and m != "sw_models.onnx_io"
       and m != "sw_models"]
print("BAD", bad)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert "BAD []" in out.stdout, out.stdout
    assert "digitsconv" in out.stdout and "(1, 1, 28, 28)" in out.stdout and "(1, 3, 224, 224)" in out.stdout


@pytest.mark.parametrize("name,count", [("alexnet", 61_100_840), ("resnet18", 11_689_512),
                                        ("resnet50", 25_557_032), ("mobilenetv2", 3_504_872)])
def test_seeded_architectures_match_torchvision_parameter_counts_and_run(name, count):
    """torchvision's published parameter counts (batch-norm running statistics are buffers, not parameters)."""
    model = model_zoo.build(name)
    onnx.checker.check_model(model)
    params = sum(int(np.prod(i.dims)) for i in model.graph.initializer
                 if not i.name.endswith(("running_mean", "running_var")) and not i.name.startswith("relu6."))
    assert params == count
    if name != "alexnet":                     # alexnet runs in test_chapter4_models_load_without_torch
        y = _predict(model.SerializeToString(), model_zoo.example_input(name))
        assert y.shape == (1, 1000) and np.isfinite(y).all()


def test_seeded_networks_are_deterministic_by_seed():
    a, b, c = model_zoo.build("lstm", 0), model_zoo.build("lstm", 0), model_zoo.build("lstm", 1)
    assert a.SerializeToString() == b.SerializeToString() != c.SerializeToString()


def test_regeneration_is_deterministic_by_seed(tmp_path):
    pytest.importorskip("torch")
    from model_zoo.train import regenerate
    recs = [regenerate(tmp_path / d, epochs=1, seed=0) for d in ("a", "b")]
    assert (tmp_path / "a" / "digitsconv.onnx").read_bytes() == (tmp_path / "b" / "digitsconv.onnx").read_bytes()
    assert recs[0] == recs[1]
    assert json.loads((tmp_path / "a" / "digitsconv.json").read_text())["accuracy"] == recs[0]["accuracy"] > 0.5
