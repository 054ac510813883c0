"""EMPIR's decision and attack rules on small *trained* members, against independent computations:
a numpy vote, the FP member's own argmax, direct single-member attacks, and the paper-style attack.

The members are tiny (64-32-10 perceptrons on 8x8 digits: one full precision, two with 2-bit
weights and 2-bit activations through the same DoReFa quantizers as the real members) so that
they train in about a second each; they disagree often enough for every voting branch to run.
"""
import numpy as np
import pytest
import torch
import torch.nn as nn

from sw_models.datasets import digits
from sw_models.empir import attacks as A
from sw_models.empir.ensemble import Ensemble, OnnxEnsemble, export_ensemble
from sw_models.empir.evaluate import attack_suite
from sw_models.empir.matrix import attack_matrix, input_gradient_norms
from sw_models.empir.models import QLinear
from sw_models.empir.quant import quantize_activation
from sw_models.empir.store import export_onnx
from sw_models.empir.train import fit
from sw_models.empir import defenses
from sw_models.onnx_io import run

torch.set_num_threads(1)
SHAPE = (1, 8, 8)


class Tiny(nn.Module):
    """Flatten, (Q)Linear 64->32, ReLU or k-bit activation, Linear 32->10."""

    def __init__(self, wbits=32, abits=32):
        super().__init__()
        self.fc1 = QLinear(64, 32, wbits=wbits, scale=True) if wbits < 32 else nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        self.abits = abits

    def forward(self, x):
        h = self.fc1(x.flatten(1))
        h = quantize_activation(h, self.abits) if self.abits < 32 else torch.relu(h)
        return self.fc2(h)


@pytest.fixture(scope="module")
def trained():
    xtr, ytr, xte, yte = (torch.as_tensor(a) for a in digits(size=8, seed=0))
    members = []
    for seed, (w, a) in enumerate([(32, 32), (2, 2), (2, 2)]):
        torch.manual_seed(seed)
        m = Tiny(w, a)
        fit(m, defenses.plain_ce, xtr, ytr, 6, 1e-2, 32, seed)
        members.append(m.eval())
    gen = torch.Generator().manual_seed(5)
    noisy = (xte + 0.35 * torch.randn(xte.shape, generator=gen)).clamp(0, 1)
    return members, torch.cat([xte, noisy]), torch.cat([yte, yte]), xte, yte


def numpy_vote(preds, n_classes, fp_index):
    """Max voting by hand: most votes wins; a tie goes to the FP member's class if tied, else the
    lowest tied class."""
    out = []
    for col in preds.T:
        counts = np.bincount(col, minlength=n_classes)
        tied = np.flatnonzero(counts == counts.max())
        out.append(col[fp_index] if col[fp_index] in tied else tied.min())
    return np.array(out)


def test_members_are_trained_and_disagree(trained):
    members, x, _, xte, yte = trained
    with torch.no_grad():
        accs = [float((m(xte).argmax(1) == yte).float().mean()) for m in members]
        preds = torch.stack([m(x).argmax(1) for m in members]).numpy()
    assert min(accs) > 0.8
    three_way = (preds[0] != preds[1]) & (preds[0] != preds[2]) & (preds[1] != preds[2])
    assert three_way.sum() >= 3 and (preds[1] != preds[0]).sum() >= 20


def test_fp_plus_one_lp_member_votes_like_the_fp_member(trained):
    members, x, _, _, _ = trained
    ens = Ensemble(members[:2], [True, False], "vote", in_shape=SHAPE)
    with torch.no_grad():
        fp = members[0](x).argmax(1)
        lp = members[1](x).argmax(1)
    assert int((fp != lp).sum()) >= 20                      # the tie branch really runs
    assert torch.equal(ens.predict(x), fp)
    ens_lp_first = Ensemble(members[1::-1], [False, True], "vote", in_shape=SHAPE)
    assert torch.equal(ens_lp_first.predict(x), fp)


@pytest.mark.parametrize("method", ["vote", "average"])
def test_vote_and_average_match_numpy_through_torch_and_onnx(trained, tmp_path, method):
    members, x, _, _, _ = trained
    ens = Ensemble(members, [True, False, False], method, in_shape=SHAPE)
    with torch.no_grad():
        logits = torch.stack([m(x) for m in members]).numpy()
    if method == "vote":
        expected = numpy_vote(logits.argmax(-1), 10, 0)
    else:
        e = np.exp(logits - logits.max(-1, keepdims=True))
        expected = (e / e.sum(-1, keepdims=True)).mean(0).argmax(1)
    assert np.array_equal(ens.predict(x).numpy(), expected)
    _, labels = run(export_ensemble(ens, tmp_path / "ens.onnx"), x.numpy())
    assert np.array_equal(labels, expected)
    paths = [export_onnx(m, tmp_path / f"m{i}.onnx", SHAPE) for i, m in enumerate(members)]
    assert np.array_equal(OnnxEnsemble(paths, [True, False, False], method).predict(x.numpy()), expected)


def test_adaptive_attack_is_at_least_as_strong_as_the_paper_style_attack(trained):
    members, _, _, xte, yte = trained
    ens = Ensemble(members, [True, False, False], "vote", in_shape=SHAPE)
    params = A.AttackParams(eps=0.15, alpha=0.02, steps=15, cw_steps=5)
    res = attack_suite(ens, xte[:120].numpy(), yte[:120].numpy(), params, adaptive=True,
                       attacks=("fgsm", "pgd"))
    assert res["adaptive_worst"] <= min(res["fgsm"], res["pgd"])
    assert res["member_hinge"] <= res["pgd"] + 2.5           # one adaptive attack alone, too
    assert res["clean"] > 80


def test_attack_matrix_member_rows_equal_direct_attacks(trained):
    members, _, _, xte, yte = trained
    ens = Ensemble(members, [True, False, False], "vote", in_shape=SHAPE)
    names = ["fp", "lp1", "lp2"]
    p = A.AttackParams(eps=0.15, alpha=0.02, steps=10)
    x, y = xte[:100], yte[:100]
    mat = attack_matrix(ens, names, x.numpy(), y.numpy(), p)
    for k, name in enumerate(names):
        direct = {"fgsm": A.fgsm(members[k], x, y, p.eps), "pgd": A.pgd(members[k], x, y, p.eps, p.alpha, p.steps)}
        for attack, adv in direct.items():
            with torch.no_grad():
                acc = 100 * float((members[k](adv).argmax(1) == y).float().mean())
                vote = 100 * float((ens.predict(adv) == y).float().mean())
            assert mat[attack][f"member:{name}"][name] == pytest.approx(acc, abs=0.01)
            assert mat[attack][f"member:{name}"]["ensemble"] == pytest.approx(vote, abs=0.01)
    paper = attack_suite(ens, x.numpy(), y.numpy(), p, attacks=("pgd",))
    assert mat["pgd"]["paper"]["ensemble"] == pytest.approx(paper["pgd"], abs=0.01)
    norms = input_gradient_norms(ens, names, x.numpy(), y.numpy())
    assert all(v > 0 for v in norms.values())
