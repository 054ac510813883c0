"""Ensembles (§8.1.2, §8.2.2): tie rule, gradient rule, one-graph ONNX export, bad members."""
import numpy as np
import onnx
import pytest
import torch
import torch.nn as nn
from onnx import TensorProto, helper

from sw_models.empir.ensemble import (Ensemble, OnnxEnsemble, inspect_classifier,
                                      vote_scores)
from sw_models.empir.models import build_model
from sw_models.empir.store import export_onnx
from sw_models.onnx_io import OnnxModelError

torch.set_num_threads(1)


class Fixed(nn.Module):
    """Ignores its input (except for shape) and always predicts `cls` out of 5 classes."""

    def __init__(self, cls):
        super().__init__()
        self.register_buffer("z", torch.nn.functional.one_hot(torch.tensor(cls), 5).float() * 3)

    def forward(self, x):
        return self.z.expand(x.shape[0], 5) + 0 * x.flatten(1)[:, :1]


def _vote(classes, fp):
    ens = Ensemble([Fixed(c) for c in classes], fp, "vote", in_shape=(1, 2, 2))
    return int(ens.predict(torch.zeros(1, 1, 2, 2))[0])


def test_vote_majority_and_tie_rule():
    assert _vote([1, 2, 2], [True, False, False]) == 2      # majority beats the FP member
    assert _vote([1, 2, 3], [True, False, False]) == 1      # 3-way tie -> FP member
    assert _vote([2, 1, 3], [False, True, False]) == 1      # FP member need not be first
    assert _vote([3, 1, 4], [False, False, False]) == 3     # no FP member -> member 0
    assert _vote([4, 4, 1, 1, 0], [False, False, False, False, True]) == 1  # FP's class not tied -> lowest
    assert _vote([4, 4, 1, 1, 1], [True, False, False, False, False]) == 1


def test_vote_scores_counts():
    preds = torch.tensor([[0, 1], [2, 1], [2, 3]])
    s = vote_scores(preds, 4, priority=0)
    assert s.tolist() == [[1.5, 0, 2, 0], [0, 2.5, 0, 1]]


def _linear_members(weights):
    members = []
    for W in weights:
        m = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=False))
        m[1].weight.data = torch.tensor(W, dtype=torch.float32)
        members.append(m)
    return members


def _softmax_grad(W, x, y):
    """d softmax(Wx)_y / dx = s_y (W_y - sum_j s_j W_j), by hand."""
    z = W @ x
    s = np.exp(z - z.max())
    s /= s.sum()
    return s[y], s[y] * (W[y] - s @ W)


def _expected_grad(Ws, x, y):
    """Gradient of -log mean_k softmax(W_k x)_y over the given members."""
    parts = [_softmax_grad(W, x, y) for W in Ws]
    p = np.mean([q for q, _ in parts])
    return -np.mean([g for _, g in parts], axis=0) / p


WEIGHTS = [np.array([[2.0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0]]),
           np.array([[1.5, 0.5, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]]),
           np.array([[0, 0, 0, 0], [0, 0, 0, 0], [3.0, 1, 2, 1]])]
X = np.array([0.9, 0.2, 0.1, 0.4])


def _grad(ens, y):
    x = torch.tensor(X, dtype=torch.float32).view(1, 1, 2, 2).requires_grad_(True)
    loss = torch.nn.functional.nll_loss(ens.attack_logits(x), torch.tensor([y]))
    loss.backward()
    return x.grad.flatten().numpy()


def test_gradient_rule_averaging():
    ens = Ensemble(_linear_members(WEIGHTS), [True, False, False], "average", in_shape=(1, 2, 2))
    for y in range(3):
        assert np.allclose(_grad(ens, y), _expected_grad(WEIGHTS, X, y), atol=1e-5)


def test_gradient_rule_voting_uses_agreeing_members_only():
    ens = Ensemble(_linear_members(WEIGHTS), [True, False, False], "vote", in_shape=(1, 2, 2))
    x = torch.tensor(X, dtype=torch.float32).view(1, 1, 2, 2)
    preds = ens.member_logits(x).argmax(-1)[:, 0].tolist()
    assert preds == [0, 0, 2] and int(ens.predict(x)[0]) == 0   # members 0 and 1 carry the vote
    for y in range(3):
        assert np.allclose(_grad(ens, y), _expected_grad(WEIGHTS[:2], X, y), atol=1e-5)
    other = [WEIGHTS[0], WEIGHTS[1], WEIGHTS[2] * 2 + np.eye(3, 4)[::-1] * 0.5]   # change the outvoted member
    ens2 = Ensemble(_linear_members(other), [True, False, False], "vote", in_shape=(1, 2, 2))
    assert ens2.member_logits(x).argmax(-1)[:, 0].tolist() == [0, 0, 2]
    assert np.allclose(_grad(ens2, 1), _grad(ens, 1), atol=1e-6)


# The ONNX/torch/numpy agreement of the vote and the average is tested on trained members that
# disagree (tests/test_empir_mechanism.py); untrained members predicted one constant class.


def test_mismatched_member_shapes_rejected(tmp_path):
    a = build_model("cifarconv", in_shape=(1, 16, 16))
    b = build_model("cifarconv", in_shape=(3, 16, 16))
    with pytest.raises(ValueError, match="member 1 does not accept inputs of shape"):
        Ensemble([a, b], [True, False], in_shape=(1, 16, 16))
    c = build_model("cifarconv", in_shape=(1, 16, 16), n_classes=7)
    with pytest.raises(ValueError, match="mismatched output shapes"):
        Ensemble([a, c], [True, False], in_shape=(1, 16, 16))
    pa = export_onnx(a, tmp_path / "a.onnx", (1, 16, 16))
    pb = export_onnx(b, tmp_path / "b.onnx", (3, 16, 16))
    pc = export_onnx(c, tmp_path / "c.onnx", (1, 16, 16))
    with pytest.raises(ValueError, match="mismatched input shapes"):
        OnnxEnsemble([pa, pb], [True, False])
    with pytest.raises(ValueError, match="mismatched output shapes"):
        OnnxEnsemble([pa, pc], [True, False])


def test_onnx_that_is_not_a_classifier(tmp_path):
    conv = export_onnx(nn.Conv2d(1, 4, 3), tmp_path / "conv.onnx", (1, 8, 8))
    with pytest.raises(OnnxModelError, match=r"conv\.onnx: not a classifier"):
        inspect_classifier(conv)
    node = helper.make_node("Relu", ["input"], ["out"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 5])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 5])])
    flat = tmp_path / "flat.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), flat)
    with pytest.raises(OnnxModelError, match=r"flat\.onnx: not a classifier: input must be"):
        inspect_classifier(flat)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(OnnxModelError, match=r"junk\.onnx: not a valid ONNX model"):
        inspect_classifier(junk)
    assert inspect_classifier(export_onnx(build_model("cifarconv", in_shape=(1, 16, 16)),
                                          tmp_path / "ok.onnx", (1, 16, 16))) == ((1, 16, 16), 10)


def test_bad_method_and_flags():
    members = [Fixed(0), Fixed(1)]
    with pytest.raises(ValueError, match="ensembling method"):
        Ensemble(members, [True, False], "median", in_shape=(1, 2, 2))
    with pytest.raises(ValueError, match="precision flags"):
        Ensemble(members, [True], "vote", in_shape=(1, 2, 2))
