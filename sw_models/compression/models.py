"""Shipped models for the chapter-7 benchmarks (Table 7.1 analogs), exported to ONNX on demand.

- MNISTconv: Table 8.1's topology, trained on scikit-learn digits upsampled to 28x28, then pruned
  with AGP fine-tuning to each target sparsity.
- AlexNet, ResNet18, ResNet50, MobileNetV2: torchvision's layer shapes, re-declared here (torchvision
  does not import with this torch), with seeded random weights. Caveat: pruning random weights gives
  unclustered zeros, unlike the trained ImageNet models of the dissertation.
- A small LSTM language model (embedding, 2-layer LSTM, decoder) with seeded random weights.
Files go to a cache directory and are written atomically; nothing large is kept in the repository.
"""
from __future__ import annotations

import io
from pathlib import Path


from .report import write_atomic

SHIPPED = ("mnistconv", "alexnet", "resnet18", "resnet50", "mobilenetv2", "lstm")


def _torch():
    import torch
    torch.set_num_threads(1)
    return torch


def mnistconv():
    nn = _torch().nn
    return nn.Sequential(nn.Conv2d(1, 64, 8, 2, 3), nn.ReLU(), nn.Conv2d(64, 128, 6, 2), nn.ReLU(),
                         nn.Conv2d(128, 128, 5), nn.ReLU(), nn.Flatten(), nn.Linear(128, 10))


def alexnet(classes: int = 1000):
    nn = _torch().nn
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2), nn.AdaptiveAvgPool2d(6),
        nn.Flatten(), nn.Linear(9216, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, classes))


def _resnet_block(nn, cin, cout, stride, bottleneck):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            if bottleneck:
                mid = cout // 4
                self.body = nn.Sequential(
                    nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
                    nn.Conv2d(mid, mid, 3, stride, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
                    nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))
            else:
                self.body = nn.Sequential(
                    nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                    nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
            self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else nn.Identity())
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.body(x) + self.down(x))
    return Block()


def resnet(depth: int = 18, classes: int = 1000):
    nn = _torch().nn
    blocks, bottleneck = {18: ([2, 2, 2, 2], False), 50: ([3, 4, 6, 3], True)}[depth]
    widths = [256, 512, 1024, 2048] if bottleneck else [64, 128, 256, 512]
    layers, cin = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)], 64
    for stage, (count, width) in enumerate(zip(blocks, widths)):
        for k in range(count):
            layers.append(_resnet_block(nn, cin, width, 2 if k == 0 and stage > 0 else 1, bottleneck))
            cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def mobilenetv2(classes: int = 1000):
    nn = _torch().nn

    def cbr(cin, cout, k, s, groups=1):
        return [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU6()]

    class Inverted(nn.Module):
        def __init__(self, cin, cout, s, t):
            super().__init__()
            hid = cin * t
            body = (cbr(cin, hid, 1, 1) if t != 1 else []) + cbr(hid, hid, 3, s, hid)
            self.body = nn.Sequential(*body, nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout))
            self.res = s == 1 and cin == cout

        def forward(self, x):
            return x + self.body(x) if self.res else self.body(x)
    layers, cin = cbr(3, 32, 3, 2), 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)]:
        for k in range(n):
            layers.append(Inverted(cin, c, s if k == 0 else 1, t))
            cin = c
    layers += cbr(cin, 1280, 1, 1) + [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, classes)]
    return nn.Sequential(*layers)


def lstm_lm(vocab: int = 2000, dim: int = 256, layers: int = 2):
    nn = _torch().nn

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, dim)
            self.lstm = nn.LSTM(dim, dim, layers, batch_first=True)
            self.out = nn.Linear(dim, vocab)

        def forward(self, tokens):
            h, _ = self.lstm(self.embed(tokens))
            return self.out(h)
    return LM()


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
    write_atomic(path, proto.SerializeToString())
    return path


def train_mnistconv(epochs: int = 8, seed: int = 0):
    """Train MNISTconv on digits (28x28); return (model, test accuracy, data)."""
    torch = _torch()
    from sw_models.datasets import digits
    torch.manual_seed(seed)
    xtr, ytr, xte, yte = digits(size=28, seed=seed)
    data = tuple(torch.from_numpy(a) for a in (xtr, ytr, xte, yte))
    model = mnistconv()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        for idx in torch.randperm(len(data[0])).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(data[0][idx]), data[1][idx]).backward()
            opt.step()
    return model, accuracy(model, data[2], data[3]), data


def accuracy(model, x, y) -> float:
    torch = _torch()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def agp_mnistconv(model, data, sparsity: float, seed: int = 0):
    """AGP-prune a copy of a trained MNISTconv to `sparsity` in every layer, with fine-tuning."""
    import copy
    torch = _torch()
    from .pruning import agp_prune_torch
    torch.manual_seed(seed)
    pruned = copy.deepcopy(model)
    targets = {k: sparsity for k, p in pruned.named_parameters() if p.dim() >= 2}

    def batches():
        while True:
            for idx in torch.randperm(len(data[0])).split(64):
                yield data[0][idx], data[1][idx]
    agp_prune_torch(pruned, targets, batches, torch.nn.functional.cross_entropy, n=10, dt=20, final_steps=100)
    return pruned, accuracy(pruned, data[2], data[3])


def build_shipped(name: str, cache_dir: str | Path = "output/models", seed: int = 0) -> Path:
    """Export a shipped model (dense; MNISTconv trained) to cache_dir/NAME.onnx, reusing a cached file."""
    if name not in SHIPPED:
        raise ValueError(f"unknown shipped model {name!r}; choose from {', '.join(SHIPPED)}")
    path = Path(cache_dir) / f"{name}.onnx"
    if path.is_file():
        return path
    torch = _torch()
    torch.manual_seed(seed)
    if name == "mnistconv":
        model, _, _ = train_mnistconv(seed=seed)
        return export_onnx(model, torch.zeros(1, 1, 28, 28), path)
    if name == "lstm":
        return export_onnx(lstm_lm(), torch.zeros(1, 12, dtype=torch.long), path)
    model = {"alexnet": alexnet, "resnet18": lambda: resnet(18), "resnet50": lambda: resnet(50),
             "mobilenetv2": mobilenetv2}[name]()
    return export_onnx(model, torch.zeros(1, 3, 224, 224), path)
