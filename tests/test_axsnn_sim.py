"""AxSNN simulator (chapter 6) against independent oracles: a dense per-step LIF reference with its
own per-neuron controller, alpha = 1 everywhere, work counting, SpikeSig by path enumeration."""
import itertools

import numpy as np
import pytest

from sw_models.axsnn import reference
from sw_models.axsnn.simulate import Config, input_spikes, level_of, simulate
from sw_models.axsnn.snn import LEVELS, SNN, check_levels, from_layers


def small_snn(sizes=(24, 16, 12, 5), seed=0, leak=0.0, bias=False, density=0.7) -> SNN:
    rng = np.random.default_rng(seed)
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        m = rng.normal(0.25, 0.5, size=(a, b)) * (rng.random((a, b)) < density)
        layers.append((m, rng.normal(0, 0.02, b) if bias else np.zeros(b)))
    return from_layers(layers, (sizes[0],), leak=leak)


def images(n, n_in, seed=1):
    return np.random.default_rng(seed).random((n, n_in)).astype(np.float32)


def ref_run(snn, x, cfg, i):
    spk = input_spikes(x[i:i + 1], np.array([i]), cfg.steps, cfg.encoding, cfg.seed)[0]
    return reference.run([p.dense() for p in snn.projections], [p.bias for p in snn.projections], spk,
                         snn.threshold, snn.reset, snn.leak, cfg.thresholds, cfg.levels, cfg.lam,
                         snn.spike_sig(), cfg.fanin_check, cfg.early_stop)


@pytest.mark.parametrize("encoding,leak,bias", [("poisson", 0.0, False), ("deterministic", 0.02, True)])
def test_exact_matches_dense_reference(encoding, leak, bias):
    snn = small_snn(leak=leak, bias=bias)
    x = images(6, 24)
    cfg = Config(steps=40, encoding=encoding, batch=4)
    res = simulate(snn, x, cfg)
    for i in range(len(x)):
        ref = ref_run(snn, x, cfg, i)
        assert res.spikes[i].tolist() == [int(c.sum()) for c in ref["counts"]]
        assert res.out_counts[i].tolist() == ref["counts"][-1].tolist()
        assert res.updates[i] == ref["updates"] and res.pred[i] == ref["pred"]
    assert res.spikes[:, 1:].sum() > 50  # the test network really spikes


@pytest.mark.parametrize("fanin", [True, False])
def test_axsnn_matches_reference_controller(fanin):
    snn = small_snn(seed=3)
    x = images(5, 24, seed=4)
    sig = snn.spike_sig()
    thr = tuple(0.3 * s.max() for s in sig)
    cfg = Config(steps=40, lam=5, thresholds=thr, fanin_check=fanin, batch=2)
    res = simulate(snn, x, cfg)
    for i in range(len(x)):
        ref = ref_run(snn, x, cfg, i)
        assert res.updates[i] == ref["updates"]
        assert res.pred[i] == ref["pred"] and res.steps_run[i] == ref["steps_run"]
        assert bool(res.early[i]) == ref["early"]
    exact = simulate(snn, x, Config(steps=40, batch=2))
    assert res.updates.sum() < exact.updates.sum()


def test_fanin_check_refuses_some_updates():
    snn = small_snn(seed=3)
    x = images(5, 24, seed=4)
    thr = tuple(0.3 * s.max() for s in snn.spike_sig())
    both = simulate(snn, x, Config(steps=40, lam=5, thresholds=thr, early_stop=False))
    pre_only = simulate(snn, x, Config(steps=40, lam=5, thresholds=thr, early_stop=False, fanin_check=False))
    assert (both.updates <= both.checks).all() and both.updates.sum() < both.checks.sum()
    assert not np.array_equal(both.updates, pre_only.updates)


def test_alpha_one_everywhere_is_the_exact_snn():
    snn = small_snn(seed=5)
    x = images(8, 24, seed=6)
    exact = simulate(snn, x, Config(steps=50))
    same = simulate(snn, x, Config(steps=50, thresholds=(0.0,) * 4, lam=7))
    for f in ("pred", "updates", "spikes", "out_counts", "steps_run"):
        assert np.array_equal(getattr(exact, f), getattr(same, f)), f
    assert not same.early.any() and same.controller_evals.sum() == 0


def test_update_count_is_the_work_done(monkeypatch):
    """Every counted update is one addition handed to the accumulation, no more, no less."""
    import scipy.sparse as sp
    done = []
    real = sp.csr_matrix

    def spy(arg, *a, **k):
        done.append(len(arg[0]))
        return real(arg, *a, **k)
    monkeypatch.setattr(sp, "csr_matrix", spy)
    snn = small_snn(seed=7)
    x = images(6, 24, seed=8)
    thr = tuple(0.2 * s.max() for s in snn.spike_sig())
    for cfg in (Config(steps=30), Config(steps=30, lam=5, thresholds=thr)):
        done.clear()
        res = simulate(snn, x, cfg)
        assert sum(done) == res.updates.sum() > 0
    exact = simulate(snn, x, Config(steps=30))
    fan_out = [p.fan_out for p in snn.projections]
    counts = ref_run(snn, x, Config(steps=30), 0)["counts"]
    ref_total = sum(int(counts[k] @ fan_out[k]) for k in range(len(fan_out)))
    assert exact.updates[0] == ref_total


def test_spike_sig_is_sum_of_path_weight_products():
    snn = small_snn(sizes=(4, 3, 3, 2), seed=9, density=0.8)
    mats = [p.dense() for p in snn.projections]
    sig = snn.spike_sig()
    for j in range(4):
        paths = [abs(mats[0][j, a] * mats[1][a, b] * mats[2][b, c])
                 for a, b, c in itertools.product(range(3), range(3), range(2))
                 if mats[0][j, a] and mats[1][a, b] and mats[2][b, c]]
        assert sig[0][j] == pytest.approx(sum(paths))
        if paths:
            assert sig[0][j] == pytest.approx(len(paths) * np.mean(paths))  # NumPaths * MeanPathWeight
    assert np.all(sig[-1] == 1) and (sig[0] > 0).sum() >= 3


def test_fom_thresholds_spaced_by_alpha():
    t = 8.0
    fom = np.array([9.0, 8.0, 7.9, 4.0, 3.9, 2.0, 1.0, 0.99, 0.0])
    assert level_of(fom, t, LEVELS).tolist() == [0, 0, 1, 1, 2, 2, 3, 4, 4]


def test_alpha_zero_is_absorbing_and_levels_start_exact():
    snn = small_snn(seed=10)
    x = images(3, 24, seed=11)
    thr = tuple(0.4 * s.max() for s in snn.spike_sig())
    res = simulate(snn, x, Config(steps=40, lam=5, thresholds=thr, trace=True, early_stop=False))
    for lv in res.trace:
        assert (lv[:5] == 0).all()  # alpha = 1 until the first controller call
        dead = lv == len(LEVELS) - 1
        assert (dead[:-1] <= dead[1:]).all()
    assert any((lv == 4).any() for lv in res.trace)


def test_early_termination_keeps_the_class_of_easy_inputs():
    """Inputs the full run classifies with a clear margin end early with the same class."""
    from sw_models.axsnn import ann, convert
    from sw_models.axsnn.data import load
    import torch
    torch.set_num_threads(1)
    x_tr, y_tr, x_te, y_te = load("digits")
    model = ann.train("digits_mlp", x_tr, y_tr, epochs=6)
    mats = [(m.weight.detach().numpy().T.astype(np.float64), np.zeros(m.out_features))
            for m in model if isinstance(m, torch.nn.Linear)]
    stages = [convert.Stage(m, b, k < len(mats) - 1, (m.shape[1],)) for k, (m, b) in enumerate(mats)]
    snn = from_layers(convert.normalise(stages, x_tr[:500]), (1, 8, 8))
    x = x_te[:120]
    full = simulate(snn, x, Config(steps=100))
    top2 = np.sort(full.out_counts, axis=1)[:, -2:]
    easy = top2[:, 1] >= 2 * top2[:, 0] + 5
    thr = (0.0, 0.0, 0.5)
    ax = simulate(snn, x, Config(steps=100, lam=10, thresholds=thr))
    ended = easy & ax.early
    assert ended.sum() >= 20
    assert (ax.pred[ended] == full.pred[ended]).mean() >= 0.95
    assert ax.steps_run[ended].max() < 100


def test_bad_settings_are_refused():
    snn = small_snn()
    x = images(2, 24)
    with pytest.raises(ValueError, match="lambda"):
        simulate(snn, x, Config(lam=0, thresholds=(0,) * 4))
    with pytest.raises(ValueError, match="alpha levels"):
        check_levels([1, 0.5, 1.5, 0])
    with pytest.raises(ValueError, match="alpha levels"):
        check_levels([1, 0.5, 0.25])
    with pytest.raises(ValueError, match="empty"):
        simulate(snn, x[:0], Config())
    with pytest.raises(ValueError, match="thresholds"):
        simulate(snn, x, Config(thresholds=(1.0, -1.0, 0, 0)))


def test_algorithm2_respects_the_constraint_and_ranks_by_energy_per_quality():
    from sw_models.axsnn.search import algorithm2, grid
    calls = []

    def evaluate(n):  # layer 0 saves much energy at little quality; layer 1 the reverse
        calls.append(n)
        return 100 - 10 * n[0] - 2 * n[1] + (30 if n[0] >= 3 else 0), 1.0 - 0.01 * n[0] - 0.05 * n[1]

    best, path = algorithm2(evaluate, 2, 5, q_min=0.95)
    assert all(p["Q"] >= 0.95 for p in path)
    # (1,0) beats (0,1) on E/Q; (2,1) breaks the constraint, so the costlier (3,0) is committed
    assert [p["notches"] for p in path] == [[0, 0], [1, 0], [2, 0], [3, 0], [4, 0]]
    assert best == (2, 0)  # the least-energy committed point
    assert (4, 1) in calls and (0, 1) in calls
    assert grid(8.0, 3, 2.0) == [0.0, 2.0, 4.0, 8.0]
    with pytest.raises(ValueError):
        grid(1.0, 0, 2.0)


def test_snnap_cycles_and_energy_from_events():
    from sw_models.axsnn import snnap
    snn = from_layers([(np.full((3, 130), 0.5), np.zeros(130)), (np.full((130, 2), 0.1), np.zeros(2))], (3,))
    x = np.ones((1, 3), dtype=np.float32)
    res = simulate(snn, x, Config(steps=4, encoding="deterministic"))
    # every step: 3 input spikes x ceil(130/64) = 3 cycles each; hidden spikes x ceil(2/64) = 1
    assert res.snpe_cycles[0] == 3 * 3 * 4 + res.spikes[0, 1]
    ev = snnap.events(res)
    e = snnap.energy(ev)
    cycles = 4 * 132 + ev["snpe_cycles"]
    assert e["cycles"] == cycles
    sm = 2 * 4 * 132 + 2 * ev["updates"]
    assert e["energy_uJ"] == pytest.approx(0.17574 * cycles * 1e-3 + sm * 5e-6 + ev["updates"] * 10e-6)
