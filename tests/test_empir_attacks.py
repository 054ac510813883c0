"""Attacks (§3.6, Table 8.2): closed-form oracle, loss goes up, eps bound, CW norm, bad eps."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from sw_models.datasets import digits
from sw_models.empir import attacks as A

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def linear_digits():
    x_tr, y_tr, x_te, y_te = (torch.as_tensor(a) for a in digits(8))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        opt.zero_grad()
        F.cross_entropy(model(x_tr), y_tr).backward()
        opt.step()
    return model.eval(), x_te[:64], y_te[:64]


def test_fgsm_matches_closed_form_on_linear_model(linear_digits):
    model, x, y = linear_digits
    W = model[1].weight.detach().numpy().astype(np.float64)
    b = model[1].bias.detach().numpy().astype(np.float64)
    xf = x.flatten(1).numpy().astype(np.float64)
    z = xf @ W.T + b
    s = np.exp(z - z.max(1, keepdims=True))
    s /= s.sum(1, keepdims=True)
    s[np.arange(len(y)), y.numpy()] -= 1          # dCE/dz = softmax - onehot
    grad = s @ W                                   # dCE/dx for z = Wx + b
    expected = np.clip(xf + 0.1 * np.sign(grad), 0, 1)
    got = A.fgsm(model, x, y, 0.1).flatten(1).numpy()
    assert np.abs(got - expected).max() < 1e-6


def _loss(model, x, y):
    with torch.no_grad():
        return float(F.cross_entropy(model(x), y))


@pytest.mark.parametrize("name", ["fgsm", "bim", "pgd"])
def test_linf_attacks_raise_loss_within_eps(linear_digits, name):
    model, x, y = linear_digits
    eps = 0.1
    if name == "fgsm":
        adv = A.fgsm(model, x, y, eps)
    elif name == "bim":
        adv = A.bim(model, x, y, eps, 0.01, 15)
    else:
        adv = A.pgd(model, x, y, eps, 0.01, 15, seed=3)
    assert _loss(model, adv, y) > _loss(model, x, y) + 0.1
    assert (adv - x).abs().max() <= eps + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1


def test_pgd_starts_randomly_and_bim_does_not(linear_digits):
    model, x, y = linear_digits
    assert not torch.equal(A.pgd(model, x, y, 0.1, 0.01, 1, seed=0),
                           A.pgd(model, x, y, 0.1, 0.01, 1, seed=1))
    assert torch.equal(A.bim(model, x, y, 0.1, 0.01, 1), A.bim(model, x, y, 0.1, 0.01, 1))


def test_cw_reports_l2_and_succeeds(linear_digits):
    model, x, y = linear_digits
    clean_right = model(x).argmax(1) == y
    adv, l2 = A.cw_l2(model, x, y, c=10.0, steps=30, lr=0.05)
    flipped = model(adv).argmax(1) != y
    assert flipped[clean_right].float().mean() > 0.5
    assert torch.allclose(l2, (adv - x).flatten(1).norm(dim=1), atol=1e-5)
    unchanged = l2 == 0
    assert torch.equal(adv[unchanged], x[unchanged])
    assert _loss(model, adv, y) > _loss(model, x, y)
    assert adv.min() >= 0 and adv.max() <= 1


def test_adaptive_losses_are_raised(linear_digits):
    model, x, y = linear_digits
    members = lambda z: torch.stack([model(z), model(z) * 0.5])
    for loss in (A.soft_vote_loss(members), A.member_hinge_loss(members)):
        adv = A.pgd_on_loss(loss, x, y, 0.1, 0.01, 10)
        assert float(loss(adv, y).mean()) > float(loss(x, y).mean())
        assert (adv - x).abs().max() <= 0.1 + 1e-6


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_bad_eps_rejected(linear_digits, bad):
    model, x, y = linear_digits
    with pytest.raises(ValueError, match="epsilon"):
        A.fgsm(model, x, y, bad)
    with pytest.raises(ValueError, match="epsilon"):
        A.bim(model, x, y, bad, 0.01, 2)
    with pytest.raises(ValueError, match="epsilon"):
        A.pgd(model, x, y, bad, 0.01, 2)
    with pytest.raises(ValueError, match="epsilon"):
        A.AttackParams(eps=bad)


def test_table_8_2_parameters():
    p = A.TABLE_8_2["mnistconv"]
    assert (p.eps, p.alpha, p.steps, p.cw_steps) == (0.3, 0.01, 40, 50)
    assert A.TABLE_8_2["cifarconv"].eps == 0.1
