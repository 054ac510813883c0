"""Eq. 8.2 overheads against Fig. 8.5's quoted numbers, and measured ONNX bytes."""
import pytest

from sw_models.empir.models import build_model
from sw_models.empir.overhead import (measured_latency_ms, op_width, packed_bytes,
                                      storage_overhead, time_overhead)
from sw_models.empir.store import export_onnx


def test_fig_8_5_three_low_precision_models():
    # dissertation §8.3.4: three LP models cost 0.38x time and 0.25x memory of one FP model
    members = [(2, 4), (2, 4), (4, 4)]
    assert abs(time_overhead(members) - 0.38) < 0.01
    assert storage_overhead(members) == pytest.approx(0.25)
    assert time_overhead([(32, 32)] * 3) == 3 and storage_overhead([(32, 32)] * 3) == 3


def test_eq_8_2_empir_mnist_configuration():
    members = [(32, 32), (2, 4), (2, 4)]
    assert time_overhead(members) == pytest.approx(1 + 2 * 4 / 32)
    assert storage_overhead(members) == pytest.approx(1 + 2 * 2 / 32)


def test_op_width_rounds_up():
    assert op_width(3, 1) == 4 and op_width(5, 2) == 8 and op_width(32, 1) == 32
    with pytest.raises(ValueError, match="1..32"):
        op_width(0, 4)
    with pytest.raises(ValueError, match="1..32"):
        storage_overhead([(40, 4)])


def test_packed_bytes_and_latency(tmp_path):
    model = build_model("cifarconv", in_shape=(1, 16, 16))
    path = export_onnx(model, tmp_path / "m.onnx", (1, 16, 16))
    weights = sum(p.numel() for n, p in model.named_parameters() if p.dim() >= 2)
    biases = sum(p.numel() for n, p in model.named_parameters() if p.dim() == 1)
    assert packed_bytes(path, 32) == 4 * (weights + biases)
    assert packed_bytes(path, 2) == -(-weights * 2 // 8) + 4 * biases
    assert measured_latency_ms(path, (1, 16, 16), repeats=3) > 0
