"""A container file for a compressed model: per-layer sparse encodings plus a SHA-256 checksum.

Layout: b"AXSC" | version (1 byte) | header length (4 bytes, big endian) | JSON header |
layer payloads | SHA-256 of everything before it (32 bytes). The header records, per layer, the
tensor name and shape, the format (csc, smap or csmap), the precision, the quantizer scale and what
the decoder needs (entry counts, cSmap parameters). Writing is atomic (atomic_output: temp file +
os.replace), and a corrupt or truncated file fails the checksum before anything is decoded.
"""
from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np

from atomic_output import write_bytes

from .csc import CSCEncoded, decode_csc
from .csmap import CsmapEncoded, CsmapParams, decode_csmap
from .matrix import from_matrix
from .smap import SmapEncoded, decode_smap

MAGIC, VERSION = b"AXSC", 1


class ContainerError(ValueError):
    """A container that cannot be read: wrong magic, checksum mismatch, inconsistent header."""


def _layer_header(name, shape, scale, enc) -> dict:
    h = {"name": name, "shape": list(shape), "scale": float(scale), "bits": enc.bits,
         "m": enc.m, "n": enc.n}
    if isinstance(enc, CSCEncoded):
        h.update(fmt="csc", index_bits=enc.index_bits, n_entries=enc.n_entries)
    elif isinstance(enc, SmapEncoded):
        h.update(fmt="smap", n_values=int(enc.values.size))
    elif isinstance(enc, CsmapEncoded):
        p = enc.params
        h.update(fmt="csmap", channels=enc.channels, n_values=int(enc.values.size), n_raw=int(enc.raw.size),
                 params={"alpha": p.alpha, "beta": p.beta, "fc": p.fc, "block": list(p.block),
                         "warmup": p.warmup, "seed": p.seed, "prefer": p.prefer})
    else:
        raise TypeError(f"{name}: not an encoding: {type(enc).__name__}")
    return h


def write_container(path: str | Path, layers: dict[str, tuple[tuple, float, object]],
                    meta: dict | None = None) -> int:
    """Write name -> (tensor shape, scale, encoding) atomically; return the file size in bytes."""
    path = Path(path)
    headers, payloads, offset = [], [], 0
    for name, (shape, scale, enc) in layers.items():
        data = enc.to_bytes()
        h = _layer_header(name, shape, scale, enc)
        h.update(offset=offset, nbytes=len(data))
        headers.append(h)
        payloads.append(data)
        offset += len(data)
    header = json.dumps({"meta": meta or {}, "layers": headers}).encode()
    body = MAGIC + bytes([VERSION]) + struct.pack(">I", len(header)) + header + b"".join(payloads)
    blob = body + hashlib.sha256(body).digest()
    write_bytes(path, blob)
    return len(blob)


def _decode(h: dict, data: bytes) -> np.ndarray:
    m, n, bits = h["m"], h["n"], h["bits"]
    if h["fmt"] == "csc":
        return decode_csc(CSCEncoded.from_bytes(data, m, n, bits, h["index_bits"], h["n_entries"]))
    if h["fmt"] == "smap":
        return decode_smap(SmapEncoded.from_bytes(data, m, n, bits, h["n_values"]))
    if h["fmt"] == "csmap":
        p = h["params"]
        params = CsmapParams(p["alpha"], p["beta"], p["fc"], tuple(p["block"]), None, p["warmup"],
                             p["seed"], p["prefer"])
        return decode_csmap(CsmapEncoded.from_bytes(data, m, n, bits, params, h["channels"],
                                                    h["n_values"], h["n_raw"]))
    raise ContainerError(f"unknown format {h['fmt']!r}")


def read_container(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """Decode every layer: name -> float32 weights (codes * scale), plus the header's meta."""
    path = Path(path)
    if not path.is_file():
        raise ContainerError(f"{path}: no such container file")
    blob = path.read_bytes()
    if len(blob) < 41 or blob[:4] != MAGIC:
        raise ContainerError(f"{path}: not an axsim compressed-model container (bad magic or too short)")
    body, digest = blob[:-32], blob[-32:]
    if hashlib.sha256(body).digest() != digest:
        raise ContainerError(f"{path}: checksum mismatch: the container is corrupt or truncated")
    if body[4] != VERSION:
        raise ContainerError(f"{path}: unsupported container version {body[4]}")
    (hlen,) = struct.unpack(">I", body[5:9])
    header = json.loads(body[9:9 + hlen])
    payload = body[9 + hlen:]
    out = {}
    for h in header["layers"]:
        data = payload[h["offset"]:h["offset"] + h["nbytes"]]
        try:
            codes = _decode(h, data)
        except ValueError as exc:
            raise ContainerError(f"{path}: layer {h['name']}: {exc}") from exc
        weights = (codes.astype(np.float32) * np.float32(h["scale"])).astype(np.float32)
        out[h["name"]] = from_matrix(weights, tuple(h["shape"]))
    return out, header["meta"]
