"""The attack matrix that decides where an EMPIR ensemble's robustness comes from (chapter 8, §8.2.2).

Rows say where a perturbation is crafted, columns what it is evaluated against:
  rows    "member:<name>"   each member alone, its own gradient (straight-through for the
                            low-precision members: the gradients the paper's Fig. 8.1 uses);
          "paper"           the ensemble with §8.2.2's rule (mean softmax over the members that
                            agree with the vote; over all members for averaging);
          "average_all"     the ensemble with the mean softmax of all members (the averaging rule);
          "member_hinge"    the adaptive attack of attacks.py (every member pushed toward one
                            common wrong class), aimed at the vote itself;
  columns each member's own argmax, and the ensemble's decision ("ensemble").
Each cell is the accuracy (%) on the adversarial inputs, for FGSM and PGD with Table 8.2's
parameters. If the members' own attacks transfer to the vote while the §8.2.2 attack does not,
the ensemble's robustness comes from the attack objective, not from the members.
`input_gradient_norms` reports each member's mean L1 input-gradient norm on clean inputs.
"""
from __future__ import annotations

import numpy as np
import torch

from . import attacks as A
from .ensemble import Ensemble

ATTACKS = ("fgsm", "pgd")


def _sources(ens: Ensemble, names: list[str]) -> dict[str, A.Loss]:
    avg = Ensemble(list(ens.members), ens.full_precision, "average", ens.in_shape)
    out = {f"member:{n}": A.ce_loss(m) for n, m in zip(names, ens.members)}
    out["paper"] = A.ce_loss(ens.attack_logits)
    out["average_all"] = A.ce_loss(avg.attack_logits)
    out["member_hinge"] = A.member_hinge_loss(ens.member_logits)
    return out


def _craft(loss: A.Loss, attack: str, x, y, p: A.AttackParams) -> torch.Tensor:
    if attack == "fgsm":
        return A.iterate(loss, x, y, p.eps, p.eps, 1)        # one eps-step: FGSM on any loss
    if attack == "pgd":
        return A.pgd_on_loss(loss, x, y, p.eps, p.alpha, p.steps)
    raise ValueError(f"attack matrix attacks are {ATTACKS}, got {attack!r}")


def _accuracies(ens: Ensemble, names: list[str], adv: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    with torch.no_grad():
        preds = ens.member_logits(adv).argmax(-1)
        vote = ens(adv).argmax(1)
    out = {n: 100 * float((p == y).float().mean()) for n, p in zip(names, preds)}
    out["ensemble"] = 100 * float((vote == y).float().mean())
    return out


def attack_matrix(ens: Ensemble, names: list[str], x: np.ndarray, y: np.ndarray, params: A.AttackParams,
                  attacks=ATTACKS, batch: int = 250) -> dict:
    """{attack: {row: {column: accuracy %}}} over the examples x, y (see the module docstring)."""
    if len(names) != len(ens.members):
        raise ValueError(f"{len(ens.members)} members but {len(names)} names")
    torch.set_num_threads(1)
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    sources = _sources(ens, names)
    sums: dict = {a: {r: {} for r in sources} for a in attacks}
    for i in range(0, len(x), batch):
        xb, yb = x[i:i + batch], y[i:i + batch]
        for a in attacks:
            for row, loss in sources.items():
                acc = _accuracies(ens, names, _craft(loss, a, xb, yb, params), yb)
                for col, v in acc.items():
                    sums[a][row][col] = sums[a][row].get(col, 0.0) + v * len(xb)
    return {a: {r: {c: round(v / len(x), 2) for c, v in cols.items()} for r, cols in rows.items()}
            for a, rows in sums.items()}


def input_gradient_norms(ens: Ensemble, names: list[str], x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Mean L1 norm of d CE / d x per example, for each member (its own backward pass)."""
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    out = {}
    for n, m in zip(names, ens.members):
        g = A._grad(A.ce_loss(m), x, y)
        out[n] = float(g.abs().flatten(1).sum(1).mean())
    return out
