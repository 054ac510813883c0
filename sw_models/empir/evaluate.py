"""Clean and adversarial accuracy of a model or an ensemble (§8.2.2, Tables 8.3-8.5).

`attack_suite` runs Table 8.2's four attacks (CW, FGSM, BIM, PGD) the way the paper does (for an
ensemble: through Ensemble.attack_logits, §8.2.2's gradient rule) and reports the accuracy of the
real decision (argmax, or the vote) on the adversarial inputs. With adaptive=True it also runs the
adaptive attacks of attacks.py and the per-example worst case over them ("adaptive" accuracy).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from . import attacks as A
from .ensemble import Ensemble
from .models import grad_mode

PAPER_ATTACKS = ("cw", "fgsm", "bim", "pgd")
ADAPTIVE_ATTACKS = ("soft_vote", "member_hinge", "member_hinge_bpda")


def _views(target: nn.Module):
    """(logits for the gradient, decision function, member logits) of a model or ensemble."""
    if isinstance(target, Ensemble):
        return target.attack_logits, target.predict, target.member_logits
    target.eval()

    def decide(x):
        with torch.no_grad():
            return target(x).argmax(1)
    return target, decide, lambda x: target(x)[None]


def _paper_attack(name: str, logits, decide, x, y, p: A.AttackParams):
    if name == "fgsm":
        return A.fgsm(logits, x, y, p.eps), None
    if name == "bim":
        return A.bim(logits, x, y, p.eps, p.alpha, p.steps), None
    if name == "pgd":
        return A.pgd(logits, x, y, p.eps, p.alpha, p.steps), None
    return A.cw_l2(logits, x, y, p.cw_c, p.cw_steps, p.cw_lr, p.cw_kappa, decide=decide)


def _adaptive_attack(name: str, target, member_logits, x, y, p: A.AttackParams):
    if name == "soft_vote":
        return A.pgd_on_loss(A.soft_vote_loss(member_logits), x, y, p.eps, p.alpha, p.steps)
    loss = A.member_hinge_loss(member_logits)
    if name == "member_hinge":
        return A.pgd_on_loss(loss, x, y, p.eps, p.alpha, p.steps)
    with grad_mode(target, "bpda"):
        return A.pgd_on_loss(loss, x, y, p.eps, p.alpha, p.steps)


def attack_suite(target: nn.Module, x: np.ndarray, y: np.ndarray, params: A.AttackParams,
                 adaptive: bool = False, batch: int = 256, attacks=PAPER_ATTACKS) -> dict:
    """Accuracies (in %) under each attack, their average, and the FGSM predictions (Fig. 8.4)."""
    torch.set_num_threads(1)
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    logits, decide, member_logits = _views(target)
    names = list(attacks) + (list(ADAPTIVE_ATTACKS) if adaptive else [])
    correct = {n: [] for n in ["clean"] + names}
    preds_fgsm, l2 = [], []
    for i in range(0, len(x), batch):
        xb, yb = x[i:i + batch], y[i:i + batch]
        correct["clean"].append(decide(xb) == yb)
        for name in names:
            if name in PAPER_ATTACKS:
                adv, norms = _paper_attack(name, logits, decide, xb, yb, params)
                if norms is not None:
                    l2.append(norms)
            else:
                adv = _adaptive_attack(name, target, member_logits, xb, yb, params)
            pred = decide(adv)
            correct[name].append(pred == yb)
            if name == "fgsm":
                preds_fgsm.append(pred)
    flags = {n: torch.cat(v) for n, v in correct.items()}
    out = {n: round(100 * float(f.float().mean()), 2) for n, f in flags.items()}
    out["average"] = round(float(np.mean([out[n] for n in attacks])), 2)
    if adaptive:
        worst = torch.stack([flags[n] for n in ADAPTIVE_ATTACKS]).all(0)
        out["adaptive_worst"] = round(100 * float(worst.float().mean()), 2)
    if l2:
        out["cw_mean_l2"] = round(float(torch.cat(l2)[~flags["cw"]].mean()) if (~flags["cw"]).any()
                                  else 0.0, 4)
    if preds_fgsm:
        out["fgsm_pred"] = torch.cat(preds_fgsm).tolist()
    out["n"] = len(x)
    return out


def clean_accuracy(target: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy in % of a model or ensemble on unperturbed inputs."""
    _, decide, _ = _views(target)
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    pred = torch.cat([decide(x[i:i + 512]) for i in range(0, len(x), 512)])
    return round(100 * float((pred == y).float().mean()), 2)
