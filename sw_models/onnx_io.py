"""Shared ONNX helpers for every software model (chapters 5-8).

Models are exchanged as ONNX files and run with onnxruntime. This module loads and validates a
file, exposes weight initializers as numpy arrays, puts modified weights back, and runs a model.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper


class OnnxModelError(ValueError):
    """A model file that cannot be used: missing, corrupt, invalid or of the wrong kind."""


def load_model(path: str | Path) -> onnx.ModelProto:
    """Load and check an ONNX file; raise OnnxModelError naming the file and the cause."""
    path = Path(path)
    if not path.is_file():
        raise OnnxModelError(f"{path}: no such ONNX file")
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx raises DecodeError, ValidationError, ...
        raise OnnxModelError(f"{path}: not a valid ONNX model ({type(exc).__name__}: {exc})") from exc
    return model


def get_weights(model: onnx.ModelProto, min_dims: int = 2) -> dict[str, np.ndarray]:
    """Initializers with at least `min_dims` dimensions (weight matrices and kernels), by name."""
    return {init.name: numpy_helper.to_array(init) for init in model.graph.initializer
            if len(init.dims) >= min_dims}


def set_weights(model: onnx.ModelProto, weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """Return a copy of `model` with the named initializers replaced (shapes must match)."""
    new = onnx.ModelProto()
    new.CopyFrom(model)
    by_name = {init.name: init for init in new.graph.initializer}
    for name, array in weights.items():
        if name not in by_name:
            raise OnnxModelError(f"initializer {name!r} not in model")
        old = numpy_helper.to_array(by_name[name])
        if old.shape != array.shape:
            raise OnnxModelError(f"initializer {name!r}: shape {array.shape} != {old.shape}")
        by_name[name].CopyFrom(numpy_helper.from_array(array.astype(old.dtype), name))
    return new


def session(model: onnx.ModelProto | str | Path):
    """An onnxruntime CPU inference session for a model object or file."""
    import onnxruntime as ort
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


def run(model: onnx.ModelProto | str | Path, inputs: np.ndarray | dict[str, np.ndarray]) -> list[np.ndarray]:
    """Run a model on one input array (fed to its first input) or a name->array dict."""
    sess = session(model)
    if not isinstance(inputs, dict):
        inputs = {sess.get_inputs()[0].name: inputs}
    return sess.run(None, inputs)
