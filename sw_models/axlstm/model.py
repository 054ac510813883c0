"""The torch sequence-to-sequence model of section 3.2.2 and its training (dissertation chapter 5).

A stacked LSTM encoder (eq. 3.2 cells) reads the source; its final (h, c) of every layer is the context
that initialises the decoder, a stacked LSTM of the same depth and width, whose top layer feeds a linear
projection onto the target vocabulary. There is no attention, as in the models of Fig. 3.6, so the
context vector is exactly what DSR (section 5.1.3) slices.

Training uses teacher forcing. Under DSR the decoder runs step by step with the dropped state units
forced to zero after every step, which is the same function as the sliced decoder the engine runs.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .data import BOS, EOS, PAD, UNK


@dataclass
class Config:
    """Shape of a seq2seq model; `src_dim` is the frame size for frame sources, else 0."""
    src_vocab: list[str]
    tgt_vocab: list[str]
    hidden: int = 128
    layers: int = 2
    embed: int = 64
    src_dim: int = 0

    @property
    def frames(self) -> bool:
        return self.src_dim > 0

    def to_dict(self) -> dict:
        return asdict(self)


class Seq2Seq(nn.Module):
    """Stacked LSTM encoder-decoder without attention."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        in_size = cfg.src_dim if cfg.frames else cfg.embed
        self.enc_emb = None if cfg.frames else nn.Embedding(len(cfg.src_vocab), cfg.embed)
        self.encoder = nn.LSTM(in_size, cfg.hidden, cfg.layers)
        self.dec_emb = nn.Embedding(len(cfg.tgt_vocab), cfg.embed)
        self.decoder = nn.LSTM(cfg.embed, cfg.hidden, cfg.layers)
        self.proj = nn.Linear(cfg.hidden, len(cfg.tgt_vocab))

    def encode(self, src: torch.Tensor, lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """src [S, B] ids or [S, B, F] frames -> final (h, c), each [layers, B, H]."""
        x = src if self.enc_emb is None else self.enc_emb(src)
        packed = nn.utils.rnn.pack_padded_sequence(x, lens.cpu(), enforce_sorted=False)
        _, (h, c) = self.encoder(packed)
        return h, c

    def decode(self, tgt_in: torch.Tensor, h: torch.Tensor, c: torch.Tensor,
               masks: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """Teacher-forced logits [T, B, V]; `masks` ([B, H] per layer, 1 = kept unit) applies DSR."""
        x = self.dec_emb(tgt_in)
        if masks is None:
            y, _ = self.decoder(x, (h, c))
            return self.proj(y)
        return self.proj(self._masked_decode(x, h, c, masks))

    def _masked_decode(self, x, h, c, masks) -> torch.Tensor:
        hs = [h[l] * masks[l] for l in range(self.cfg.layers)]
        cs = [c[l] * masks[l] for l in range(self.cfg.layers)]
        outs = []
        for t in range(x.shape[0]):
            inp = x[t]
            for l in range(self.cfg.layers):
                w_ih, w_hh = getattr(self.decoder, f"weight_ih_l{l}"), getattr(self.decoder, f"weight_hh_l{l}")
                b = getattr(self.decoder, f"bias_ih_l{l}") + getattr(self.decoder, f"bias_hh_l{l}")
                i, f, g, o = (inp @ w_ih.T + hs[l] @ w_hh.T + b).chunk(4, dim=1)
                cs[l] = (torch.sigmoid(f) * cs[l] + torch.sigmoid(i) * torch.tanh(g)) * masks[l]
                hs[l] = torch.sigmoid(o) * torch.tanh(cs[l]) * masks[l]
                inp = hs[l]
            outs.append(inp)
        return torch.stack(outs)


def src_ids(vocab: list[str], seq: list[str]) -> list[int]:
    index = {w: i for i, w in enumerate(vocab)}
    return [index.get(w, index[UNK]) for w in seq]


def batch_tensors(cfg: Config, pairs: list) -> dict[str, torch.Tensor]:
    """Pad a list of (source, target tokens) into time-major tensors."""
    lens = [max(1, len(s)) for s, _ in pairs]
    S, B = max(lens), len(pairs)
    if cfg.frames:
        src = torch.zeros(S, B, cfg.src_dim)
        for b, (s, _) in enumerate(pairs):
            if len(s):
                src[:len(s), b] = torch.from_numpy(np.asarray(s, np.float32))
    else:
        src = torch.zeros(S, B, dtype=torch.long)
        for b, (s, _) in enumerate(pairs):
            ids = src_ids(cfg.src_vocab, s) or [cfg.src_vocab.index(PAD)]
            src[:len(ids), b] = torch.tensor(ids)
    tgt = [src_ids(cfg.tgt_vocab, [BOS] + t + [EOS]) for _, t in pairs]
    T = max(len(t) for t in tgt) - 1
    tgt_in = torch.zeros(T, B, dtype=torch.long)
    tgt_out = torch.zeros(T, B, dtype=torch.long)
    for b, t in enumerate(tgt):
        tgt_in[:len(t) - 1, b] = torch.tensor(t[:-1])
        tgt_out[:len(t) - 1, b] = torch.tensor(t[1:])
    return {"src": src, "lens": torch.tensor(lens), "tgt_in": tgt_in, "tgt_out": tgt_out}


MaskFn = Callable[[torch.Tensor, torch.Tensor], list[torch.Tensor]]


def loss(model: Seq2Seq, batch: dict[str, torch.Tensor], mask_fn: MaskFn | None = None) -> torch.Tensor:
    """Mean token cross entropy; `mask_fn(h, c)` gives the DSR masks from the context."""
    h, c = model.encode(batch["src"], batch["lens"])
    masks = None if mask_fn is None else mask_fn(h.detach(), c.detach())
    logits = model.decode(batch["tgt_in"], h, c, masks)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch["tgt_out"].reshape(-1),
                           ignore_index=0)


def train(model: Seq2Seq, pairs: list, steps: int, *, lr: float = 3e-3, batch_size: int = 64,
          seed: int = 0, mask_fn: MaskFn | None = None, checkpoint: Path | None = None,
          desc: str = "train", start: int = 0, optimizer_state: dict | None = None) -> list[float]:
    """Adam with gradient clipping for `steps` steps from `start`; optional resumable checkpoint."""
    from tqdm import tqdm
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    if optimizer_state:
        opt.load_state_dict(optimizer_state)
    rng = np.random.default_rng(seed + start)
    losses = []
    model.train()
    bar = tqdm(range(start, steps), desc=desc, initial=start, total=steps, mininterval=2, leave=False)
    for step in bar:
        for group in opt.param_groups:                     # linear decay to 10% of lr
            group["lr"] = lr * (1 - 0.9 * step / max(1, steps))
        idx = rng.choice(len(pairs), size=min(batch_size, len(pairs)), replace=False)
        value = loss(model, batch_tensors(model.cfg, [pairs[i] for i in idx]), mask_fn)
        opt.zero_grad()
        value.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(value.item())
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", refresh=False)
        if checkpoint is not None and ((step + 1) % 100 == 0 or step + 1 == steps):
            save_checkpoint(checkpoint, model, opt, step + 1)
    model.eval()
    return losses


def save_checkpoint(path: Path, model: Seq2Seq, opt, step: int) -> None:
    from atomic_output import write_with
    state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "cfg": model.cfg.to_dict()}
    write_with(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path) -> tuple[Seq2Seq, dict, int]:
    state = torch.load(path, weights_only=False)
    model = Seq2Seq(Config(**state["cfg"]))
    model.load_state_dict(state["model"])
    return model, state["opt"], state["step"]
