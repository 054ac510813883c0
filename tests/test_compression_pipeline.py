"""Pruning, quantization, containers, ONNX round trips, the hybrid and the `axsim compress` command."""
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from axsim.cli import main as axsim_main
from sw_models.onnx_io import get_weights, load_model, run, set_weights
from sw_models.compression.container import ContainerError, read_container
from sw_models.compression.evaluate import encode_layer, evaluate_network, quantized_matrices
from sw_models.compression.hybrid import hybrid_summary
from sw_models.compression.matrix import as_matrix, from_matrix, matrix_shape
from sw_models.compression.pruning import agp_sparsity, magnitude_mask, prune_one_shot
from sw_models.compression.quantize import check_bits, quantize
from sw_models.compression.sweep import compress_to_container, unpack_container

GRID = ["--alpha", "1", "--beta", "1", "--fc", "0,1", "--block", "16x16"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A conv + two Gemm network built directly with onnx.helper (shapes are torch-like)."""
    rng = np.random.default_rng(0)
    conv = rng.normal(size=(8, 1, 3, 3)).astype(np.float32)
    w1 = rng.normal(size=(32, 8 * 6 * 6)).astype(np.float32)
    w2 = rng.normal(size=(10, 32)).astype(np.float32)
    b1 = rng.normal(size=(32,)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "conv"], ["c"]), helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"]), helper.make_node("Gemm", ["f", "w1", "b1"], ["h"], transB=1),
             helper.make_node("Relu", ["h"], ["hr"]), helper.make_node("Gemm", ["hr", "w2"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 10])],
                              [numpy_helper.from_array(a, n) for a, n in ((conv, "conv"), (w1, "w1"), (w2, "w2"), (b1, "b1"))])
    path = tmp_path_factory.mktemp("m") / "tiny.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10                   # onnxruntime here reads IR <= 13
    onnx.save(model, str(path))
    return path


def test_quantizer_keeps_every_zero_and_every_nonzero():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(50, 40)).astype(np.float32) * rng.random((50, 40)).astype(np.float32) ** 4
    w[rng.random(w.shape) < 0.7] = 0
    for bits in (1, 2, 4, 6, 8, 16):
        q = quantize(w, bits)
        assert np.array_equal(q.codes == 0, w == 0)
        assert np.all(np.sign(q.codes) == np.sign(w))
        if bits > 1:
            assert np.abs(q.codes).max() <= 2 ** (bits - 1) - 1
    err8 = np.abs(quantize(w, 8).dequantize() - w).max()
    err2 = np.abs(quantize(w, 2).dequantize() - w).max()
    assert err8 < err2
    for bad in (0, 17, 2.5):
        with pytest.raises(ValueError, match="precision"):
            check_bits(bad)


def test_pruning_one_shot_and_agp_schedule():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(30, 20)).astype(np.float32)
    pruned = prune_one_shot({"a": w, "b": w}, {"a": 0.5, "b": 0.9})
    assert (pruned["a"] == 0).sum() == 300 and (pruned["b"] == 0).sum() == 540
    kept = np.abs(w[pruned["b"] != 0])
    assert kept.min() >= np.abs(w[pruned["b"] == 0]).max()
    assert agp_sparsity(0, 0.0, 0.9, 0, 10, 5) == 0.0
    assert agp_sparsity(50, 0.0, 0.9, 0, 10, 5) == pytest.approx(0.9)
    mid = agp_sparsity(25, 0.0, 0.9, 0, 10, 5)
    assert mid == pytest.approx(0.9 + (0 - 0.9) * (1 - 0.5) ** 3)
    with pytest.raises(ValueError, match=r"layer7: sparsity"):
        prune_one_shot({"layer7": w}, 1.0)
    assert magnitude_mask(w, 0.0).all()


def test_agp_finetuning_reaches_targets():
    import torch
    torch.manual_seed(0)
    torch.set_num_threads(1)
    from sw_models.compression.pruning import agp_prune_torch
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    x = torch.randn(64, 8)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()

    def batches():
        while True:
            yield x, y
    got = agp_prune_torch(model, {"0.weight": 0.75, "2.weight": 0.5}, batches,
                          torch.nn.functional.cross_entropy, n=4, dt=3, final_steps=5)
    assert got["0.weight"] == pytest.approx(0.75, abs=1 / 128)
    assert got["2.weight"] == pytest.approx(0.5, abs=1 / 48)


def test_matrix_view_round_trip():
    rng = np.random.default_rng(2)
    for shape in [(8, 3, 3, 3), (10, 20), (1, 16, 5)]:
        w = rng.normal(size=shape)
        m = as_matrix(w)
        assert m.shape == matrix_shape(shape)
        assert np.array_equal(from_matrix(m, shape), w)


@pytest.mark.parametrize("fmt", ["csc", "smap", "csmap", "hybrid"])
def test_container_round_trip_gives_identical_onnx_outputs(tiny_model, tmp_path, fmt):
    out = tmp_path / f"m_{fmt}.axc"
    summary = compress_to_container(tiny_model, out, 0.8, 4, fmt, grid=((1,), (1,), (0.0,)), block=(16, 16))
    assert out.stat().st_size == summary["bytes"]
    rebuilt_path = tmp_path / "rebuilt.onnx"
    unpack_container(out, tiny_model, rebuilt_path)
    model = load_model(tiny_model)
    q = quantized_matrices(get_weights(model), 0.8, 4)
    expected_weights = {k: v[1].dequantize() for k, v in q.items()}   # pruned + quantized originals
    expected_model = set_weights(model, expected_weights)
    x = np.random.default_rng(3).random((5, 1, 8, 8)).astype(np.float32)
    got = run(load_model(rebuilt_path), x)[0]
    want = run(expected_model, x)[0]
    assert np.array_equal(got, want)
    decoded, meta = read_container(out)
    assert meta["bits"] == 4 and set(decoded) == {"conv", "w1", "w2"}


def test_corrupt_or_truncated_container_fails_checksum_and_writes_nothing(tiny_model, tmp_path):
    out = tmp_path / "m.axc"
    compress_to_container(tiny_model, out, 0.7, 2, "smap")
    blob = bytearray(out.read_bytes())
    blob[len(blob) // 2] ^= 0x40
    bad = tmp_path / "bad.axc"
    bad.write_bytes(bytes(blob))
    with pytest.raises(ContainerError, match="checksum"):
        read_container(bad)
    short = tmp_path / "short.axc"
    short.write_bytes(out.read_bytes()[:-100])
    target = tmp_path / "never.onnx"
    rc = axsim_main(["compress", str(tiny_model), "--unpack", str(short), "--onnx-out", str(target)])
    assert rc == 2 and not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_network_rows_match_an_independent_recount(tiny_model):
    """evaluate_network's per-layer CSC and Smap bits against a recount (reference CSC walk and
    eq. 7.3 counted), and the hybrid's best-per-layer bits against the minimum of the rows."""
    from test_compression_formats import reference_csc
    weights = get_weights(load_model(tiny_model))
    rows, info = evaluate_network(weights, 0.9, 2, grid=((1,), (1,), (0.0, 1.0)), block=(16, 16))
    q = quantized_matrices(weights, 0.9, 2)
    for r in rows:
        codes = q[r.layer][0]
        if r.fmt == "smap":
            assert r.total_bits == int((codes != 0).sum()) * 2 + codes.size
        elif r.fmt == "csc":
            values, _, pointers = reference_csc(codes, 4)
            assert r.total_bits == len(values) * 6 + len(pointers) * int(codes.size).bit_length()
    h = hybrid_summary(rows)
    per_layer = {}
    for r in rows:
        per_layer.setdefault(r.layer, []).append(r.total_bits)
    dense = sum(r.dense_bits for r in rows if r.fmt == "csc")
    assert h["hybrid_layer_ratio"] == pytest.approx(dense / sum(min(v) for v in per_layer.values()))
    assert info["fc"] in (0.0, 1.0)


def test_cli_sweep_writes_results_and_resumes(tiny_model, tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["compress", str(tiny_model), "--sparsity", "0.5,0.9", "--bits", "2,8", "--out", str(out)] + GRID
    assert axsim_main(args) == 0
    net = (out / "network.csv").read_text().splitlines()
    assert len(net) == 1 + 2 * 2 * 3
    for name in ("layers.csv", "hybrid.csv", "best_format.csv", "ratio_heatmap.png",
                 "storage_breakdown.png", "best_format.png"):
        assert (out / name).stat().st_size > 0
    (cell,) = (out / "cells").glob("s0.9000_b2_*.json")
    before = cell.stat().st_mtime_ns
    assert axsim_main(args) == 0          # resumes from the cached cells
    assert cell.stat().st_mtime_ns == before
    data = json.loads(cell.read_text())
    smap_rows = [r for r in data["rows"] if r["format"] == "smap"]
    for r in smap_rows:                   # eq. 7.3 exactly
        nnz = round((1 - r["sparsity"]) * r["m"] * r["n"])
        assert r["total_bits"] == nnz * 2 + r["m"] * r["n"]
    # Fig. 7.3 across networks: two runs merged into one table and one heat map
    other = tmp_path / "other"
    other.mkdir()
    (other / "network.csv").write_text("\n".join(
        [net[0]] + [line.replace(line.split(",")[0], "second", 1) for line in net[1:]]) + "\n")
    merged = tmp_path / "merged"
    assert axsim_main(["compress", "--combine", str(out), str(other), "--out", str(merged)]) == 0
    lines = (merged / "networks.csv").read_text().splitlines()
    assert len(lines) == 1 + 2 * (len(net) - 1)
    assert {line.split(",")[0] for line in lines[1:]} == {net[1].split(",")[0], "second"}
    assert (merged / "ratio_heatmap_networks.png").stat().st_size > 0
    assert axsim_main(["compress", "--combine", str(tmp_path / "missing"), "--out", str(merged)]) == 2


def test_cli_bad_inputs_are_clear_errors(tiny_model, tmp_path, capsys):
    empty = tmp_path / "empty.onnx"
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "e",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(empty))
    cases = [([str(empty)], "no weight initializers"),
             ([str(tiny_model), "--sparsity", "1.0"], "sparsity must be in"),
             ([str(tiny_model), "--bits", "17"], "precision must be"),
             ([str(tmp_path / "missing.onnx")], "no such ONNX file")]
    for extra, message in cases:
        out = tmp_path / "o"
        assert axsim_main(["compress", *extra, "--out", str(out)] + GRID) == 2
        assert message in capsys.readouterr().err
        assert not (out / "network.csv").exists()


def test_layer_too_small_to_partition_names_the_layer(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(1, 1, 1, 1)).astype(np.float32)   # a 1x1 matrix
    with pytest.raises(ValueError, match="tiny_kernel.*too small"):
        encode_layer("tiny_kernel", as_matrix(quantize(w, 2).codes), 2, "csmap")


def test_shipped_lstm_exports_and_only_weight_slots_are_compressed(tmp_path):
    import model_zoo
    from sw_models.compression.sweep import model_weights
    path = model_zoo.path("lstm", tmp_path)
    _, weights = model_weights(path)
    n_weights = sum(v.size for v in weights.values())
    expected = 2000 * 256 + 2 * 2 * (4 * 256 * 256) + 256 * 2000    # embedding, W and R per layer, decoder
    assert n_weights == expected                 # LSTM biases (B input) are left out
    tokens = np.zeros((1, 12), dtype=np.int64)
    assert run(load_model(path), tokens)[0].shape == (1, 12, 2000)
    with pytest.raises(ValueError, match="unknown model 'vgg'; choose from digitsconv, alexnet"):
        model_zoo.path("vgg", tmp_path)
