"""Our LIF dynamics (eq. 3.4, leak 0, reset to 0) against a peer library, snntorch's Leaky neuron
(beta = 1, reset_mechanism="zero"), with the same weights and the same input spikes (chapter 6)."""
import numpy as np
import pytest

from sw_models.axsnn.simulate import Config, input_spikes, simulate
from sw_models.axsnn.snn import from_layers

snntorch = pytest.importorskip("snntorch")


def test_spikes_match_snntorch_leaky():
    import torch
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    sizes = (30, 20, 6)
    layers = [(rng.normal(0.15, 0.4, (a, b)), np.zeros(b)) for a, b in zip(sizes, sizes[1:])]
    snn = from_layers(layers, (sizes[0],))
    x = rng.random((4, sizes[0])).astype(np.float32)
    steps = 60
    ours = simulate(snn, x, Config(steps=steps))
    spk_in = input_spikes(x, np.arange(len(x)), steps, "poisson", 0)
    fcs = [torch.tensor(m, dtype=torch.float64) for m, _ in layers]
    lifs = [snntorch.Leaky(beta=1.0, threshold=1.0, reset_mechanism="zero") for _ in fcs]
    mems = [lif.init_leaky() for lif in lifs]
    counts = [torch.zeros(len(x), n, dtype=torch.float64) for n in sizes[1:]]
    with torch.no_grad():
        for t in range(steps):
            s = torch.from_numpy(spk_in[:, t].astype(np.float64))
            for k, (w, lif) in enumerate(zip(fcs, lifs)):
                s, mems[k] = lif(s.double() @ w, mems[k])
                counts[k] += s
    assert np.array_equal(counts[-1].numpy(), ours.out_counts)
    for k in range(len(fcs)):
        assert counts[k].sum().item() == ours.spikes[:, k + 1].sum()
    assert ours.spikes[:, 1:].sum() > 100
