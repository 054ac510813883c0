"""Training of one EMPIR member (§8.1.2, §8.2.1): a Table 8.1 network at a {weight, activation}
bit pair, trained with its own seed (members differ only in their random initialisation), then
saved as a state dict and exported to ONNX.

Layout of a member directory <out>/<name>/: model.pt, model.onnx, member.json. member.json is
written last, so a member whose member.json exists is complete and is skipped on a re-run.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

from . import defenses
from .models import ARCHS, build_model
from .quant import check_bits
from .store import export_onnx, load_json, save_json, save_state


@dataclass(frozen=True)
class MemberSpec:
    """What to train: architecture, bit widths (32 = full precision), seed, defense and schedule.

    The authors trained with Adam, lr 1e-3, batch 128, 15 epochs on 60,000 MNIST images. On the
    1,347 digits training images that is only ~160 steps, and at lr 1e-3 some low-precision seeds
    collapsed to chance (a dead last conv layer); Adam at lr 5e-4 with batch 32 trained every seed
    we tried (see notes/issue6.md)."""
    arch: str = "mnistconv"
    wbits: int = 32
    abits: int = 32
    seed: int = 0
    defense: str = "none"
    epochs: int = 15
    lr: float = 5e-4
    batch_size: int = 32

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ValueError(f"unknown architecture {self.arch!r}; choose one of {ARCHS}")
        check_bits(self.wbits, "weight bits")
        check_bits(self.abits, "activation bits")
        if self.defense not in defenses.DEFENSES + ("distill_teacher",):
            raise ValueError(f"unknown defense {self.defense!r}; choose one of {defenses.DEFENSES}")
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise ValueError("epochs and batch size must be >= 1 and lr > 0")

    @property
    def full_precision(self) -> bool:
        return self.wbits == 32 and self.abits == 32

    @property
    def name(self) -> str:
        tail = "" if self.defense == "none" else f"_{self.defense}"
        return f"{self.arch}_w{self.wbits}a{self.abits}_s{self.seed}{tail}"


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 512) -> float:
    """Top-1 accuracy in [0, 1]."""
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)])
    return float((pred == y).float().mean())


def fit(model: nn.Module, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor, epochs: int,
        lr: float, batch_size: int, seed: int) -> None:
    """Adam on mini-batches, reshuffled every epoch with a seeded generator."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            loss = loss_fn(model, x[idx], y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()


def _loss_for(spec: MemberSpec, data, out_dir: Path, log) -> Callable:
    if spec.defense == "fgsm_adv":
        return defenses.fgsm_adversarial(0.3)
    if spec.defense == "pgd_adv":
        return defenses.pgd_adversarial(0.3)
    if spec.defense == "igr":
        return defenses.input_gradient_regularization(100.0)
    if spec.defense == "distill_teacher":
        return defenses.temperature_ce(100.0)
    if spec.defense == "distill":
        teacher_spec = MemberSpec(**{**asdict(spec), "defense": "distill_teacher"})
        teacher, _ = load_member(train_member(teacher_spec, data, out_dir, log)["dir"])
        return defenses.distillation(teacher, 100.0)
    return defenses.plain_ce


def train_member(spec: MemberSpec, data, out_dir: str | Path, log=print) -> dict:
    """Train (or reuse) one member; return its member.json record."""
    torch.set_num_threads(1)
    member_dir = Path(out_dir) / spec.name
    if (member_dir / "member.json").is_file():
        log(f"[empir] {spec.name}: already trained, skipped")
        return load_json(member_dir / "member.json")
    x_tr, y_tr, x_te, y_te = (torch.as_tensor(np.asarray(a)) for a in data)
    in_shape = tuple(x_tr.shape[1:])
    n_classes = int(y_tr.max()) + 1
    loss_fn = _loss_for(spec, data, Path(out_dir), log)
    torch.manual_seed(spec.seed)
    model = build_model(spec.arch, spec.wbits, spec.abits, in_shape, n_classes)
    start = time.time()
    fit(model, loss_fn, x_tr, y_tr, spec.epochs, spec.lr, spec.batch_size, spec.seed)
    record = {**asdict(spec), "name": spec.name, "dir": str(member_dir),
              "full_precision": spec.full_precision, "in_shape": list(in_shape),
              "n_classes": n_classes, "clean_acc": accuracy(model, x_te, y_te),
              "train_s": round(time.time() - start, 2),
              "n_params": sum(p.numel() for p in model.parameters())}
    save_state(member_dir / "model.pt", model)
    export_onnx(model, member_dir / "model.onnx", in_shape)
    save_json(member_dir / "member.json", record)
    log(f"[empir] {spec.name}: clean accuracy {record['clean_acc']:.4f} ({record['train_s']} s)")
    return record


def load_member(member_dir: str | Path) -> tuple[nn.Module, dict]:
    """Rebuild a trained member from its directory; errors name the file and the cause."""
    member_dir = Path(member_dir)
    info = load_json(member_dir / "member.json")
    try:
        model = build_model(info["arch"], info["wbits"], info["abits"], info["in_shape"],
                            info["n_classes"])
        state = torch.load(member_dir / "model.pt", weights_only=True)
        model.load_state_dict(state)
    except (KeyError, RuntimeError, OSError) as exc:
        raise ValueError(f"{member_dir}: cannot load member ({type(exc).__name__}: {exc})") from exc
    return model.eval(), info
