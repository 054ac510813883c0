"""ONNX exchange for seq2seq LSTMs (chapter 5): standard `LSTM` operators, vocabularies in the metadata.

The exported graph is the teacher-forced model, runnable in onnxruntime:

    src [S, B] ids -> Gather(enc_emb) -> LSTM x layers (sequence_lens = src_lens) -> Y_h, Y_c per layer
    (or src [S, B, F] frames straight into the first LSTM)
    tgt_in [T, B] -> Gather(dec_emb) -> LSTM x layers (initial_h/c = the encoder's Y_h/Y_c of that layer)
    -> MatMul(proj_W) -> Add(proj_b) -> logits [T, B, V]

`from_onnx` reads any graph with this structure (found from the data flow, not from names), so a user's
ONNX seq2seq loads too; anything else is refused with an error naming the file.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from sw_models.onnx_io import OnnxModelError, load_model

from .engine import Layer, Weights

TORCH_TO_ONNX = [0, 3, 1, 2]      # torch gate blocks (i, f, g, o) -> ONNX (i, o, f, c)
ONNX_TO_TORCH = [0, 2, 3, 1]
PASS_THROUGH = {"Squeeze", "Identity", "Cast", "Reshape"}


def _blocks(a: np.ndarray, perm: list[int]) -> np.ndarray:
    return np.concatenate([a[k * (len(a) // 4):(k + 1) * (len(a) // 4)] for k in perm])


def from_torch(model) -> Weights:
    """Weights of a model.Seq2Seq, reordered to ONNX gate order (values copied exactly)."""
    def stack(lstm):
        layers = []
        for l in range(lstm.num_layers):
            get = lambda n: getattr(lstm, f"{n}_l{l}").detach().numpy().astype(np.float32)
            layers.append(Layer(_blocks(get("weight_ih"), TORCH_TO_ONNX), _blocks(get("weight_hh"), TORCH_TO_ONNX),
                                _blocks(get("bias_ih"), TORCH_TO_ONNX), _blocks(get("bias_hh"), TORCH_TO_ONNX)))
        return layers
    cfg = model.cfg
    return Weights(list(cfg.src_vocab), list(cfg.tgt_vocab),
                   None if cfg.frames else model.enc_emb.weight.detach().numpy().copy(), cfg.src_dim,
                   stack(model.encoder), model.dec_emb.weight.detach().numpy().copy(), stack(model.decoder),
                   model.proj.weight.detach().numpy().T.copy(), model.proj.bias.detach().numpy().copy())


def to_torch(w: Weights):
    """A model.Seq2Seq holding exactly these weights (for retraining in Algorithm 1)."""
    import torch
    from .model import Config, Seq2Seq
    H, layers = w.enc[0].hidden, len(w.enc)
    cfg = Config(list(w.src_vocab), list(w.tgt_vocab), H, layers, w.dec_emb.shape[1], w.src_dim)
    model = Seq2Seq(cfg)
    with torch.no_grad():
        for lstm, stack in ((model.encoder, w.enc), (model.decoder, w.dec)):
            for l, layer in enumerate(stack):
                for name, arr in (("weight_ih", layer.W), ("weight_hh", layer.R),
                                  ("bias_ih", layer.Wb), ("bias_hh", layer.Rb)):
                    getattr(lstm, f"{name}_l{l}").copy_(torch.from_numpy(_blocks(arr, ONNX_TO_TORCH)))
        if model.enc_emb is not None:
            model.enc_emb.weight.copy_(torch.from_numpy(w.enc_emb))
        model.dec_emb.weight.copy_(torch.from_numpy(w.dec_emb))
        model.proj.weight.copy_(torch.from_numpy(w.proj_W.T.copy()))
        model.proj.bias.copy_(torch.from_numpy(w.proj_b))
    model.eval()
    return model


def to_onnx(w: Weights, opset: int = 17) -> onnx.ModelProto:
    """Build the teacher-forced ONNX graph described in the module docstring."""
    inits = [numpy_helper.from_array(np.array([1], np.int64), "axis1")]
    nodes = []
    x = "src"
    if not w.frames:
        inits.append(numpy_helper.from_array(w.enc_emb, "enc_emb"))
        nodes.append(helper.make_node("Gather", ["enc_emb", "src"], ["enc_x0"]))
        x = "enc_x0"
    for l, layer in enumerate(w.enc):
        x = _lstm(nodes, inits, f"enc{l}", x, layer, ["src_lens", "", ""])
    nodes.append(helper.make_node("Gather", ["dec_emb", "tgt_in"], ["dec_x0"]))
    inits.append(numpy_helper.from_array(w.dec_emb, "dec_emb"))
    x = "dec_x0"
    for l, layer in enumerate(w.dec):
        x = _lstm(nodes, inits, f"dec{l}", x, layer, ["", f"enc{l}_h", f"enc{l}_c"])
    inits += [numpy_helper.from_array(w.proj_W, "proj_W"), numpy_helper.from_array(w.proj_b, "proj_b")]
    nodes += [helper.make_node("MatMul", [x, "proj_W"], ["proj_z"]),
              helper.make_node("Add", ["proj_z", "proj_b"], ["logits"])]
    src = (helper.make_tensor_value_info("src", TensorProto.FLOAT, ["S", "B", w.src_dim]) if w.frames
           else helper.make_tensor_value_info("src", TensorProto.INT64, ["S", "B"]))
    graph = helper.make_graph(nodes, "axlstm_seq2seq", [
        src, helper.make_tensor_value_info("src_lens", TensorProto.INT32, ["B"]),
        helper.make_tensor_value_info("tgt_in", TensorProto.INT64, ["T", "B"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["T", "B", len(w.tgt_vocab)])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="axsim")
    helper.set_model_props(model, {"axlstm.src_vocab": json.dumps(w.src_vocab),
                                   "axlstm.tgt_vocab": json.dumps(w.tgt_vocab)})
    onnx.checker.check_model(model)
    return model


def _lstm(nodes, inits, name: str, x: str, layer: Layer, extra: list[str]) -> str:
    inits += [numpy_helper.from_array(layer.W[None], f"{name}_W"),
              numpy_helper.from_array(layer.R[None], f"{name}_R"),
              numpy_helper.from_array(np.concatenate([layer.Wb, layer.Rb])[None], f"{name}_B")]
    nodes.append(helper.make_node("LSTM", [x, f"{name}_W", f"{name}_R", f"{name}_B"] + extra,
                                  [f"{name}_Y", f"{name}_h", f"{name}_c"], hidden_size=layer.hidden))
    nodes.append(helper.make_node("Squeeze", [f"{name}_Y", "axis1"], [f"{name}_y"]))
    return f"{name}_y"


def save(w: Weights, path: str | Path) -> Path:
    from atomic_output import write_with
    model = to_onnx(w)
    return write_with(path, lambda tmp: onnx.save(model, tmp))


def load(path: str | Path) -> Weights:
    """Read a seq2seq LSTM ONNX file; OnnxModelError names the file and what is wrong."""
    try:
        return from_onnx(load_model(path))
    except OnnxModelError as exc:
        msg = str(exc)
        raise OnnxModelError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from exc


def from_onnx(model: onnx.ModelProto) -> Weights:
    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    lstms = [n for n in g.node if n.op_type == "LSTM"]
    if not lstms:
        raise OnnxModelError("not an LSTM seq2seq model: the graph has no LSTM node")
    enc = [n for n in lstms if len(n.input) < 6 or not n.input[5]]
    dec = [n for n in lstms if n not in enc]
    if not enc or len(enc) != len(dec):
        raise OnnxModelError(f"not an LSTM seq2seq model: {len(enc)} encoder and {len(dec)} decoder LSTMs "
                             "(a decoder LSTM takes initial_h from an encoder LSTM)")
    enc_layers = [_layer(n, inits) for n in enc]
    dec_layers = [_layer(n, inits) for n in dec]
    for l, n in enumerate(dec):
        if producer.get(n.input[5]) is not enc[l] or producer.get(n.input[6] if len(n.input) > 6 else "") is not enc[l]:
            raise OnnxModelError(f"not an LSTM seq2seq model: decoder layer {l} is not initialised from encoder layer {l}")
    enc_emb, src_dim = _source(enc[0], producer, inits, g)
    dec_emb = _embedding(dec[0], producer, inits)
    if dec_emb is None:
        raise OnnxModelError("not an LSTM seq2seq model: the decoder input is not an embedding Gather")
    proj_W, proj_b = _projection(g, inits, dec_layers[-1].hidden)
    src_vocab, tgt_vocab = _vocab(model, "src"), _vocab(model, "tgt")
    if enc_emb is not None and len(src_vocab) != len(enc_emb):
        raise OnnxModelError(f"vocabulary mismatch: {len(src_vocab)} source words, embedding has {len(enc_emb)} rows")
    if len(tgt_vocab) != len(dec_emb) or len(tgt_vocab) != proj_W.shape[1]:
        raise OnnxModelError(f"vocabulary mismatch: {len(tgt_vocab)} target words, embedding has "
                             f"{len(dec_emb)} rows and the projection {proj_W.shape[1]} outputs")
    return Weights(src_vocab, tgt_vocab, enc_emb, src_dim, enc_layers, dec_emb, dec_layers, proj_W, proj_b)


def _layer(node, inits) -> Layer:
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    direction = attrs.get("direction", b"forward")
    if direction not in (b"forward", "forward") or "activations" in attrs or attrs.get("input_forget", 0):
        raise OnnxModelError(f"LSTM node {node.name or node.output[0]!r}: only forward LSTMs with default activations")
    try:
        W, R = inits[node.input[1]][0], inits[node.input[2]][0]
    except (KeyError, IndexError):
        raise OnnxModelError(f"LSTM node {node.name or node.output[0]!r}: W and R must be initializers")
    H = R.shape[1]
    B = inits[node.input[3]][0] if len(node.input) > 3 and node.input[3] in inits else np.zeros(8 * H, np.float32)
    return Layer(W.astype(np.float32), R.astype(np.float32), B[:4 * H].astype(np.float32), B[4 * H:].astype(np.float32))


def _trace(name: str, producer) -> tuple[str, object]:
    node = producer.get(name)
    while node is not None and node.op_type in PASS_THROUGH:
        name, node = node.input[0], producer.get(node.input[0])
    return name, node


def _embedding(node, producer, inits) -> np.ndarray | None:
    _, src = _trace(node.input[0], producer)
    if src is not None and src.op_type == "Gather" and src.input[0] in inits:
        return inits[src.input[0]].astype(np.float32)
    return None


def _source(node, producer, inits, graph) -> tuple[np.ndarray | None, int]:
    emb = _embedding(node, producer, inits)
    if emb is not None:
        return emb, 0
    name, src = _trace(node.input[0], producer)
    if src is None and name in {i.name for i in graph.input}:
        return None, int(inits[node.input[1]].shape[2])
    raise OnnxModelError("not an LSTM seq2seq model: the encoder input is neither an embedding nor frames")


def _projection(graph, inits, hidden: int) -> tuple[np.ndarray, np.ndarray]:
    for n in graph.node:
        if n.op_type == "MatMul" and n.input[1] in inits and inits[n.input[1]].shape[0] == hidden:
            W = inits[n.input[1]].astype(np.float32)
            adds = [m for m in graph.node if m.op_type == "Add" and n.output[0] in m.input]
            bias = next((inits[i] for m in adds for i in m.input if i in inits), np.zeros(W.shape[1], np.float32))
            return W, bias.astype(np.float32)
    raise OnnxModelError("not an LSTM seq2seq model: no output projection (MatMul by an [H, V] initializer)")


def _vocab(model: onnx.ModelProto, side: str) -> list[str]:
    props = {p.key: p.value for p in model.metadata_props}
    key = f"axlstm.{side}_vocab"
    if key not in props:
        raise OnnxModelError(f"no {key} in the model's metadata (the vocabulary is needed to read tokens)")
    try:
        vocab = json.loads(props[key])
    except json.JSONDecodeError as exc:
        raise OnnxModelError(f"{key}: not a JSON list ({exc})") from exc
    return [str(v) for v in vocab]


def check_vocab(w: Weights, sources: list, what: str) -> None:
    """Refuse a dataset whose source words are mostly unknown to the model (wrong language/model)."""
    if w.frames:
        dims = {np.asarray(s).shape[-1] for s in sources if len(s)}
        if dims != {w.src_dim}:
            raise ValueError(f"{what}: frame size {sorted(dims)} does not match the model's {w.src_dim}")
        return
    known = set(w.src_vocab)
    words = [t for s in sources for t in s]
    unknown = sum(t not in known for t in words)
    if not words or unknown > 0.2 * len(words):
        raise ValueError(f"{what}: vocabulary mismatch, {unknown} of {len(words)} source words are not "
                         "in the model's vocabulary")
