"""How the authors' released attack code scores the EMPIR ensemble (a diagnostic, not our result).

The EMPIR repository (github.com/sancharisen/EMPIR, a patched CleverHans 1.0) attacks the ensemble
in ways that differ from the §8.2.2 rule our `axsim empir evaluate` implements:
  * FGSM and PGD take the gradient of softmax_cross_entropy(logits=p, labels) where p is the
    ensemble's `combinedAvgCorrectProb` - already a probability vector - because CleverHans'
    model_loss only unwraps a tensor whose op is a Softmax;
  * BIM builds its inner FastGradientMethod without model_type, so it calls get_probs, and the
    ensemble's layer dict maps 'probs' to the LAST member (the full-precision one): BIM steps are
    taken on the full-precision member alone;
  * CW calls get_logits, which likewise resolves to the full-precision member's logits; CW keeps the
    smallest perturbation that flips THAT member (kappa 0), which the two low-precision members
    usually still outvote;
  * labels are the ensemble's own predictions (CleverHans' label-leaking guard).
This script replays those four attacks on a finished benchmark directory, so the closing note can
say how much of the gap to Table 8.3 comes from the evaluation code rather than from the models.

Run:  python benchmarks/empir_code_emulation.py --out runs/empir_digits [--n-eval 100]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sw_models.empir import attacks as A  # noqa: E402
from sw_models.empir import pipeline  # noqa: E402
from sw_models.empir.search import build_ensemble  # noqa: E402
from sw_models.empir.store import load_json  # noqa: E402


def code_attacks(ens, x, y, p: A.AttackParams) -> dict:
    """Accuracy (%) of the ensemble's vote on the four attacks as the authors' code runs them."""
    fp = ens.members[ens.priority]
    labels = ens.predict(x)                                   # CleverHans guesses labels

    def probs_as_logits(z):                                   # model_loss on a non-Softmax op
        return torch.exp(ens.attack_logits(z))

    def fp_decide(z):
        with torch.no_grad():
            return fp(z).argmax(1)
    advs = {"fgsm": A.fgsm(probs_as_logits, x, labels, p.eps),
            "pgd": A.pgd(probs_as_logits, x, labels, p.eps, p.alpha, p.steps),
            "bim": A.bim(fp, x, labels, p.eps, p.alpha, p.steps),
            "cw": A.cw_l2(fp, x, labels, p.cw_c, p.cw_steps, p.cw_lr, p.cw_kappa,
                          decide=fp_decide)[0]}
    out = {k: round(100 * float((ens.predict(v) == y).float().mean()), 2) for k, v in advs.items()}
    out["average"] = round(sum(out[k] for k in ("cw", "fgsm", "bim", "pgd")) / 4, 2)
    # how often the authors' FGSM gradient is exactly zero (saturated softmax of the members)
    xg = x.clone().requires_grad_(True)
    loss = F.cross_entropy(probs_as_logits(xg), labels, reduction="sum")
    (g,) = torch.autograd.grad(loss, xg)
    out["fgsm_zero_grad_pct"] = round(100 * float((g.flatten(1).abs().amax(1) == 0)
                                                  .float().mean()), 2)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/empir_digits"))
    ap.add_argument("--n-eval", type=int, default=100)
    args = ap.parse_args()
    torch.set_num_threads(1)
    arch, _, _, x_te, y_te = pipeline.load_data("digits")
    found = load_json(args.out / "search.json")
    pool = {r["name"]: r for r in pipeline.load_pool(args.out)}
    params = pipeline.default_params(arch)
    x, y = torch.as_tensor(x_te[:args.n_eval]), torch.as_tensor(y_te[:args.n_eval])
    rows = {"EMPIR": [pool[n] for n in found["best"]["members"]]}
    adv = pipeline._same_bits(list(pool.values()), rows["EMPIR"], "fgsm_adv")
    if adv:
        rows["EMPIR (FGSM Adv. Train)"] = adv
    res = {k: {"members": [r["name"] for r in recs],
               **code_attacks(build_ensemble(recs, found["method"]), x, y, params)}
           for k, recs in rows.items()}
    print(json.dumps({"benchmark": "empir_code_emulation", "n_attacked": len(x), "rows": res},
                     indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
