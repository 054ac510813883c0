"""White-box attacks of §3.6 with Table 8.2's parameters, plus adaptive attacks on ensembles.

Paper attacks (eqs. 3.5-3.8), all untargeted and clipped to the valid pixel range [0, 1]:
  FGSM  x + eps sign(grad_x L)
  BIM   alpha-steps of FGSM, projected on the eps-ball around x
  PGD   BIM started at a uniform random point of the eps-ball
  CW-L2 min ||delta||^2 + c f(x + delta), f = max(Z_y - max_{i!=y} Z_i, -kappa), Adam in tanh space;
        returns the smallest successful perturbation found, else x, and reports its L2 norm.
The attacked "model" is any callable returning logits or log-probabilities; for an ensemble it is
Ensemble.attack_logits (§8.2.2's gradient rule). L is the cross-entropy of that output.

Adaptive attacks (not in the dissertation) target the ensemble's real decision function:
  * vote surrogate: PGD on the cross-entropy of log(mean_k softmax(z_k / tau)), a smooth stand-in
    for the vote counts;
  * per member: PGD that pushes every member toward one common wrong class t (the one the members'
    summed logits rank highest) with a hinge sum_k max(z_ky - z_kt, -kappa), which breaks the vote;
  * BPDA: either of the above with the quantizers' backward pass replaced by the identity
    (models.grad_mode(..., "bpda")).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

Logits = Callable[[torch.Tensor], torch.Tensor]
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]   # (x, y) -> per-example loss to raise


@dataclass(frozen=True)
class AttackParams:
    """Table 8.2 (MNISTconv row by default); CW's c, lr and kappa are our documented choice."""
    eps: float = 0.3
    alpha: float = 0.01
    steps: int = 40
    cw_steps: int = 50
    cw_c: float = 10.0
    cw_lr: float = 0.1
    cw_kappa: float = 0.0

    def __post_init__(self):
        check_eps(self.eps)
        check_eps(self.alpha, "step size alpha")
        if self.steps < 1 or self.cw_steps < 1:
            raise ValueError("attack iterations must be >= 1")


def check_eps(eps: float, what: str = "epsilon") -> float:
    """Return eps if it is a finite number >= 0, else raise ValueError."""
    eps = float(eps)
    if not eps >= 0 or eps == float("inf"):
        raise ValueError(f"{what} must be a finite number >= 0, got {eps!r}")
    return eps


TABLE_8_2 = {"mnistconv": AttackParams(eps=0.3, alpha=0.01, steps=40, cw_steps=50),
             "cifarconv": AttackParams(eps=0.1, alpha=0.01, steps=40, cw_steps=50)}


def ce_loss(model: Logits) -> Loss:
    """Per-example cross-entropy of the model's output (logits or log-probabilities)."""
    return lambda x, y: F.cross_entropy(model(x), y, reduction="none")


def _grad(loss: Loss, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        total = loss(x, y).sum()
        (g,) = torch.autograd.grad(total, x)
    return g


def fgsm(model: Logits, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """Eq. 3.5: one signed-gradient step of size eps."""
    eps = check_eps(eps)
    return (x + eps * _grad(ce_loss(model), x, y).sign()).clamp(0, 1).detach()


def iterate(loss: Loss, x: torch.Tensor, y: torch.Tensor, eps: float, alpha: float, steps: int,
            start: torch.Tensor | None = None) -> torch.Tensor:
    """Eqs. 3.6/3.8: `steps` signed-gradient ascent steps on `loss`, projected on the eps-ball."""
    eps, alpha = check_eps(eps), check_eps(alpha, "step size alpha")
    adv = x.clone() if start is None else start.clone()
    for _ in range(steps):
        adv = adv + alpha * _grad(loss, adv, y).sign()
        adv = torch.min(torch.max(adv, x - eps), x + eps).clamp(0, 1).detach()
    return adv


def bim(model: Logits, x, y, eps: float, alpha: float, steps: int) -> torch.Tensor:
    """Eq. 3.6 (Basic Iterative Method)."""
    return iterate(ce_loss(model), x, y, eps, alpha, steps)


def random_start(x: torch.Tensor, eps: float, seed: int = 0) -> torch.Tensor:
    """Eq. 3.8's X + U(-eps, eps), clipped to [0, 1]."""
    gen = torch.Generator().manual_seed(seed)
    noise = (torch.rand(x.shape, generator=gen) * 2 - 1) * check_eps(eps)
    return (x + noise).clamp(0, 1)


def pgd(model: Logits, x, y, eps: float, alpha: float, steps: int, seed: int = 0) -> torch.Tensor:
    """Eq. 3.8 (Projected Gradient Descent with a random start)."""
    return iterate(ce_loss(model), x, y, eps, alpha, steps, random_start(x, eps, seed))


def cw_l2(model: Logits, x: torch.Tensor, y: torch.Tensor, c: float = 10.0, steps: int = 50,
          lr: float = 0.1, kappa: float = 0.0,
          decide: Callable[[torch.Tensor], torch.Tensor] | None = None):
    """Eq. 3.7, untargeted. Returns (x_adv, l2) with l2 = ||x_adv - x||_2 per example.

    `decide` maps inputs to predicted labels (default: argmax of `model`); an iterate counts as a
    success when the decision differs from y, and the smallest successful one is kept.
    """
    check_eps(c, "CW constant c")
    decide = decide or (lambda z: model(z).argmax(1))
    w = torch.atanh((x * 2 - 1).clamp(-1 + 1e-6, 1 - 1e-6)).detach().requires_grad_(True)
    opt = torch.optim.Adam([w], lr=lr)
    best = x.clone()
    best_l2 = torch.full((len(x),), float("inf"))
    for _ in range(steps):
        with torch.enable_grad():
            adv = (torch.tanh(w) + 1) / 2
            l2sq = ((adv - x) ** 2).flatten(1).sum(1)
            loss = (l2sq + c * _cw_margin(model(adv), y, kappa)).sum()
            opt.zero_grad()
            loss.backward()
        opt.step()
        best, best_l2 = _keep_best(adv.detach(), x, y, decide, best, best_l2)
    adv = (torch.tanh(w) + 1) / 2
    best, best_l2 = _keep_best(adv.detach(), x, y, decide, best, best_l2)
    return best, torch.where(torch.isinf(best_l2), torch.zeros_like(best_l2), best_l2)


def _cw_margin(z: torch.Tensor, y: torch.Tensor, kappa: float) -> torch.Tensor:
    true = z.gather(1, y[:, None])[:, 0]
    other = z.masked_fill(F.one_hot(y, z.shape[1]).bool(), float("-inf")).amax(1)
    return torch.clamp(true - other, min=-kappa)


def _keep_best(adv, x, y, decide, best, best_l2):
    with torch.no_grad():
        l2 = (adv - x).flatten(1).norm(dim=1)
        better = (decide(adv) != y) & (l2 < best_l2)
    best = torch.where(better.view(-1, *[1] * (x.dim() - 1)), adv, best)
    return best, torch.where(better, l2, best_l2)


# ---------------------------------------------------------------- adaptive attacks on ensembles

def soft_vote_loss(member_logits: Callable[[torch.Tensor], torch.Tensor], tau: float = 0.5) -> Loss:
    """Cross-entropy of log(mean_k softmax(z_k / tau)): a differentiable surrogate of the vote."""
    def loss(x, y):
        probs = torch.softmax(member_logits(x) / tau, dim=-1).mean(0)
        return F.nll_loss(torch.log(probs.clamp_min(1e-12)), y, reduction="none")
    return loss


def member_hinge_loss(member_logits: Callable[[torch.Tensor], torch.Tensor],
                      kappa: float = 5.0) -> Loss:
    """-sum_k max(z_ky - z_kt, -kappa), t = the wrong class with the largest summed logit."""
    def loss(x, y):
        z = member_logits(x)                                  # (K, B, C)
        wrong = z.sum(0).masked_fill(F.one_hot(y, z.shape[-1]).bool(), float("-inf"))
        t = wrong.argmax(1).detach()
        zy = z.gather(2, y.view(1, -1, 1).expand(z.shape[0], -1, 1))[..., 0]
        zt = z.gather(2, t.view(1, -1, 1).expand(z.shape[0], -1, 1))[..., 0]
        return -torch.clamp(zy - zt, min=-kappa).sum(0)
    return loss


def pgd_on_loss(loss: Loss, x, y, eps: float, alpha: float, steps: int, seed: int = 0):
    """PGD (eq. 3.8) that raises an arbitrary per-example loss."""
    return iterate(loss, x, y, eps, alpha, steps, random_start(x, eps, seed))
