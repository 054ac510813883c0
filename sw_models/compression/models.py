"""What chapter 7 itself needs of the networks: AGP pruning of the zoo's digitsconv with fine-tuning,
and an ONNX export of the pruned torch module (Table 7.1 / Fig. 7.3 analogs).

The networks themselves live in `model_zoo` (one name, one network): `model_zoo.path(name, dir)`
writes the ONNX file of digitsconv (trained, shipped in git), alexnet, resnet18, resnet50,
mobilenetv2 or lstm (seeded He-normal weights, built without torch). The torch module of digitsconv
and its training are in model_zoo/train.py, which regenerates the shipped file.
Caveat: pruning random weights gives unclustered zeros, unlike the trained ImageNet models of the
dissertation.
"""
from __future__ import annotations

import io
from pathlib import Path

from atomic_output import write_bytes
from model_zoo.train import _torch, accuracy, digitsconv, train_digitsconv

__all__ = ["accuracy", "agp_digitsconv", "digitsconv", "export_onnx", "train_digitsconv"]


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


def agp_digitsconv(model, data, sparsity: float, seed: int = 0):
    """AGP-prune a copy of a trained digitsconv to `sparsity` in every layer, with fine-tuning;
    return (pruned model, held-out accuracy)."""
    import copy
    torch = _torch()
    from .pruning import agp_prune_torch
    torch.manual_seed(seed)
    pruned = copy.deepcopy(model)
    pruned.train()
    targets = {k: sparsity for k, p in pruned.named_parameters() if p.dim() >= 2}

    def batches():
        while True:
            for idx in torch.randperm(len(data[0])).split(64):
                yield data[0][idx], data[1][idx]
    agp_prune_torch(pruned, targets, batches, torch.nn.functional.cross_entropy, n=10, dt=20, final_steps=100)
    return pruned, accuracy(pruned, data[2], data[3])
