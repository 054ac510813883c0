"""Compute and storage overheads of an EMPIR ensemble (eq. 8.2, §8.1.3, Fig. 8.5(c, d)).

    TimeOverhead(M, N)    = M + sum_i Ops_per_sec(FP) / Ops_per_sec(k_i)
    StorageOverhead(M, N) = M + sum_i k_i / FP

Ops/s(bits) table (OPS_PER_SEC, relative to 32-bit = 1): a reconfigurable datapath whose 32-bit
lanes split into 32/b lanes of b bits (the GPUs and accelerators §8.1.3 cites: NVIDIA Turing tensor
cores run INT8 at 2x and INT4 at 4x the FP16 rate, and 1-bit at 8x INT4), so throughput scales as
32/b for b in {1, 2, 4, 8, 16, 32}. An operation of a member with weight bits w and activation bits
a runs at the width max(w, a) rounded up to a supported width, so k_i = that width for time; for
storage k_i = the weight bits. This reproduces Fig. 8.5's 0.38x time / 0.25x memory for three
low-precision members with 4-bit activations and weights of 2, 2 and 4 bits.

Measured overheads: onnxruntime latency (median of repeated runs, one thread) and the bytes of the
ONNX file and of the weights packed at their bit width, each against one full-precision model.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from sw_models.onnx_io import get_weights, load_model

from .quant import check_bits

FP_BITS = 32
OPS_PER_SEC = {1: 32.0, 2: 16.0, 4: 8.0, 8: 4.0, 16: 2.0, 32: 1.0}


def op_width(wbits: int, abits: int) -> int:
    """The supported datapath width an operation on (w, a)-bit operands runs at."""
    need = max(check_bits(wbits, "weight bits"), check_bits(abits, "activation bits"))
    return min(b for b in OPS_PER_SEC if b >= need)


def time_overhead(members: list[tuple[int, int]]) -> float:
    """Eq. 8.2's time overhead of members given as (wbits, abits); 32/32 counts as 1."""
    return sum(OPS_PER_SEC[FP_BITS] / OPS_PER_SEC[op_width(w, a)] for w, a in members)


def storage_overhead(members: list[tuple[int, int]]) -> float:
    """Eq. 8.2's storage overhead of members given as (wbits, abits)."""
    return sum(check_bits(w, "weight bits") / FP_BITS for w, _ in members)


def measured_latency_ms(onnx_path: str | Path, in_shape, batch: int = 1, repeats: int = 50) -> float:
    """Median onnxruntime latency in ms for one batch of zeros (single intra-op thread)."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: np.zeros((batch, *in_shape), np.float32)}
    sess.run(None, feed)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def packed_bytes(onnx_path: str | Path, wbits: int) -> int:
    """Bytes of the model's weight tensors stored at `wbits` bits each (biases at 32 bits)."""
    model = load_model(onnx_path)
    weights = get_weights(model, min_dims=2)
    biases = {k: v for k, v in get_weights(model, min_dims=1).items() if k not in weights}
    n_w = sum(v.size for v in weights.values())
    n_b = sum(v.size for v in biases.values())
    return math.ceil(n_w * check_bits(wbits, "weight bits") / 8) + 4 * n_b


def measured_overheads(ensemble_onnx: str | Path, baseline_onnx: str | Path, in_shape,
                       member_onnx: list[tuple[str | Path, int]]) -> dict:
    """Latency and bytes of the one-graph ensemble against one full-precision model."""
    base_ms = measured_latency_ms(baseline_onnx, in_shape)
    ens_ms = measured_latency_ms(ensemble_onnx, in_shape)
    base_packed = packed_bytes(baseline_onnx, FP_BITS)
    ens_packed = sum(packed_bytes(p, w) for p, w in member_onnx)
    return {"latency_ms_baseline": round(base_ms, 4), "latency_ms_ensemble": round(ens_ms, 4),
            "latency_ratio": round(ens_ms / base_ms, 3),
            "onnx_bytes_baseline": Path(baseline_onnx).stat().st_size,
            "onnx_bytes_ensemble": Path(ensemble_onnx).stat().st_size,
            "packed_bytes_baseline": base_packed, "packed_bytes_ensemble": ens_packed,
            "packed_ratio": round(ens_packed / base_packed, 3)}
