"""DoReFa quantizers (eq. 8.1): exact values, gradients, bit-width validation."""
import math

import numpy as np
import pytest
import torch

from sw_models.empir.models import QAct, build_model, grad_mode
from sw_models.empir.quant import check_bits, quantize_activation, quantize_k, quantize_weight

torch.set_num_threads(1)


def test_quantize_k_known_values():
    x = torch.tensor([0.0, 0.1, 0.2, 0.5, 0.9, 1.0])
    # 2 bits: round(3x)/3 by hand; 1.5 rounds half to even -> 2
    expected = torch.tensor([0, 0, 1 / 3, 2 / 3, 1, 1])
    assert torch.allclose(quantize_k(x, 2), expected)
    assert torch.equal(quantize_k(x, 32), x)


def test_quantize_weight_known_values():
    w = torch.tensor([-3.0, 0.0, 3.0])
    # scaled = tanh(w)/(2 max|tanh|) + 1/2 = [0, .5, 1]; 2 bits -> [0, 2/3, 1]; 2q-1
    assert torch.allclose(quantize_weight(w, 2), torch.tensor([-1.0, 1 / 3, 1.0]))
    w = torch.tensor([-2.0, 0.1, 3.0])
    s = math.tanh(-2) / (2 * math.tanh(3)) + 0.5
    assert s < 0.5  # so 1 bit rounds it to 0 -> -1
    assert torch.allclose(quantize_weight(w, 1), torch.tensor([-1.0, 1.0, 1.0]))


@pytest.mark.parametrize("k", [1, 2, 3, 4, 8])
def test_weight_levels(k):
    w = torch.randn(2000, generator=torch.Generator().manual_seed(k))
    q = quantize_weight(w, k).numpy()
    levels = 2 * np.arange(2 ** k) / (2 ** k - 1) - 1
    assert len(np.unique(q)) <= 2 ** k
    assert np.abs(q[:, None] - levels[None]).min(1).max() < 1e-6


def test_activation_quantizer_and_gradients():
    a = torch.tensor([-0.5, 0.2, 0.6, 1.7], requires_grad=True)
    q = quantize_activation(a, 2)
    assert torch.allclose(q, torch.tensor([0.0, 1 / 3, 2 / 3, 1.0]))
    q.sum().backward()
    assert torch.equal(a.grad, torch.tensor([0.0, 1.0, 1.0, 0.0]))   # STE inside the clip only
    a.grad = None
    quantize_activation(a, 2, grad="bpda").sum().backward()
    assert torch.equal(a.grad, torch.ones(4))                          # BPDA: identity everywhere


def test_weight_gradient_is_straight_through():
    w = torch.tensor([0.3, -0.2], requires_grad=True)
    quantize_k(w, 3).sum().backward()
    assert torch.equal(w.grad, torch.ones(2))


def test_grad_mode_restores():
    act = QAct(2)
    with grad_mode(act, "bpda"):
        assert act.grad == "bpda"
    assert act.grad == "ste"
    with pytest.raises(ValueError, match="gradient mode"):
        with grad_mode(act, "magic"):
            pass


@pytest.mark.parametrize("bad", [0, 33, -1, 2.5, True, "4"])
def test_bits_outside_range_rejected(bad):
    with pytest.raises(ValueError, match="1..32"):
        check_bits(bad)
    with pytest.raises(ValueError, match="1..32"):
        build_model("mnistconv", wbits=bad)
