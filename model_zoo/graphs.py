"""The large shipped architectures as ONNX graphs built with onnx.helper and numpy (no torch).

Layer shapes follow torchvision (AlexNet, ResNet18/50 v1.5, MobileNetV2; parameter counts equal
torchvision's, tests/test_model_zoo.py) and the chapter-7 LSTM language model. Weights are drawn
from one seed: conv, Gemm, MatMul and LSTM weights He-normal (std sqrt(2 / fan_in), fan_in =
in_channels / groups * kh * kw, or the input width), the embedding standard normal, biases zero;
batch norms are the identity at initialisation (scale 1, bias 0, mean 0, variance 1) and are kept as
BatchNormalization nodes, as torchvision has them. No network here is trained: pruning random
weights gives unclustered zeros, unlike the trained ImageNet/PTB models of the dissertation.
Graphs use opset 17 and IR version 8 (what this onnxruntime reads); the batch (and for the LSTM the
sequence) dimension is symbolic. Input "input", output "output".
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8


class _Graph:
    """Accumulates nodes and initializers; names tensors by layer."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._clip: tuple[str, str] | None = None

    def init(self, name: str, array: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def he(self, name: str, shape, fan_in: int) -> str:
        w = self.rng.standard_normal(size=shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))
        return self.init(name, w)

    def node(self, op: str, inputs, name: str, **attrs) -> str:
        out = name
        self.nodes.append(helper.make_node(op, list(inputs), [out], name=name, **attrs))
        return out

    def conv(self, x, name, cin, cout, k, stride=1, pad=0, groups=1, bias=True) -> str:
        w = self.he(f"{name}.weight", (cout, cin // groups, k, k), cin // groups * k * k)
        ins = [x, w] + ([self.init(f"{name}.bias", np.zeros(cout, np.float32))] if bias else [])
        return self.node("Conv", ins, name, kernel_shape=[k, k], strides=[stride, stride],
                         pads=[pad] * 4, group=groups)

    def bn(self, x, name, c) -> str:
        ins = [self.init(f"{name}.weight", np.ones(c, np.float32)), self.init(f"{name}.bias", np.zeros(c, np.float32)),
               self.init(f"{name}.running_mean", np.zeros(c, np.float32)),
               self.init(f"{name}.running_var", np.ones(c, np.float32))]
        return self.node("BatchNormalization", [x, *ins], name, epsilon=1e-5)

    def relu(self, x, name) -> str:
        return self.node("Relu", [x], name)

    def relu6(self, x, name) -> str:
        if self._clip is None:
            self._clip = (self.init("relu6.min", np.array(0, np.float32)), self.init("relu6.max", np.array(6, np.float32)))
        return self.node("Clip", [x, *self._clip], name)

    def maxpool(self, x, name, k, stride, pad=0) -> str:
        return self.node("MaxPool", [x], name, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)

    def gemm(self, x, name, cin, cout) -> str:
        w = self.he(f"{name}.weight", (cout, cin), cin)
        b = self.init(f"{name}.bias", np.zeros(cout, np.float32))
        return self.node("Gemm", [x, w, b], name, transB=1)

    def head(self, x, cin, classes) -> str:
        x = self.node("GlobalAveragePool", [x], "avgpool")
        x = self.node("Flatten", [x], "flatten", axis=1)
        return self.gemm(x, "fc", cin, classes)

    def model(self, name: str, x_info, output: str, doc: str, out_shape) -> onnx.ModelProto:
        self.nodes.append(helper.make_node("Identity", [output], ["output"], name="output"))
        out_info = helper.make_tensor_value_info("output", TensorProto.FLOAT, list(out_shape))
        graph = helper.make_graph(self.nodes, name, [x_info], [out_info], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="axsim.model_zoo", doc_string=doc)
        model.ir_version = IR_VERSION
        return model


def _image_input():
    return helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 224, 224])


def alexnet(seed: int = 0, classes: int = 1000) -> onnx.ModelProto:
    g = _Graph(seed)
    x = "input"
    for i, (cin, cout, k, s, p, pool) in enumerate([(3, 64, 11, 4, 2, True), (64, 192, 5, 1, 2, True),
                                                     (192, 384, 3, 1, 1, False), (384, 256, 3, 1, 1, False),
                                                     (256, 256, 3, 1, 1, True)]):
        x = g.relu(g.conv(x, f"conv{i + 1}", cin, cout, k, s, p), f"relu{i + 1}")
        if pool:
            x = g.maxpool(x, f"pool{i + 1}", 3, 2)
    x = g.node("Flatten", [x], "flatten", axis=1)        # 6x6x256 at 224x224: AdaptiveAvgPool(6) is the identity
    x = g.relu(g.gemm(x, "fc6", 9216, 4096), "relu6")
    x = g.relu(g.gemm(x, "fc7", 4096, 4096), "relu7")
    return g.model("alexnet", _image_input(), g.gemm(x, "fc8", 4096, classes), "AlexNet (torchvision shapes), seeded He-normal",
                   ["batch", classes])


def resnet(depth: int = 18, seed: int = 0, classes: int = 1000) -> onnx.ModelProto:
    blocks, bottleneck = {18: ([2, 2, 2, 2], False), 50: ([3, 4, 6, 3], True)}[depth]
    widths = [256, 512, 1024, 2048] if bottleneck else [64, 128, 256, 512]
    g = _Graph(seed)
    x = g.relu(g.bn(g.conv("input", "conv1", 3, 64, 7, 2, 3, bias=False), "bn1", 64), "relu1")
    x, cin = g.maxpool(x, "maxpool", 3, 2, 1), 64
    for stage, (count, width) in enumerate(zip(blocks, widths)):
        for k in range(count):
            stride, n = (2 if k == 0 and stage > 0 else 1), f"layer{stage + 1}.{k}"
            if bottleneck:
                mid = width // 4
                y = g.relu(g.bn(g.conv(x, f"{n}.conv1", cin, mid, 1, bias=False), f"{n}.bn1", mid), f"{n}.relu1")
                y = g.relu(g.bn(g.conv(y, f"{n}.conv2", mid, mid, 3, stride, 1, bias=False), f"{n}.bn2", mid),
                           f"{n}.relu2")
                y = g.bn(g.conv(y, f"{n}.conv3", mid, width, 1, bias=False), f"{n}.bn3", width)
            else:
                y = g.relu(g.bn(g.conv(x, f"{n}.conv1", cin, width, 3, stride, 1, bias=False), f"{n}.bn1", width),
                           f"{n}.relu1")
                y = g.bn(g.conv(y, f"{n}.conv2", width, width, 3, 1, 1, bias=False), f"{n}.bn2", width)
            if stride != 1 or cin != width:
                x = g.bn(g.conv(x, f"{n}.downsample.0", cin, width, 1, stride, bias=False), f"{n}.downsample.1", width)
            x, cin = g.relu(g.node("Add", [y, x], f"{n}.add"), f"{n}.relu"), width
    return g.model(f"resnet{depth}", _image_input(), g.head(x, cin, classes),
                   f"ResNet{depth} (torchvision v1.5 shapes), seeded He-normal", ["batch", classes])


def mobilenetv2(seed: int = 0, classes: int = 1000) -> onnx.ModelProto:
    g = _Graph(seed)

    def cbr(x, name, cin, cout, k, s, groups=1):
        return g.relu6(g.bn(g.conv(x, f"{name}.conv", cin, cout, k, s, k // 2, groups, bias=False), f"{name}.bn", cout),
                       f"{name}.relu6")
    x, cin, b = cbr("input", "features.0", 3, 32, 3, 2), 32, 1
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)]:
        for k in range(n):
            stride, hid, name = (s if k == 0 else 1), cin * t, f"features.{b}"
            y = cbr(x, f"{name}.expand", cin, hid, 1, 1) if t != 1 else x
            y = cbr(y, f"{name}.dw", hid, hid, 3, stride, hid)
            y = g.bn(g.conv(y, f"{name}.project", hid, c, 1, bias=False), f"{name}.project.bn", c)
            x = g.node("Add", [x, y], f"{name}.add") if stride == 1 and cin == c else y
            cin, b = c, b + 1
    x = cbr(x, f"features.{b}", cin, 1280, 1, 1)
    return g.model("mobilenetv2", _image_input(), g.head(x, 1280, classes),
                   "MobileNetV2 (torchvision shapes), seeded He-normal", ["batch", classes])


def lstm_lm(seed: int = 0, vocab: int = 2000, dim: int = 256, layers: int = 2) -> onnx.ModelProto:
    """Embedding, `layers` stacked LSTMs (ONNX LSTM: W [1, 4h, in], R [1, 4h, h], B [1, 8h]) and a
    MatMul + Add decoder; tokens [batch, seq] int64 -> logits [batch, seq, vocab]."""
    g = _Graph(seed)
    x = g.node("Gather", [g.init("embed.weight", g.rng.standard_normal((vocab, dim), dtype=np.float32)), "input"],
               "embed", axis=0)
    x = g.node("Transpose", [x], "to_seq_major", perm=[1, 0, 2])
    axes = g.init("squeeze_axes", np.array([1], np.int64))
    for i in range(layers):
        w = g.he(f"lstm{i}.W", (1, 4 * dim, dim), dim)
        r = g.he(f"lstm{i}.R", (1, 4 * dim, dim), dim)
        bias = g.init(f"lstm{i}.B", np.zeros((1, 8 * dim), np.float32))
        x = g.node("LSTM", [x, w, r, bias], f"lstm{i}", hidden_size=dim)            # [seq, 1, batch, dim]
        x = g.node("Squeeze", [x, axes], f"lstm{i}.squeeze")
    x = g.node("Transpose", [x], "to_batch_major", perm=[1, 0, 2])
    x = g.node("MatMul", [x, g.he("decoder.weight", (dim, vocab), dim)], "decoder")
    x = g.node("Add", [x, g.init("decoder.bias", np.zeros(vocab, np.float32))], "decoder.add")
    tokens = helper.make_tensor_value_info("input", TensorProto.INT64, ["batch", "seq"])
    return g.model("lstm", tokens, x, f"LSTM language model ({vocab} words, {layers}x{dim}), seeded He-normal",
                   ["batch", "seq", vocab])


BUILDERS = {"alexnet": alexnet, "resnet18": lambda seed=0: resnet(18, seed), "resnet50": lambda seed=0: resnet(50, seed),
            "mobilenetv2": mobilenetv2, "lstm": lstm_lm}
