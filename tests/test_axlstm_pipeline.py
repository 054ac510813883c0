"""AxLSTM (chapter 5): the train -> analyze -> evaluate -> plot jobs end to end, resume and bad input."""
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

pytest.importorskip("torch")
pytest.importorskip("num2words")
pytest.importorskip("sacrebleu")

from axsim.cli import main
from sw_models.axlstm import data as D, onnx_model as O, pipeline
from sw_models.axlstm.approx import InputAnalyzer, input_diff_keep
from sw_models.onnx_io import OnnxModelError


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("axlstm") / "nmt1"
    pipeline.train(out, "nmt1", steps=20, hidden=12, layers=2, count=200)
    pipeline.analyze(out, ("dts", "dsr", "both"), iters=3, max_steps=2, n_valid=20)
    pipeline.evaluate(out, n_test=12, batch=4, repeats=1)
    return out


def test_jobs_write_their_outputs(bench_dir, tmp_path):
    res = json.loads((bench_dir / "evaluate.json").read_text())
    assert set(res["levels"]) == {"dts", "dsr", "both"}
    steps = json.loads((bench_dir / "algo_both" / "steps.json").read_text())["steps"]
    assert len(steps) == 2
    assert steps[1]["dsr_thres"][0] > steps[0]["dsr_thres"][0] > 0          # more approximate each step
    assert len(steps[1]["skip"]) > len(steps[0]["skip"]) > 0
    effect = json.loads((bench_dir / "effect.json").read_text())["sorted"]
    assert [e for _, e in effect] == sorted(e for _, e in effect)
    for entry in res["levels"]["both"].values():
        if entry:
            assert entry["approx"]["ops"] < entry["baseline"]["ops"]
            assert entry["speedup"] == pytest.approx(entry["baseline"]["time_s"] / entry["approx"]["time_s"])
    assert [r["thres"] for r in res["dsr_sweep"]] == pipeline.SWEEP
    assert main(["lstm", "plot", "--out", str(bench_dir), "--figs", str(tmp_path)]) == 0
    assert (tmp_path / "fig5_4.png").stat().st_size > 0 and (tmp_path / "dsr_sweep.png").is_file()


def test_jobs_resume_without_redoing_work(bench_dir):
    record = bench_dir / "algo_dsr" / "steps.json"
    before = (record.stat().st_mtime_ns, (bench_dir / "model.onnx").stat().st_mtime_ns)
    pipeline.train(bench_dir, "nmt1", steps=20, hidden=12, layers=2, count=200)
    pipeline.analyze(bench_dir, ("dsr",), iters=3, max_steps=2, n_valid=20)
    after = (record.stat().st_mtime_ns, (bench_dir / "model.onnx").stat().st_mtime_ns)
    assert before == after


def test_frames_benchmark_uses_input_diff(tmp_path):
    out = tmp_path / "s2vt"
    pipeline.train(out, "s2vt", steps=4, hidden=8, layers=1, count=40)
    steps = pipeline.analyze(out, ("dts",), iters=1, max_steps=2, n_valid=8, diff_delta=0.05)["dts"]
    assert [s.diff_thres for s in steps] == [0.05, 0.1]
    data = D.load_dataset(out / "data.npz")
    src = data.sources("test")[0]
    kept = InputAnalyzer(diff_thres=0.1).filter(src)
    assert 0 < len(kept) < len(src)                 # held frames are redundant, digit changes are not


def _fails(argv, capsys, *needles):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err
    return err


def test_bad_inputs_give_one_line_errors_and_overwrite_nothing(bench_dir, tmp_path, capsys):
    target = bench_dir / "evaluate.json"
    before = target.read_bytes()
    empty = tmp_path / "empty.json"
    empty.write_text("")
    _fails(["lstm", "evaluate", "--out", str(bench_dir), "--data", str(empty)], capsys, "empty.json", "empty")
    corrupt = tmp_path / "bad.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    _fails(["lstm", "evaluate", "--out", str(bench_dir), "--data", str(corrupt)], capsys, "bad.npz", "corrupt")
    foreign = tmp_path / "fr.json"
    foreign.write_text(json.dumps({"kind": "text", "splits": {"test": [["neuf cent deux", "nine"]]}}))
    _fails(["lstm", "evaluate", "--out", str(bench_dir), "--data", str(foreign)], capsys, "fr.json", "vocabulary")
    _fails(["lstm", "infer", "--model", str(bench_dir / "model.onnx"), "--text", "two hundred",
            "--abs-thres", "-0.5"], capsys, "threshold")
    assert target.read_bytes() == before


def test_non_lstm_and_corrupt_onnx_are_refused(tmp_path, bench_dir, capsys):
    relu = helper.make_model(helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])]))
    path = tmp_path / "relu.onnx"
    onnx.save(relu, path)
    with pytest.raises(OnnxModelError, match="relu.onnx.*no LSTM node"):
        O.load(path)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\x01garbage")
    _fails(["lstm", "infer", "--model", str(junk), "--text", "two"], capsys, "junk.onnx")
    model = onnx.load(bench_dir / "model.onnx")
    helper.set_model_props(model, {"axlstm.src_vocab": json.dumps(["<pad>", "one"]),
                                   "axlstm.tgt_vocab": dict((p.key, p.value) for p in model.metadata_props)
                                   ["axlstm.tgt_vocab"]})
    short = tmp_path / "short_vocab.onnx"
    onnx.save(model, short)
    with pytest.raises(OnnxModelError, match="short_vocab.onnx.*vocabulary mismatch"):
        O.load(short)


def test_dataset_file_checks(tmp_path):
    with pytest.raises(D.DatasetError, match="missing.json"):
        D.load_dataset(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(D.DatasetError, match="bad.json.*corrupt"):
        D.load_dataset(bad)
    frames = D.Dataset("frames", {"test": [(np.zeros((3, 4), np.float32), ["one"])]})
    path = D.save_dataset(frames, tmp_path / "f.npz")
    back = D.load_dataset(path)
    assert back.splits["test"][0][1] == ["one"] and back.splits["test"][0][0].shape == (3, 4)


def _scene_clips(distinct, n, seed=7):
    images, labels = D._mnist(14)
    rng, pool = np.random.default_rng(seed), np.arange(1000, 5000)
    out = []
    for _ in range(n):
        scenes = []
        frames, words = D._clip(rng, images, labels, pool, 0.03, distinct, scenes)
        out.append((frames, words, np.array(scenes)))
    return out


def test_s2vt_scenes_captions_say_what_not_how_long():
    """Consecutive scenes show different digits, so the caption is the run-collapsed content: InputDiff
    (up to the DiffThres Algorithm 1 reaches, 0.06) keeps every scene's first frame and so every word's
    evidence. The old s2vt generator repeats digits, which this property rules out."""
    clips = _scene_clips(True, 300)
    for frames, words, scenes in clips:
        digits = words[::2]
        assert len(digits) == scenes.max() + 1 and all(a != b for a, b in zip(digits, digits[1:]))
        kept = input_diff_keep(frames, 0.06)
        for start in np.flatnonzero(np.diff(scenes, prepend=-1)):
            assert any(np.array_equal(k, frames[start]) for k in kept)
        assert len(kept) < len(frames)                                # held frames are redundant
    old = _scene_clips(False, 300)
    assert any(any(a == b for a, b in zip(w[::2], w[2::2])) for _, w, _ in old)
    feats = D.s2vt_scenes(30, encoder_steps=3)                         # frames as per-frame CNN features
    for frames, words in feats.splits["test"]:
        assert frames.shape[1] == D.FEATURES and 0 <= frames.min() and frames.max() <= 1
        assert all(a != b for a, b in zip(words[::2], words[2::2]))


def test_record_measured_on_other_validation_size_is_measured_again(bench_dir):
    """The models of a trajectory do not depend on n_valid; its BLEU does, and is measured again."""
    from sw_models.axlstm import design
    record = bench_dir / "algo_dsr" / "steps.json"
    model = bench_dir / "algo_dsr" / "step1.onnx"
    before = model.stat().st_mtime_ns
    pipeline.analyze(bench_dir, ("dsr",), iters=3, max_steps=2, n_valid=10)
    raw = json.loads(record.read_text())
    assert raw["n_valid"] == 10 and model.stat().st_mtime_ns == before
    step = design.Step(**raw["steps"][0])
    w = O.load(model)
    data = D.load_dataset(bench_dir / "data.json")
    assert step.bleu == design.validation_bleu(w, data, *design.approximations(w, step), n=10)
