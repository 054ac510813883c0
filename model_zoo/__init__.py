"""One model zoo for the networks the toolkit ships; each name means one network.

Bottom layer: imports numpy, onnx and atomic_output only (never sparce_sim, sasa_compiler,
sparce_jobs or sw_models), and never torch. `model_zoo.path(name, cache_dir)` writes the network as a
plain float32 ONNX file into cache_dir (reused when present) and returns its path:

  digitsconv   trained, shipped in git as model_zoo/onnx/digitsconv.onnx (int8 weights) with its
               measured held-out accuracy in digitsconv.json beside it; `path` folds the int8
               weights back to float32 (exactly the values the shipped file computes with).
  alexnet, resnet18, resnet50, mobilenetv2, lstm
               too large for git: built by model_zoo.graphs with onnx.helper and seeded He-normal
               numpy weights (untrained).

`model_zoo/train.py` (torch) regenerates the shipped file; run it after changing the network or
its data: `python3 -m model_zoo.train`.

Names used elsewhere for other networks are kept out of this zoo: EMPIR's quantized Table 8.1
members `mnistconv` and `cifarconv` (torch modules, sw_models.empir.models.build_model) are other
networks than digitsconv (no biases, input and weight quantizers, the authors' initialisation).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ONNX_DIR = Path(__file__).resolve().parent / "onnx"


@dataclass(frozen=True)
class Network:
    name: str
    doc: str                  # what it is and which dissertation table it stands for
    trained: bool             # True: shipped as model_zoo/onnx/NAME.onnx; False: seeded, built on demand
    input_shape: tuple        # one example input (batch 1)
    input_dtype: str = "float32"


ZOO: dict[str, Network] = {n.name: n for n in (
    Network("digitsconv",
            "Table 8.1's MNISTconv topology (Conv 8x8x64 /2 pad 3, ReLU, Conv 6x6x128 /2, ReLU, Conv 5x5x128, "
            "ReLU, FC 10, with biases, float) trained on scikit-learn digits upsampled to 28x28 (model_zoo.data); "
            "the MNIST network of chapter 4 (Figs. 4.10/4.12) and of Table 7.1 (chapter 7). Not EMPIR's "
            "quantized mnistconv.", True, (1, 1, 28, 28)),
    Network("alexnet", "AlexNet (torchvision shapes, 61.1 M parameters), seeded He-normal weights: the AlexNet of "
            "chapter 4 (Figs. 4.10-4.13, Table 4.2) and Table 7.1 / Fig. 7.5.", False, (1, 3, 224, 224)),
    Network("resnet18", "ResNet18 (torchvision v1.5 shapes, 11.7 M parameters), seeded He-normal weights: "
            "Table 7.1's ResNet18.", False, (1, 3, 224, 224)),
    Network("resnet50", "ResNet50 (torchvision v1.5 shapes, 25.6 M parameters), seeded He-normal weights: "
            "Table 7.1's ResNet50.", False, (1, 3, 224, 224)),
    Network("mobilenetv2", "MobileNetV2 (torchvision shapes, 3.5 M parameters), seeded He-normal weights: "
            "Table 7.1's MobileNetV2.", False, (1, 3, 224, 224)),
    Network("lstm", "LSTM language model (embedding 2000x256, 2 LSTM layers of 256, decoder 256->2000; 2.08 M "
            "weights), seeded He-normal weights: a scaled-down stand-in for Table 7.1's WordLangModel.",
            False, (1, 12), "int64"),
)}
NAMES = tuple(ZOO)
CHAPTER4 = ("digitsconv", "alexnet")     # `axsim network --shipped`


def get(name: str, among: tuple[str, ...] = NAMES) -> Network:
    """The registry entry; ValueError naming the choices for an unknown name."""
    if name not in among:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(among)}")
    return ZOO[name]


def shipped_file(name: str) -> Path:
    """The ONNX file shipped in git for a trained network (int8 weights + DequantizeLinear)."""
    if not get(name).trained:
        raise ValueError(f"{name} is not shipped as a file (seeded weights, built by model_zoo.path)")
    return ONNX_DIR / f"{name}.onnx"


def record(name: str) -> dict:
    """What model_zoo/train.py measured for a shipped network (accuracy, data, seed, ...)."""
    return json.loads(shipped_file(name).with_suffix(".json").read_text())


def example_input(name: str, seed: int = 0) -> np.ndarray:
    """A seeded example input of the network's shape (tokens for the LSTM, uniform [0, 1) else)."""
    net = get(name)
    rng = np.random.default_rng(seed)
    if net.input_dtype == "int64":
        return rng.integers(0, 2000, size=net.input_shape, dtype=np.int64)
    return rng.uniform(0, 1, size=net.input_shape).astype(np.float32)


def fold_dequantize(model):
    """Replace every DequantizeLinear whose inputs are initializers by the float32 initializer it
    computes ((q - zero_point) * scale, as onnxruntime does), so weights are plain float tensors."""
    import onnx
    from onnx import numpy_helper
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    folded, keep = {}, []
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear" and all(t in inits for t in node.input):
            q, scale = inits[node.input[0]], inits[node.input[1]]
            zero = inits[node.input[2]] if len(node.input) > 2 else np.zeros_like(scale, dtype=q.dtype)
            axis = next((onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == "axis"), 1)
            shape = [1] * q.ndim
            if scale.ndim:
                shape[axis] = -1
            w = (q.astype(np.int32) - zero.astype(np.int32).reshape(shape)).astype(np.float32)
            folded[node.output[0]] = (w * scale.astype(np.float32).reshape(shape)).astype(np.float32)
        else:
            keep.append(node)
    used = {t for n in keep for t in n.input}
    new_inits = [i for i in model.graph.initializer if i.name in used]
    new_inits += [numpy_helper.from_array(v, k) for k, v in folded.items()]
    del model.graph.node[:]
    model.graph.node.extend(keep)
    del model.graph.initializer[:]
    model.graph.initializer.extend(new_inits)
    return model


def build(name: str, seed: int = 0):
    """The network as an in-memory float32 onnx.ModelProto (no torch)."""
    import onnx
    if get(name).trained:
        return fold_dequantize(onnx.load(str(shipped_file(name))))
    from .graphs import BUILDERS
    return BUILDERS[name](seed=seed)


def path(name: str, cache_dir: str | Path = "output/models", seed: int = 0,
         among: tuple[str, ...] = NAMES) -> Path:
    """Write network `name` to cache_dir/NAME.onnx (float32, atomically) unless it is there; return the path.
    Seeded networks with seed != 0 go to NAME_sSEED.onnx. No torch is imported."""
    from atomic_output import write_bytes
    net = get(name, among)
    file = Path(cache_dir) / (f"{name}.onnx" if net.trained or seed == 0 else f"{name}_s{seed}.onnx")
    if not file.is_file():
        write_bytes(file, build(name, seed).SerializeToString())
    return file
