"""EMPIR job files: JSON, torch state dicts and ONNX exports, all written atomically through
atomic_output (temporary file beside the target, then os.replace), so an interrupted job never
leaves a half-written file that a resumed job would trust.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from atomic_output import write_text, write_with


def save_json(path: str | Path, data) -> Path:
    """Write `data` as indented JSON, atomically."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=True))


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
    return write_with(path, lambda tmp: torch.save(module.state_dict(), tmp))


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
    return write_with(path, write)
