"""AxLSTM (chapter 5): the numpy engine, DTS and DSR checked against independent computations."""
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("num2words")

from sw_models.axlstm import data as D, engine as E, onnx_model as O
from sw_models.axlstm.approx import InputAnalyzer, StateMinimizer, infer, input_diff_keep, state_effect
from sw_models.axlstm.model import Config, Seq2Seq, batch_tensors, src_ids, train
from sw_models.onnx_io import run


@pytest.fixture(scope="module")
def tiny():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = D.nmt1(count=200)
    pairs = data.splits["train"]
    cfg = Config(D.build_vocab([s for s, _ in pairs]), D.build_vocab([t for _, t in pairs]), 12, 2, 8)
    model = Seq2Seq(cfg)
    train(model, pairs, 15, batch_size=32)
    return model, O.from_torch(model), data


def _ids(w, seqs):
    return [src_ids(w.src_vocab, s) for s in seqs]


def test_onnx_round_trip_is_bit_exact(tiny):
    model, w, _ = tiny
    proto = O.to_onnx(w)
    back = O.from_onnx(type(proto).FromString(proto.SerializeToString()))
    for a, b in zip(w.enc + w.dec, back.enc + back.dec):
        for name in ("W", "R", "Wb", "Rb"):
            assert np.array_equal(getattr(a, name), getattr(b, name))
    assert np.array_equal(w.enc_emb, back.enc_emb) and np.array_equal(w.proj_W, back.proj_W)
    assert O.to_onnx(back).SerializeToString() == proto.SerializeToString()
    again = O.to_torch(back).state_dict()
    for k, v in model.state_dict().items():
        assert torch.equal(v, again[k]), k


def test_onnxruntime_engine_and_torch_agree(tiny):
    model, w, data = tiny
    pairs = data.splits["test"][:6]
    b = batch_tensors(model.cfg, pairs)
    with torch.no_grad():
        h, c = model.encode(b["src"], b["lens"])
        ref = model.decode(b["tgt_in"], h, c).numpy()
    ort = run(O.to_onnx(w), {"src": b["src"].numpy(), "src_lens": b["lens"].numpy().astype(np.int32),
                             "tgt_in": b["tgt_in"].numpy()})[0]
    eng = E.teacher_forced_logits(w, _ids(w, [s for s, _ in pairs]), b["tgt_in"].numpy())
    assert np.abs(ort - ref).max() < 1e-5
    assert np.abs(eng - ref).max() < 1e-5


def _torch_encode_skipping(model, ids, skip):
    """Independent encoder: nn.LSTM one step at a time, state simply not updated at skipped steps."""
    L, H = model.cfg.layers, model.cfg.hidden
    h, c = torch.zeros(L, 1, H), torch.zeros(L, 1, H)
    with torch.no_grad():
        for s in ids:
            if s in skip:
                continue
            _, (h, c) = model.encoder(model.enc_emb(torch.tensor([[s]])), (h, c))
    return h[:, 0].numpy(), c[:, 0].numpy()


def test_skipped_timestep_leaves_state_unchanged_and_costs_nothing(tiny):
    model, w, data = tiny
    ids = _ids(w, [data.splits["test"][0][0]])[0]
    skip = frozenset({ids[1]})
    kept = InputAnalyzer(skip).filter(ids)
    assert len(kept) < len(ids)
    full, ax = E.Stats(), E.Stats()
    E.encode(w, [ids], full)
    h, c = E.encode(w, [kept], ax)
    th, tc = _torch_encode_skipping(model, ids, skip)
    assert np.abs(np.stack([a[0] for a in h]) - th).max() < 1e-5
    assert np.abs(np.stack([a[0] for a in c]) - tc).max() < 1e-5
    per_step = full.ops_enc // len(ids)
    assert full.ops_enc - ax.ops_enc == per_step * (len(ids) - len(kept))
    assert len(ax.enc_steps) == len(kept)


def _zeroed(w, keep):
    """The full decoder with every removed unit's gate rows, biases and projection rows zeroed."""
    layers = []
    for layer, k in zip(w.dec, keep):
        H = layer.hidden
        drop = np.setdiff1d(np.arange(H), k)
        rows = np.concatenate([drop + g * H for g in range(4)])
        W, R, Wb, Rb = (a.copy() for a in (layer.W, layer.R, layer.Wb, layer.Rb))
        W[rows], R[rows], Wb[rows], Rb[rows] = 0, 0, 0, 0
        layers.append(E.Layer(W, R, Wb, Rb))
    proj = w.proj_W.copy()
    proj[np.setdiff1d(np.arange(len(proj)), keep[-1])] = 0
    return replace(w, dec=layers, proj_W=proj)


def _half(h, c):
    """absThres per layer at the median unit magnitude: drops about half the units of the batch."""
    mags = [np.maximum(np.abs(a), np.abs(b)).max(axis=0) for a, b in zip(h, c)]
    return StateMinimizer([float(np.median(m)) for m in mags])


def test_sliced_decoder_equals_zeroed_full_decoder(tiny):
    model, w, data = tiny
    sources = _ids(w, [s for s, _ in data.splits["test"][:5]])
    h, c = E.encode(w, sources)
    keep = _half(h, c).keep(h, c)
    assert all(0 < len(k) < w.dec[0].hidden for k in keep)
    sliced = E.slice_decoder(w, keep)
    assert [l.RT.shape for l in sliced.dec] == [(len(k), 4 * len(k)) for k in keep]
    zero = _zeroed(w, keep)
    on = [np.isin(np.arange(a.shape[1]), k) for a, k in zip(h, keep)]
    hz, cz = [np.where(m, a, 0) for m, a in zip(on, h)], [np.where(m, a, 0) for m, a in zip(on, c)]
    hs, cs = [a[:, k] for a, k in zip(h, keep)], [a[:, k] for a, k in zip(c, keep)]
    b = batch_tensors(model.cfg, data.splits["test"][:5])
    tgt_in = b["tgt_in"].numpy()
    sliced_logits = E.decode_teacher(sliced, hs, cs, tgt_in)
    zero_logits = E.decode_teacher(zero, hz, cz, tgt_in)
    assert np.abs(sliced_logits - zero_logits).max() < 1e-5
    assert E.decode_greedy(sliced, hs, cs, 30) == E.decode_greedy(zero, hz, cz, 30)
    # the torch decoder with the units masked to zero (what retraining uses) gives the same logits
    masks = [torch.from_numpy(m[None].repeat(5, 0).astype(np.float32)) for m in on]
    with torch.no_grad():
        th, tc = model.encode(b["src"], b["lens"])
        masked = model.decode(b["tgt_in"], th, tc, masks).numpy()
    assert np.abs(masked - sliced_logits).max() < 1e-5


def test_sliced_decoder_does_less_work(tiny):
    _, w, data = tiny
    sources = _ids(w, [s for s, _ in data.splits["test"][:8]])
    _, base = infer(w, sources)
    _, ax = infer(w, sources, sm=_half(*E.encode(w, sources)))
    assert ax.kept_units[0] < base.kept_units[0]
    assert ax.ops_dec / max(1, len(ax.dec_steps)) < base.ops_dec / max(1, len(base.dec_steps))
    assert ax.ops_enc == base.ops_enc


def _torch_state_effect(model, sequences):
    """Direct recomputation with torch, one layer at a time, one sequence at a time."""
    total, count = {}, {}
    L, H = model.cfg.layers, model.cfg.hidden
    with torch.no_grad():
        for seq in sequences:
            h, c = torch.zeros(L, 1, H), torch.zeros(L, 1, H)
            for s in seq:
                _, (nh, nc) = model.encoder(model.enc_emb(torch.tensor([[s]])), (h, c))
                d = float(torch.sqrt(((nh - h) ** 2).sum() + ((nc - c) ** 2).sum()))
                total[s], count[s] = total.get(s, 0.0) + d, count.get(s, 0) + 1
                h, c = nh, nc
    return {s: total[s] / count[s] for s in total}


def test_state_effect_equals_direct_recomputation(tiny):
    model, w, data = tiny
    seqs = _ids(w, [s for s, _ in data.splits["train"][:40]])
    fast = state_effect(w, seqs, batch=16)
    slow = _torch_state_effect(model, seqs)
    assert fast.keys() == slow.keys()
    for s in fast:
        assert fast[s] == pytest.approx(slow[s], rel=1e-4, abs=1e-6)


def test_input_diff_compares_with_last_processed_frame():
    base = np.zeros((6, 4), np.float32)
    steps = [0.0, 0.04, 0.08, 0.12, 0.5, 0.52]            # slow drift, then a jump
    frames = base + np.array(steps, np.float32)[:, None]
    kept = input_diff_keep(frames, 0.1)
    # 0.04 and 0.08 are within 0.1 of frame 0; 0.12 is not; 0.52 is within 0.1 of 0.5
    assert [float(f[0]) for f in kept] == pytest.approx([0.0, 0.12, 0.5])
    assert len(input_diff_keep(frames, 0.0)) == 6


def test_input_diff_equals_frame_by_frame_rule():
    """The vectorised Input Analyzer keeps exactly the frames of a plain loop over the rule."""
    def direct(frames, thres):
        kept, last = [0], frames[0]
        for t in range(1, len(frames)):
            if np.abs(frames[t] - last).sum() >= thres * frames.shape[1]:
                kept.append(t)
                last = frames[t]
        return kept
    rng = np.random.default_rng(3)
    for _ in range(40):
        T = int(rng.integers(1, 15))
        frames = np.repeat(rng.random((T, 16), np.float32), rng.integers(1, 4, T), axis=0)
        frames = np.clip(frames + rng.normal(0, 0.03, frames.shape), 0, 1).astype(np.float32)
        for thres in (0.0, 0.02, 0.05, 0.2, 0.4):
            assert np.array_equal(input_diff_keep(frames, thres), frames[direct(frames, thres)])


def test_state_minimizer_thresholds():
    h = [np.array([[0.9, -0.5, 0.05, -0.01], [0.1, 0.02, -0.3, 0.0]], np.float32)]
    c = [np.zeros_like(h[0])]
    assert StateMinimizer([0.2], "abs").keep(h, c)[0].tolist() == [0, 1, 2]      # union over the batch
    assert StateMinimizer([0.5], "rel").keep(h, c)[0].tolist() == [0, 1, 2]      # 0.5*0.9 and 0.5*0.3
    assert StateMinimizer([0.95], "abs").keep(h, c)[0].tolist() == [0, 2]        # each row keeps its max
    c[0][0, 3] = -2.0                                     # small h, large cell value: significant
    assert StateMinimizer([0.2], "abs").keep(h, c)[0].tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="threshold"):
        StateMinimizer([-0.1])
    with pytest.raises(ValueError, match="threshold"):
        StateMinimizer([1.5], "rel")
    with pytest.raises(ValueError, match="1 or 2"):
        StateMinimizer([0.1, 0.2, 0.3]).keep(h * 2, c * 2)


def test_beam_of_one_is_greedy_and_wider_beams_run(tiny):
    _, w, data = tiny
    sources = _ids(w, [s for s, _ in data.splits["test"][:6]])
    h, c = E.encode(w, sources)
    greedy = E.decode_greedy(w, h, c, 30)
    assert E.decode_beam(w, h, c, 30, beam=1) == greedy
    wide = E.decode_beam(w, h, c, 30, beam=4)
    assert len(wide) == len(greedy) and all(isinstance(t, str) for seq in wide for t in seq)


def test_error_kinds_counts_length_and_token_errors():
    from sw_models.axlstm.evaluate import error_kinds
    hyps = [["one", "then", "two"], ["one"], ["one", "then", "two", "then", "six"], ["six", "then", "two"]]
    refs = [["one", "then", "two"]] * 4
    assert error_kinds(hyps, refs) == {"exact": 1, "shorter": 1, "longer": 1, "substituted_tokens": 1}
