"""EMPIR ensembles: M full-precision + N low-precision members (§8.1.2, Fig. 8.2, §8.2.2).

Combination:
  * averaging: the class with the largest mean softmax probability;
  * max voting: each member votes for its argmax class; the class with most votes wins. A tie
    (several classes share the top count, e.g. three members voting for three classes) goes to the
    first full-precision member's class (member 0 when there is none) if it is among the tied
    classes, else to the lowest tied class index. As scores: counts + 0.5 * onehot(priority vote),
    then argmax (first index on ties), which is what the ONNX graph computes too.
Attack gradient (§8.2.2): the input gradient of -log p_y where p is the mean softmax over all
members (averaging) or over the members that voted for the ensemble's final class (max voting).
The whole ensemble exports as one ONNX graph with outputs `scores` (B, C) and `label` (B,).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

from sw_models.onnx_io import OnnxModelError, load_model, session

from .store import export_onnx

METHODS = ("vote", "average")


def vote_scores(preds: torch.Tensor, n_classes: int, priority: int) -> torch.Tensor:
    """Max-voting scores from member predictions (K, B): counts + 0.5 * onehot(preds[priority])."""
    counts = F.one_hot(preds, n_classes).sum(0).to(torch.float32)
    return counts + 0.5 * F.one_hot(preds[priority], n_classes).to(torch.float32)


class Ensemble(nn.Module):
    """Members combined by averaging or max voting; forward returns the (B, C) scores."""

    def __init__(self, members: list[nn.Module], full_precision: list[bool], method: str = "vote",
                 in_shape=(1, 28, 28)):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if len(full_precision) != len(members):
            raise ValueError(f"{len(members)} members but {len(full_precision)} precision flags")
        if method not in METHODS:
            raise ValueError(f"ensembling method must be one of {METHODS}, got {method!r}")
        self.members = nn.ModuleList(members)
        self.full_precision = [bool(f) for f in full_precision]
        self.method = method
        self.in_shape = tuple(in_shape)
        self.priority = self.full_precision.index(True) if any(self.full_precision) else 0
        self.n_classes = check_member_shapes(members, self.in_shape)

    def member_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Stacked member logits, shape (K, B, C)."""
        return torch.stack([m(x) for m in self.members])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.member_logits(x)
        if self.method == "average":
            return torch.softmax(z, dim=-1).mean(0)
        return vote_scores(z.argmax(-1), self.n_classes, self.priority)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch: int = 512) -> torch.Tensor:
        """Final class per example."""
        return torch.cat([self(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)])

    def attack_logits(self, x: torch.Tensor) -> torch.Tensor:
        """log p for §8.2.2's attack gradient (all members, or only those agreeing with the vote)."""
        z = self.member_logits(x)
        probs = torch.softmax(z, dim=-1)
        if self.method == "average":
            return torch.log(probs.mean(0).clamp_min(1e-12))
        with torch.no_grad():
            preds = z.argmax(-1)
            final = vote_scores(preds, self.n_classes, self.priority).argmax(1)
            agree = (preds == final[None]).to(probs.dtype)          # (K, B), treated as constant
        mean = (probs * agree[..., None]).sum(0) / agree.sum(0)[:, None]
        return torch.log(mean.clamp_min(1e-12))


class _ExportGraph(nn.Module):
    def __init__(self, ens: Ensemble):
        super().__init__()
        self.ens = ens

    def forward(self, x):
        scores = self.ens(x)
        return scores, scores.argmax(1)


def check_member_shapes(members: list[nn.Module], in_shape) -> int:
    """Run a dummy input through every member; return the shared class count or raise ValueError."""
    classes = []
    for i, m in enumerate(members):
        try:
            with torch.no_grad():
                out = m.eval()(torch.zeros(2, *in_shape))
        except RuntimeError as exc:
            raise ValueError(f"member {i} does not accept inputs of shape {tuple(in_shape)}: "
                             f"{str(exc).splitlines()[0]}") from exc
        if out.dim() != 2 or out.shape[0] != 2:
            raise ValueError(f"member {i} is not a classifier: output shape {tuple(out.shape)}")
        classes.append(int(out.shape[1]))
    if len(set(classes)) != 1:
        raise ValueError(f"members have mismatched output shapes: {classes} classes")
    if classes[0] < 2:
        raise ValueError(f"members output {classes[0]} class(es); a classifier needs >= 2")
    return classes[0]


def export_ensemble(ens: Ensemble, path: str | Path) -> Path:
    """Write the whole ensemble as ONE ONNX graph (inputs `input`, outputs `scores`, `label`)."""
    return export_onnx(_ExportGraph(ens.eval()), path, ens.in_shape, ("scores", "label"))


# ---------------------------------------------------------------- ONNX members via onnxruntime

def inspect_classifier(path: str | Path) -> tuple[tuple[int, ...], int]:
    """(input shape without batch, class count) of an ONNX image classifier, else OnnxModelError."""
    model = load_model(path)
    inputs = [i for i in model.graph.input
              if i.name not in {init.name for init in model.graph.initializer}]
    if len(inputs) != 1:
        raise OnnxModelError(f"{path}: not a classifier: expected 1 input, found {len(inputs)}")
    in_dims = _dims(inputs[0])
    out_dims = _dims(model.graph.output[0])
    if len(in_dims) != 4 or any(not isinstance(d, int) for d in in_dims[1:]):
        raise OnnxModelError(f"{path}: not a classifier: input must be (N, C, H, W), got {in_dims}")
    if len(out_dims) != 2 or not isinstance(out_dims[1], int) or out_dims[1] < 2:
        raise OnnxModelError(f"{path}: not a classifier: output must be (N, classes>=2), "
                             f"got {out_dims}")
    return tuple(in_dims[1:]), out_dims[1]


def _dims(value: onnx.ValueInfoProto) -> list:
    ttype = value.type.tensor_type
    if ttype.elem_type != onnx.TensorProto.FLOAT:
        return ["non-float"]
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
            for d in ttype.shape.dim]


class OnnxEnsemble:
    """Member ONNX files run with onnxruntime and combined with the same rules as Ensemble."""

    def __init__(self, paths: list[str | Path], full_precision: list[bool], method: str = "vote"):
        if method not in METHODS:
            raise ValueError(f"ensembling method must be one of {METHODS}, got {method!r}")
        if len(paths) != len(full_precision) or not paths:
            raise ValueError("need one precision flag per member and at least one member")
        shapes = [inspect_classifier(p) for p in paths]
        if len(set(s[0] for s in shapes)) != 1:
            raise ValueError("members have mismatched input shapes: "
                             + ", ".join(f"{p}: {s[0]}" for p, s in zip(paths, shapes)))
        if len(set(s[1] for s in shapes)) != 1:
            raise ValueError("members have mismatched output shapes: "
                             + ", ".join(f"{p}: {s[1]} classes" for p, s in zip(paths, shapes)))
        self.in_shape, self.n_classes = shapes[0]
        self.sessions = [session(p) for p in paths]
        self.method = method
        self.priority = list(full_precision).index(True) if any(full_precision) else 0

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Final class per example, computed in numpy from onnxruntime member outputs."""
        z = np.stack([s.run(None, {s.get_inputs()[0].name: x.astype(np.float32)})[0]
                      for s in self.sessions])
        if self.method == "average":
            e = np.exp(z - z.max(-1, keepdims=True))
            return (e / e.sum(-1, keepdims=True)).mean(0).argmax(1)
        scores = vote_scores(torch.from_numpy(z.argmax(-1)), self.n_classes, self.priority)
        return scores.argmax(1).numpy()
