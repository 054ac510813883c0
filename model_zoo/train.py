"""Regenerate the trained networks shipped in model_zoo/onnx/ (needs torch; nothing else imports torch
through this file unless it asks for the torch builders).

  python3 -m model_zoo.train [--epochs 8] [--seed 0] [--out model_zoo/onnx]

digitsconv: Table 8.1's MNISTconv topology with biases (the torch module `digitsconv()`), trained
with Adam (lr 1e-3, batches of 64, `epochs` epochs) on model_zoo.data.digits(size=28, seed) -- the
1347 training images; the 450 held-out images are never seen. The file stores the weights as int8
per output channel (symmetric, scale = max|w| / 127) behind DequantizeLinear nodes, and the biases
in float32, so it stays ~0.7 MB; its held-out accuracy is measured by onnxruntime on the file as
written and recorded in digitsconv.json with the float accuracy before quantization. The run is
deterministic by seed (one thread, torch's deterministic algorithms): the same seed writes the same
bytes.
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from . import ONNX_DIR

OPSET, IR_VERSION = 17, 8


def _torch():
    import torch
    torch.set_num_threads(1)
    return torch


def digitsconv():
    """The torch module of the zoo's digitsconv (layer order: conv1, relu, conv2, relu, conv3, relu, flatten, fc)."""
    nn = _torch().nn
    return nn.Sequential(nn.Conv2d(1, 64, 8, 2, 3), nn.ReLU(), nn.Conv2d(64, 128, 6, 2), nn.ReLU(),
                         nn.Conv2d(128, 128, 5), nn.ReLU(), nn.Flatten(), nn.Linear(128, 10))


def accuracy(model, x, y) -> float:
    torch = _torch()
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train_digitsconv(epochs: int = 8, seed: int = 0, data=None):
    """Train digitsconv on digits (28x28), or on `data` = (xtr, ytr, xte, yte) arrays when given;
    return (model, held-out accuracy, (xtr, ytr, xte, yte) tensors)."""
    torch = _torch()
    from .data import digits
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    data = tuple(torch.as_tensor(a) for a in (digits(size=28, seed=seed) if data is None else data))
    model = digitsconv()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(data[0])).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(data[0][idx]), data[1][idx]).backward()
            opt.step()
    return model, accuracy(model, data[2], data[3]), data


def quantized_onnx(model, doc: str = ""):
    """digitsconv as ONNX: int8 per-output-channel weights + DequantizeLinear, float32 biases."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    convs = [(m, a) for m, a in zip([m for m in model if hasattr(m, "weight")], ("conv1", "conv2", "conv3", "fc"))]
    nodes, inits, x = [], [], "input"
    for i, (layer, name) in enumerate(convs):
        w = layer.weight.detach().numpy().astype(np.float32)
        amax = np.abs(w).reshape(len(w), -1).max(1)
        scale = (np.where(amax > 0, amax, 1) / 127).astype(np.float32)
        q = np.clip(np.round(w / scale.reshape(-1, *[1] * (w.ndim - 1))), -127, 127).astype(np.int8)
        inits += [numpy_helper.from_array(q, f"{name}.weight_q"), numpy_helper.from_array(scale, f"{name}.weight_scale"),
                  numpy_helper.from_array(np.zeros(len(w), np.int8), f"{name}.weight_zero"),
                  numpy_helper.from_array(layer.bias.detach().numpy().astype(np.float32), f"{name}.bias")]
        nodes.append(helper.make_node("DequantizeLinear", [f"{name}.weight_q", f"{name}.weight_scale", f"{name}.weight_zero"],
                                      [f"{name}.weight"], name=f"{name}.dequantize", axis=0))
        ins = [x, f"{name}.weight", f"{name}.bias"]
        if name == "fc":
            nodes.append(helper.make_node("Flatten", [x], ["flatten"], name="flatten", axis=1))
            nodes.append(helper.make_node("Gemm", ["flatten", *ins[1:]], ["output"], name="fc", transB=1))
        else:
            nodes.append(helper.make_node("Conv", ins, [name], name=name, kernel_shape=list(layer.kernel_size),
                                          strides=list(layer.stride), pads=list(layer.padding) * 2))
            nodes.append(helper.make_node("Relu", [name], [f"{name}.relu"], name=f"{name}.relu"))
            x = f"{name}.relu"
    graph = helper.make_graph(nodes, "digitsconv",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 28, 28])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 10])], inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="axsim.model_zoo.train",
                              doc_string=doc)
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto)
    return proto


def onnx_accuracy(proto, x: np.ndarray, y: np.ndarray) -> float:
    import onnxruntime as ort
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    logits = sess.run(None, {"input": x.astype(np.float32)})[0]
    return float(np.mean(logits.argmax(1) == y))


def regenerate(out: Path = ONNX_DIR, epochs: int = 8, seed: int = 0) -> dict:
    from atomic_output import write_many
    model, float_acc, data = train_digitsconv(epochs, seed)
    xte, yte = data[2].numpy(), data[3].numpy()
    doc = (f"digitsconv: Table 8.1 MNISTconv topology trained on scikit-learn digits at 28x28 "
           f"(model_zoo.train, seed {seed}, {epochs} epochs); int8 weights per output channel")
    proto = quantized_onnx(model, doc)
    blob = proto.SerializeToString()
    rec = {"name": "digitsconv", "accuracy": round(onnx_accuracy(proto, xte, yte), 6), "float_accuracy": round(float_acc, 6),
           "held_out_images": len(yte), "train_images": len(data[0]),
           "data": f"model_zoo.data.digits(size=28, test_fraction=0.25, seed={seed}): the test split",
           "seed": seed, "epochs": epochs, "optimizer": "Adam lr 1e-3, batch 64",
           "weights": "int8 per output channel, symmetric (scale = max|w|/127); biases float32",
           "bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
    write_many({out / "digitsconv.onnx": blob, out / "digitsconv.json": json.dumps(rec, indent=1) + "\n"})
    return rec


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=ONNX_DIR)
    args = p.parse_args(argv)
    print(json.dumps(regenerate(args.out, args.epochs, args.seed), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
