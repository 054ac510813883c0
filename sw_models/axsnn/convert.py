"""ANN (ONNX) -> SNN conversion (chapter 6; §6.3.2 trains SNNs "using the methods of [123, 124]").

The ONNX graph must be a chain of weighted layers (Gemm, MatMul [+ Add bias], Conv) separated by
Relu, with Flatten/Reshape/Identity between them and at most a final Softmax (argmax-neutral).
Any other activation (Sigmoid, Tanh, LeakyRelu, ...) or op is refused with its name: the rate code
of an integrate-and-fire neuron approximates a ReLU and nothing else.

Each weighted layer becomes a dense (n_in, n_out) matrix over NCHW-flattened neurons (a
convolution is unrolled into its synapses), checked against onnxruntime's output. Weights are then
normalised layer by layer as in Diehl et al. (2015, "Fast-classifying, high-accuracy spiking deep
networks through weight and threshold balancing") with Rueckauer et al.'s (2017) robust
percentile: lambda_l = p-th percentile of layer l's positive activations on training data,
W_l <- W_l * lambda_{l-1} / lambda_l, b_l <- b_l / lambda_l, threshold 1, reset 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from onnx import numpy_helper

from sw_models.onnx_io import OnnxModelError, load_model, run

NON_RELU = {"Sigmoid", "Tanh", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Softplus", "Softsign",
            "HardSigmoid", "HardSwish", "Gelu", "Mish", "Clip", "ThresholdedRelu", "Exp", "Abs"}
PASS_THROUGH = {"Flatten", "Reshape", "Identity", "Dropout"}


@dataclass
class Stage:
    """One weighted layer: out = in @ matrix + bias, then ReLU if `relu`."""
    matrix: np.ndarray
    bias: np.ndarray
    relu: bool
    out_shape: tuple[int, ...]


def conv_matrix(w: np.ndarray, in_shape: tuple[int, int, int], strides, pads) -> tuple[np.ndarray, tuple]:
    """Unroll a group-1 2-D convolution into a dense (C*H*W, O*Ho*Wo) matrix (NCHW order)."""
    c, h, wd = in_shape
    o, ci, kh, kw = w.shape
    if ci != c:
        raise OnnxModelError(f"Conv expects {ci} input channels, the layer before gives {c}")
    (sh, sw), (pt, pl, pb, pr) = strides, pads
    ho, wo = (h + pt + pb - kh) // sh + 1, (wd + pl + pr - kw) // sw + 1
    mat = np.zeros((c * h * wd, o * ho * wo))
    oy, ox = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")
    out_idx = np.arange(o)[:, None, None] * ho * wo + (oy * wo + ox)[None]
    for ch in range(c):
        for ky in range(kh):
            for kx in range(kw):
                iy, ix = oy * sh + ky - pt, ox * sw + kx - pl
                ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < wd)
                rows = ch * h * wd + iy[ok] * wd + ix[ok]
                mat[np.broadcast_to(rows, (o, rows.size)), out_idx[:, ok]] += w[:, ch, ky, kx][:, None]
    return mat, (o, ho, wo)


def _attrs(node) -> dict:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _weighted(node, inits: dict, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, tuple]:
    """(matrix, bias, out_shape) of a Gemm, MatMul or Conv node."""
    op, a = node.op_type, _attrs(node)
    params = [inits[n] for n in node.input[1:] if n in inits]
    if len(params) != len(node.input) - 1:
        raise OnnxModelError(f"{op} node {node.name!r}: weights must be initializers")
    n_in = int(np.prod(shape))
    if op == "Conv":
        if len(shape) != 3 or a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])):
            raise OnnxModelError(f"unsupported Conv {node.name!r} (needs NCHW input, group 1, dilation 1)")
        mat, out = conv_matrix(params[0], shape, a.get("strides", [1, 1]), a.get("pads", [0, 0, 0, 0]))
        bias = np.repeat(params[1], out[1] * out[2]) if len(params) > 1 else np.zeros(mat.shape[1])
        return mat, bias, out
    w = params[0].astype(np.float64)
    if op == "Gemm":
        if a.get("transA", 0):
            raise OnnxModelError(f"Gemm {node.name!r} with transA is not supported")
        w = (w.T if a.get("transB", 0) else w) * a.get("alpha", 1.0)
        bias = params[1] * a.get("beta", 1.0) if len(params) > 1 else np.zeros(w.shape[1])
    else:
        bias = np.zeros(w.shape[1])
    if w.shape[0] != n_in:
        raise OnnxModelError(f"{op} {node.name!r} takes {w.shape[0]} inputs, the layer before gives {n_in}")
    return w, np.broadcast_to(bias, (w.shape[1],)).astype(np.float64), (w.shape[1],)


def parse(model_path: str | Path, in_shape: tuple[int, ...]) -> list[Stage]:
    """The chain of weighted layers of an ONNX ReLU network; refuse anything else by name."""
    model = load_model(model_path)
    inits = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in model.graph.initializer}
    stages: list[Stage] = []
    shape, nodes = tuple(in_shape), list(model.graph.node)
    for k, node in enumerate(nodes):
        op = node.op_type
        if op in ("Gemm", "MatMul", "Conv"):
            mat, bias, shape = _weighted(node, inits, shape)
            stages.append(Stage(mat, bias, False, shape))
        elif op == "Add":
            extra = [inits[n] for n in node.input if n in inits]
            if not stages or len(extra) != 1 or stages[-1].relu:
                raise OnnxModelError(f"Add {node.name!r} is not a bias after a weighted layer")
            stages[-1].bias = stages[-1].bias + np.broadcast_to(extra[0].ravel(), stages[-1].bias.shape)
        elif op == "Relu":
            if not stages or stages[-1].relu:
                raise OnnxModelError(f"Relu {node.name!r} does not follow a weighted layer")
            stages[-1].relu = True
        elif op in PASS_THROUGH or op == "Constant":
            if op in ("Flatten", "Reshape"):
                shape = (int(np.prod(shape)),)
        elif op == "Softmax" and k == len(nodes) - 1:
            pass  # argmax-neutral final normalisation
        elif op in NON_RELU or op == "Softmax":
            raise OnnxModelError(f"{model_path}: non-ReLU activation {op} (node {node.name!r}); "
                                 "only ReLU networks convert to rate-coded SNNs")
        else:
            raise OnnxModelError(f"{model_path}: unsupported op {op} (node {node.name!r})")
    if not stages:
        raise OnnxModelError(f"{model_path}: no Gemm, MatMul or Conv layer")
    return stages


def forward(stages: list[Stage], x: np.ndarray) -> list[np.ndarray]:
    """Activations of every stage (ReLU applied where the network has it) for flattened inputs."""
    acts, a = [], x.reshape(len(x), -1).astype(np.float64)
    for s in stages:
        a = a @ s.matrix + s.bias
        if s.relu:
            a = np.maximum(a, 0.0)
        acts.append(a)
    return acts


def check_against_onnx(stages: list[Stage], model_path: str | Path, x: np.ndarray) -> None:
    """The unrolled chain must give onnxruntime's logits (else the parse is wrong)."""
    ref = run(model_path, x.astype(np.float32))[0].reshape(len(x), -1)
    ours = forward(stages, x)[-1]
    if load_model(model_path).graph.node[-1].op_type == "Softmax":
        ours = np.exp(ours - ours.max(1, keepdims=True))
        ours /= ours.sum(1, keepdims=True)
    if ref.shape != ours.shape or not np.allclose(ours, ref, rtol=1e-3, atol=1e-3 * np.abs(ref).max()):
        raise OnnxModelError(f"{model_path}: converted layers do not reproduce onnxruntime's output")


def normalise(stages: list[Stage], x_norm: np.ndarray, percentile: float = 99.9) -> list[tuple[np.ndarray, np.ndarray]]:
    """Data-based normalisation: [(weights, bias)] per layer for threshold-1 neurons."""
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    out, prev = [], 1.0  # inputs are rates in [0, 1]
    for s, a in zip(stages, forward(stages, x_norm)):
        pos = a[a > 0]
        lam = float(np.percentile(pos, percentile)) if pos.size else 1.0
        out.append((s.matrix * prev / lam, s.bias / lam))
        prev = lam
    return out
