"""Member training, ONNX export, resume, CIFAR-10 loader, defenses."""
import os
import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from sw_models.datasets import digits
from sw_models.empir import defenses
from sw_models.empir.attacks import fgsm
from sw_models.empir.ensemble import inspect_classifier
from sw_models.empir.models import build_model, load_cifar10
from sw_models.empir.train import MemberSpec, load_member, train_member
from sw_models.onnx_io import run

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def small_digits():
    x_tr, y_tr, x_te, y_te = digits(28)
    return x_tr[:192], y_tr[:192], x_te[:64], y_te[:64]


def test_train_export_and_resume(tmp_path, small_digits):
    spec = MemberSpec("mnistconv", 2, 4, seed=3, epochs=2)
    rec = train_member(spec, small_digits, tmp_path, log=lambda *_: None)
    assert rec["name"] == "mnistconv_w2a4_s3" and not rec["full_precision"]
    assert rec["clean_acc"] > 0.2                     # 10 classes: chance is 0.1
    onnx_path = tmp_path / rec["name"] / "model.onnx"
    assert inspect_classifier(onnx_path) == ((1, 28, 28), 10)
    model, info = load_member(rec["dir"])
    x = small_digits[2]
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    assert np.array_equal(run(onnx_path, x)[0].argmax(1), ref.argmax(1))
    stamp = os.stat(onnx_path).st_mtime_ns
    messages = []
    again = train_member(spec, small_digits, tmp_path, log=messages.append)
    assert again == rec and "skipped" in messages[0]
    assert os.stat(onnx_path).st_mtime_ns == stamp
    assert not list(tmp_path.rglob("*.tmp"))


def test_member_spec_rejects_bad_input():
    with pytest.raises(ValueError, match="1..32"):
        MemberSpec(wbits=0)
    with pytest.raises(ValueError, match="1..32"):
        MemberSpec(abits=64)
    with pytest.raises(ValueError, match="unknown architecture"):
        MemberSpec(arch="resnet")
    with pytest.raises(ValueError, match="unknown defense"):
        MemberSpec(defense="magic")


def test_load_member_names_bad_directory(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "member.json").write_text("{broken")
    with pytest.raises(ValueError, match=r"member\.json: not valid JSON"):
        load_member(tmp_path / "m")


def _write_batch(path, n, seed):
    rng = np.random.default_rng(seed)
    batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"labels": rng.integers(0, 10, n).tolist()}
    with open(path, "wb") as fh:
        pickle.dump(batch, fh)
    return batch


def test_cifar10_loader(tmp_path):
    batches = [_write_batch(tmp_path / f"data_batch_{i}", 4, i) for i in range(1, 6)]
    test = _write_batch(tmp_path / "test_batch", 3, 9)
    x_tr, y_tr, x_te, y_te = load_cifar10(tmp_path)
    assert x_tr.shape == (20, 3, 32, 32) and x_te.shape == (3, 3, 32, 32)
    assert x_tr.dtype == np.float32 and y_tr.dtype == np.int64
    first = batches[0][b"data"][0]
    assert x_tr[0, 1, 0, 0] == pytest.approx(first[1024] / 255)   # channel-major rows of 1024
    assert y_te.tolist() == test[b"labels"]
    model = build_model("cifarconv", 2, 2)
    assert model(torch.from_numpy(x_te)).shape == (3, 10)


def test_cifar10_loader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_batch_1: CIFAR-10 batch file not found"):
        load_cifar10(tmp_path)
    for i in range(1, 6):
        _write_batch(tmp_path / f"data_batch_{i}", 2, i)
    (tmp_path / "test_batch").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="test_batch: not a CIFAR-10 python batch"):
        load_cifar10(tmp_path)


@pytest.fixture(scope="module")
def tiny_linear():
    torch.manual_seed(0)
    x = torch.rand(16, 1, 4, 4)
    y = torch.arange(16) % 3
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 3)), x, y


def test_fgsm_adversarial_loss_is_half_clean_half_adversarial(tiny_linear):
    model, x, y = tiny_linear
    expected = 0.5 * F.cross_entropy(model(x), y) + 0.5 * F.cross_entropy(model(fgsm(model, x, y, 0.3)), y)
    assert torch.allclose(defenses.fgsm_adversarial(0.3)(model, x, y), expected)


def test_input_gradient_regularization_matches_manual(tiny_linear):
    model, x, y = tiny_linear
    W = model[1].weight.detach()
    probs = torch.softmax(model(x), 1).detach()
    grads = (probs - F.one_hot(y, 3)) @ W                     # dCE_i/dx_i for a linear model
    expected = F.cross_entropy(model(x), y) + 100 * (grads ** 2).sum(1).mean()
    assert torch.allclose(defenses.input_gradient_regularization(100)(model, x, y), expected, rtol=1e-5)


def test_distillation_loss_minimised_by_teacher(tiny_linear):
    teacher, x, y = tiny_linear
    student = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    loss = defenses.distillation(teacher, 100.0)
    with torch.no_grad():
        assert float(loss(teacher, x, y)) < float(loss(student, x, y))


def test_pgd_adversarial_loss_exceeds_clean(tiny_linear):
    model, x, y = tiny_linear
    adv_loss = defenses.pgd_adversarial(0.3)(model, x, y)
    with torch.no_grad():
        assert float(adv_loss) > float(F.cross_entropy(model(x), y))
