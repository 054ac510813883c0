"""Structured pruning, cSmap's raw-when-cheaper blocks and two-way E search, the cost model, and the
hybrid scheme, each checked against an independent computation (brute force or a recount)."""
import numpy as np
import pytest

from sw_models.compression import formulas
from sw_models.compression.csmap import CsmapParams, decode_map, encode_csmap, make_decompressor, make_layout
from sw_models.compression.evaluate import LayerBits, encode_layer, layer_bits
from sw_models.compression.hybrid import hybrid_summary
from sw_models.compression.matrix import as_matrix
from sw_models.compression.pruning import GRANULARITIES, MIN_GROUPS, prune_one_shot, structured_mask
from sw_models.compression.quantize import quantize

from test_compression_formats import reference_csc


def _groups_by_hand(w, granularity, block):
    """List of index arrays (into w.ravel()), one per group, built with explicit loops."""
    out_c, in_c, kh, kw = w.shape
    idx = np.arange(w.size).reshape(w.shape)
    if granularity == "element":
        return [np.array([i]) for i in range(w.size)]
    if granularity == "kernel":
        return [idx[o, i].ravel() for o in range(out_c) for i in range(in_c)]
    if granularity == "filter":
        return [idx[o].ravel() for o in range(out_c)]
    if granularity == "channel":
        return [idx[:, i].ravel() for i in range(in_c)]
    mat = as_matrix(idx)                                      # (in*kh*kw, out) of flat indices
    bm, bn = block
    return [mat[r:r + bm, c:c + bn].ravel() for r in range(0, mat.shape[0], bm)
            for c in range(0, mat.shape[1], bn)]


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_structured_mask_zeroes_whole_groups_smallest_first(granularity):
    rng = np.random.default_rng(1)
    w = rng.normal(size=(20, 18, 3, 3)) * rng.uniform(0.2, 2.0, size=(20, 18, 1, 1))
    block = (16, 8)
    keep = structured_mask(w, 0.6, granularity, block).ravel()
    groups = _groups_by_hand(w, granularity, block)
    assert len(groups) >= MIN_GROUPS
    kept, dead = [], []
    for g in groups:
        assert keep[g].all() or not keep[g].any(), "a group is partly pruned"
        (kept if keep[g].all() else dead).append(np.abs(w.ravel()[g]).mean())
    assert max(dead) <= min(kept)                             # magnitude order between groups
    zeros = w.size - keep.sum()
    largest = max(len(g) for g in groups)
    assert round(0.6 * w.size) <= zeros < round(0.6 * w.size) + largest


def test_layers_with_few_groups_fall_back_to_element():
    w = np.random.default_rng(2).normal(size=(64, 1, 8, 8))  # MNISTconv conv1: one input channel
    assert np.array_equal(structured_mask(w, 0.5, "channel"), structured_mask(w, 0.5, "element"))
    assert structured_mask(w, 0.5, "channel").mean() == 0.5


def _codes(shape, sparsity, granularity, bits, seed):
    w = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    pruned = prune_one_shot({"w": w}, sparsity, granularity, (16, 16))["w"]
    return as_matrix(quantize(pruned, bits).codes)


def _smap_bits(codes, bits):
    return int((codes != 0).sum()) * bits + codes.size          # eq. 7.3, counted


def _csmap_recount(codes, enc):
    """Location and value bits recounted from the decoded map and the block geometry."""
    lay = make_layout(*codes.shape, enc.params)
    dec = make_decompressor(lay, enc.channels, enc.params)
    raw_cells = sum(min(lay.bm, lay.m - (k // lay.grid[1]) * lay.bm) * min(lay.bn, lay.n - (k % lay.grid[1]) * lay.bn)
                    for k in np.flatnonzero(enc.bypass))
    dsm = decode_map(enc)
    assert np.all(dsm[codes != 0])
    return lay.n_blocks + int((~enc.bypass).sum()) * dec.n_inputs + raw_cells + enc.bits * int(dsm.sum())


def test_csmap_beats_smap_on_dead_input_channels_and_ties_on_uniform_zeros():
    params = CsmapParams(fc=0.0, block=(16, 16))
    dead = _codes((32, 16, 3, 3), 0.8, "channel", 2, seed=3)
    uniform = _codes((32, 16, 3, 3), 0.8, "element", 2, seed=3)
    assert (dead == 0).all(axis=1).sum() >= 0.75 * dead.shape[0]         # whole rows are zero
    e_dead, e_uni = encode_csmap(dead, 2, params), encode_csmap(uniform, 2, params)
    for codes, enc in ((dead, e_dead), (uniform, e_uni)):
        assert enc.total_bits == _csmap_recount(codes, enc)
    assert _smap_bits(dead, 2) / e_dead.total_bits > 1.25
    assert abs(_smap_bits(uniform, 2) / e_uni.total_bits - 1) < 0.03
    e4 = encode_csmap(_codes((32, 16, 3, 3), 0.8, "element", 4, seed=3), 4, params)
    assert e4.total_bits >= _smap_bits(_codes((32, 16, 3, 3), 0.8, "element", 4, seed=3), 4)


def test_solvable_blocks_are_stored_raw_when_that_is_cheaper():
    codes = _codes((32, 16, 3, 3), 0.6, "element", 4, seed=5)
    params = CsmapParams(fc=0.0, block=(16, 16), channels=6)
    with_raw = encode_csmap(codes, 4, params)
    without = encode_csmap(codes, 4, CsmapParams(fc=0.0, block=(16, 16), channels=6, raw_choice=False))
    assert with_raw.bypass.sum() > without.bypass.sum()
    assert with_raw.total_bits < without.total_bits
    assert with_raw.total_bits == _csmap_recount(codes, with_raw)
    # per compressed block: inputs + P * spurious ones <= raw cells (recounted from the decoded map)
    lay = make_layout(*codes.shape, params)
    v = make_decompressor(lay, 6, params).n_inputs
    dsm, sm = decode_map(with_raw), codes != 0
    for k in np.flatnonzero(~with_raw.bypass):
        r, c = divmod(k, lay.grid[1])
        sl = np.s_[r * 16:(r + 1) * 16, c * 16:(c + 1) * 16]
        assert v + 4 * int((dsm[sl] & ~sm[sl]).sum()) <= sm[sl].size


def test_channel_search_goes_down_as_well_as_up():
    rng = np.random.default_rng(6)
    codes = np.zeros((96, 64), dtype=int)      # six 32x32 blocks
    codes[:32, :32] = rng.choice([-1, 1], size=(32, 32)) * (rng.random((32, 32)) < 0.2)
    codes[32:64, 32:64] = 1                    # a dense block (raw); the other four are all zero
    params = CsmapParams(fc=0.0, block=(32, 32))
    auto = encode_csmap(codes, 2, params)
    forced = {e: encode_csmap(codes, 2, CsmapParams(fc=0.0, block=(32, 32), channels=e)).total_bits
              for e in range(1, 7)}
    # the start estimate is mean(ones) / T = (205 + 1024) / 6 / 32 ~ 6: the best E lies below it
    assert min(forced, key=forced.get) < 6
    assert auto.total_bits <= min(forced.values())


@pytest.mark.parametrize("granularity,bits", [("element", 2), ("element", 4), ("channel", 2), ("block", 2)])
def test_cost_model_predicts_measured_csmap_bits(granularity, bits):
    codes = _codes((32, 16, 3, 3), 0.8, granularity, bits, seed=7)
    enc = encode_csmap(codes, bits, CsmapParams(fc=0.0, block=(16, 16)))
    v = make_decompressor(make_layout(*codes.shape, enc.params), enc.channels, enc.params).n_inputs
    model = formulas.csmap_model_bits(codes != 0, bits, (16, 16), v)
    assert model == pytest.approx(enc.total_bits, rel=0.05)


def test_uniform_cost_model_per_element():
    # hand values of (P/2 - 1)(1 - v)
    assert formulas.csmap_minus_smap_per_element(2, 0.1) == 0
    assert formulas.csmap_minus_smap_per_element(4, 0.1) == pytest.approx(0.9)
    assert formulas.csmap_minus_smap_per_element(8, 0.3) == pytest.approx(2.1)


def _rows_for(name, codes, bits, params):
    s = float(np.mean(codes == 0))
    return [layer_bits(name, codes, s, bits, f, encode_layer(name, codes, bits, f, params))
            for f in ("csc", "smap", "csmap")]


def test_hybrid_picks_each_format_where_an_independent_recount_says_it_wins():
    bits, params = 2, CsmapParams(fc=0.0, block=(16, 16))
    layers = {"half": _codes((32, 16, 3, 3), 0.5, "element", bits, 8),       # Smap territory
              "sparse": _codes((32, 16, 3, 3), 0.97, "element", bits, 9),    # CSC territory
              "dead": _codes((32, 16, 3, 3), 0.8, "channel", bits, 10)}      # cSmap territory
    rows: list[LayerBits] = [r for k, c in layers.items() for r in _rows_for(k, c, bits, params)]
    h = hybrid_summary(rows)
    recount = {}
    for k, c in layers.items():
        values, counts, pointers = reference_csc(c, 4)
        csc = len(values) * (bits + 4) + len(pointers) * int(np.ceil(np.log2(c.size + 1)))
        enc = encode_csmap(c, bits, params)
        recount[k] = {"csc": csc, "smap": _smap_bits(c, bits), "csmap": _csmap_recount(c, enc)}
    assert {k: min(v, key=v.get) for k, v in recount.items()} == {"half": "smap", "sparse": "csc", "dead": "csmap"}
    assert h["best_per_layer"] == {"half": "smap", "sparse": "csc", "dead": "csmap"}
    dense = sum(c.size * bits for c in layers.values())
    assert h["hybrid_layer_ratio"] == pytest.approx(dense / sum(min(v.values()) for v in recount.values()))
    for fmt in ("csc", "smap", "csmap"):
        homogeneous = dense / sum(v[fmt] for v in recount.values())
        assert h["ratios"][fmt] == pytest.approx(homogeneous)
        assert h["gain_layer_hybrid"][fmt] > 0.02            # strictly better than every format


def test_agp_with_filter_granularity_kills_whole_output_units():
    import torch
    from sw_models.compression.pruning import agp_prune_torch
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
    x = torch.randn(64, 8)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()

    def batches():
        while True:
            yield x, y
    got = agp_prune_torch(model, {"0.weight": 0.75}, batches, torch.nn.functional.cross_entropy,
                          n=4, dt=3, final_steps=5, granularity="filter")
    rows_zero = (model[0].weight == 0).all(dim=1)
    assert int(rows_zero.sum()) == 24 and got["0.weight"] == 0.75      # 24 of 32 output units
    assert ((model[0].weight == 0).any(dim=1) == rows_zero).all()       # no partly pruned unit


def test_cli_granularity_and_agp_arguments(tmp_path, capsys):
    from axsim.cli import main as axsim_main
    rc = axsim_main(["compress", "--prune", "agp", "some.onnx", "--out", str(tmp_path / "o")])
    assert rc == 2 and "--prune agp trains MNISTconv" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit):
        axsim_main(["compress", "x.onnx", "--granularity", "row"])
