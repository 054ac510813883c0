"""Our attacks against a maintained library (Foolbox 3) on single models (issue 6, §3.6).

FGSM and BIM are deterministic, so on the same model, inputs and parameters our adversarial images
must equal Foolbox's (LinfFastGradientAttack and LinfBasicIterativeAttack without a random start).
PGD shares BIM's iteration and only adds the random start, which the library draws its own way, so
it is compared by success rate. A full-precision member and a DoReFa {2,4} member are used: the
library differentiates through our straight-through quantizers exactly as our attacks do.
"""
from __future__ import annotations

import pytest
import torch

from sw_models.empir.attacks import bim, fgsm, pgd
from sw_models.empir.models import build_model

fb = pytest.importorskip("foolbox")

EPS, ALPHA, STEPS = 0.3, 0.01, 10


@pytest.fixture(scope="module")
def digits28():
    from sw_models.datasets import digits
    return [torch.from_numpy(a) for a in digits(size=28)]


@pytest.fixture(scope="module")
def data(digits28):
    return digits28[2][:48], digits28[3][:48]


@pytest.fixture(scope="module", params=[(32, 32), (2, 4)], ids=["fp", "w2a4"])
def model(request, digits28):
    """A member trained for two quick epochs, so attacks have correct predictions to flip."""
    torch.manual_seed(3)
    net = build_model("mnistconv", *request.param)
    opt = torch.optim.Adam(net.parameters(), lr=5e-4)
    xtr, ytr, xte, yte = digits28
    for _ in range(2):
        for idx in torch.randperm(len(xtr)).split(32):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xtr[idx]), ytr[idx]).backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        assert (net(xte).argmax(1) == yte).float().mean() > 0.7
    return net


def _foolbox(model):
    return fb.PyTorchModel(model, bounds=(0, 1))


def test_fgsm_matches_foolbox(model, data):
    x, y = data
    ours = fgsm(model, x, y, EPS)
    _, theirs, _ = fb.attacks.FGSM()(_foolbox(model), x, y, epsilons=EPS)
    assert torch.allclose(ours, theirs, atol=1e-6)
    assert (ours - x).abs().max() <= EPS + 1e-6


def test_bim_matches_foolbox(model, data):
    x, y = data
    ours = bim(model, x, y, EPS, ALPHA, STEPS)
    attack = fb.attacks.LinfBasicIterativeAttack(abs_stepsize=ALPHA, steps=STEPS, random_start=False)
    _, theirs, _ = attack(_foolbox(model), x, y, epsilons=EPS)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_pgd_success_rate_agrees_with_foolbox(model, data):
    x, y = data
    ours = pgd(model, x, y, EPS, ALPHA, STEPS, seed=1)
    attack = fb.attacks.LinfPGD(abs_stepsize=ALPHA, steps=STEPS, random_start=True)
    _, theirs, success = attack(_foolbox(model), x, y, epsilons=EPS)
    with torch.no_grad():
        ours_ok = (model(ours).argmax(1) != y).float().mean().item()
    assert abs(ours_ok - success.float().mean().item()) <= 0.15
    assert (ours - x).abs().max() <= EPS + 1e-6
