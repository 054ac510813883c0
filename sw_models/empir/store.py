"""Atomic file output for EMPIR jobs: JSON, torch state dicts and ONNX exports.

Every file is written to a temporary name in the target directory and then moved into place with
os.replace, so an interrupted job never leaves a half-written file that a resumed job would trust.
"""
from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Callable

import torch


def atomic_write(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call write(tmp_name) and move the temporary file onto `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def save_json(path: str | Path, data) -> Path:
    """Write `data` as indented JSON, atomically."""
    def write(tmp):
        with open(tmp, "w") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
    return atomic_write(path, write)


def load_json(path: str | Path):
    """Read a JSON file; raise ValueError naming the file when it cannot be parsed."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc


def save_state(path: str | Path, module: torch.nn.Module) -> Path:
    """Save a module's state dict atomically."""
    return atomic_write(path, lambda tmp: torch.save(module.state_dict(), tmp))


def export_onnx(module: torch.nn.Module, path: str | Path, in_shape, output_names=("logits",),
                opset: int = 17) -> Path:
    """Export `module` (batch axis dynamic) to ONNX atomically, with the TorchScript exporter."""
    module.eval()
    dummy = torch.zeros(1, *in_shape)
    axes = {"input": {0: "batch"}, **{name: {0: "batch"} for name in output_names}}

    def write(tmp):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (dummy,), tmp, input_names=["input"],
                              output_names=list(output_names), dynamic_axes=axes,
                              opset_version=opset, dynamo=False)
    return atomic_write(path, write)
