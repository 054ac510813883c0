"""MNISTconv in the authors' code layout: what is quantized, and what gradient an attack sees."""
import numpy as np
import torch
import torch.nn as nn

from sw_models.empir.models import QAct, QConv2d, build_model

torch.set_num_threads(1)


def _convs(model):
    return [m for m in model.modules() if isinstance(m, QConv2d)]


def test_lp_member_layout_matches_the_code():
    torch.manual_seed(0)
    m = build_model("mnistconv", 2, 4)
    convs = _convs(m)
    assert len(convs) == 3 and all(c.bias is None and not c.scale for c in convs)
    # the classifier is an ordinary (full-precision) linear layer, as in the code's `Linear`
    assert type(m.classifier) is nn.Linear and m.classifier.bias is None
    # one activation quantizer in front of every conv, the first one on the image itself
    assert isinstance(m.features[0], QAct)
    assert sum(isinstance(x, QAct) for x in m.features) == 3
    # 2-bit conv weights take eq. 8.1's levels {-1, -1/3, 1/3, 1} with no extra scale
    w = convs[1].weight
    from sw_models.empir.models import _quantized
    levels = torch.unique(_quantized(w, 2, False))
    assert torch.allclose(levels, torch.tensor([-1.0, -1 / 3, 1 / 3, 1.0]), atol=1e-6)


def test_unit_norm_init():
    torch.manual_seed(1)
    m = build_model("mnistconv", 32, 32)
    for c in _convs(m):
        norms = c.weight.detach().flatten(1).norm(dim=1)
        assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)
    rows = m.classifier.weight.detach().norm(dim=1)
    assert torch.allclose(rows, torch.ones_like(rows), atol=1e-5)


def test_lp_member_sees_the_image_on_2_pow_abits_levels():
    torch.manual_seed(2)
    lp, fp = build_model("mnistconv", 2, 4).eval(), build_model("mnistconv", 32, 32).eval()
    x = torch.rand(4, 1, 28, 28)
    levels = torch.round(x * 15) / 15
    # a nudge that leaves every pixel on the same 4-bit level cannot change the LP member's output
    nudged = levels + (torch.rand_like(x) - 0.5) * (0.9 / 15)
    with torch.no_grad():
        assert torch.equal(lp(levels), lp(nudged.clamp(0, 1)))
        assert not torch.equal(fp(levels), fp(nudged.clamp(0, 1)))


def test_full_precision_gradient_reaches_zero_pixels():
    """No ReLU on the input of a full-precision member: background (0) pixels get a gradient."""
    torch.manual_seed(3)
    fp = build_model("mnistconv", 32, 32).eval()
    x = torch.zeros(2, 1, 28, 28)
    x[:, :, 10:18, 10:18] = 1.0
    x.requires_grad_(True)
    fp(x)[:, 0].sum().backward()
    g = x.grad[:, :, :4, :4]                       # a corner that is 0 in the image
    assert float(g.abs().sum()) > 0


def test_lp_input_gradient_is_straight_through_inside_the_clip():
    """The attack's STE gradient through the input quantizer equals the gradient at the
    quantized image (identity backward through round, true gradient of the [0, 1] clip)."""
    torch.manual_seed(4)
    lp = build_model("mnistconv", 2, 4).eval()
    x = torch.rand(2, 1, 28, 28, dtype=torch.float32).requires_grad_(True)
    lp(x)[:, 3].sum().backward()
    q = (torch.round(x.detach() * 15) / 15).requires_grad_(True)
    rest = nn.Sequential(*list(lp.features)[1:])
    lp.classifier(rest(q))[:, 3].sum().backward()
    assert np.allclose(x.grad.numpy(), q.grad.numpy(), atol=1e-6)
