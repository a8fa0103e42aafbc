"""Cloze scoring on any text: a masked LM fills each position masked alone from both sides, a causal LM predicts
the same position from its left context only; pseudo-perplexity PPPL = exp(−(1/N) Σ_i log p(x_i | x_≠i))
(Salazar et al. 2020). Both scorers use the same positions: every ``every``-th token from a seeded offset.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .data import encode_stream
from .lm import LanguageModel
from .mlm import MaskedLM


def cloze_positions(n: int, every: int = 7, seed: int = 0) -> np.ndarray:
    """Every ``every``-th index of ids[1:n] (ids[0] is the leading ``<eos>``), from an offset drawn with ``seed``."""
    offset = int(np.random.default_rng(seed).integers(every))
    return np.arange(1 + offset, n, every)


def window_start(n: int, block: int, i: int) -> int:
    """Start of the ``block``-token window around position i of n: i in the middle, clipped to the text."""
    return int(min(max(0, i - block // 2), max(0, n - block)))


@torch.no_grad()
def masked_logprobs(model: MaskedLM, ids: torch.Tensor, positions) -> torch.Tensor:
    """log p(· | the rest) (P, V) at each of a few positions, each masked alone in a window centred on it."""
    n, block = len(ids), model.config.block_size
    starts = [window_start(n, block, int(i)) for i in positions]
    x = torch.stack([ids[s : s + block] for s in starts]).clone()  # (P, min(n, block))
    offset = torch.tensor([int(i) - s for i, s in zip(positions, starts, strict=True)])  # (P,)
    x[torch.arange(len(starts)), offset] = model.mask_id
    logits = model.logits_at(x.to(model.device), offset.to(model.device))  # (P, V)
    return torch.log_softmax(logits.float(), -1).cpu()


def masked_scores(model: MaskedLM, ids: torch.Tensor, positions: np.ndarray, batch: int = 128):
    """Each position masked alone, in a window centred on it: (top-1 ids (P,), log p(true id | the rest) (P,))."""
    top1, logp = [], []
    for a in range(0, len(positions), batch):
        group = positions[a : a + batch]
        lp = masked_logprobs(model, ids, group)  # (G, V)
        top1.append(lp.argmax(-1))
        logp.append(lp[torch.arange(len(group)), ids[torch.as_tensor(group)]])
    return torch.cat(top1).numpy(), torch.cat(logp).double().numpy()


@torch.no_grad()
def left_top1(model: LanguageModel, ids: torch.Tensor, positions: np.ndarray, batch: int = 32) -> np.ndarray:
    """The causal LM's top-1 guess (P,) at each position from the tokens before it only (its last window)."""
    window = model.input_window or len(ids)
    out = []
    for a in range(0, len(positions), batch):
        group = positions[a : a + batch]
        short = [int(i) for i in group if i < window]
        full = [int(i) for i in group if i >= window]
        guesses = {}
        if short:
            logits, _ = model(ids[: max(short)][None].to(model.device))  # (1, T, V): logits[t] predicts t + 1
            guesses.update({i: int(logits[0, i - 1].argmax()) for i in short})
        if full:
            x = torch.stack([ids[i - window : i] for i in full])  # (G, window)
            guesses.update(zip(full, model.last_logits(x.to(model.device)).argmax(-1).tolist(), strict=True))
        out.extend(guesses[int(i)] for i in group)
    return np.asarray(out, dtype=np.int64)


def _ids(tokenizer, text: str, max_tokens: int | None) -> torch.Tensor:
    ids = encode_stream(tokenizer, text)
    ids = ids if max_tokens is None else ids[: max_tokens + 1]
    if len(ids) < 2:
        raise ValueError("the text has no tokens to score")
    return ids


def masked_report(model: MaskedLM, tokenizer, text: str, every: int = 7, seed: int = 0,
                  max_tokens: int | None = None) -> dict:
    """Masked top-1 accuracy at the cloze positions and pseudo-perplexity over every token of ``text``."""
    ids = _ids(tokenizer, text, max_tokens)
    every_pos = np.arange(1, len(ids))
    top1, logp = masked_scores(model, ids, every_pos)
    pos = cloze_positions(len(ids), every, seed)
    hits = top1[pos - 1] == ids.numpy()[pos]
    return {"tokens": len(every_pos), "positions": len(pos), "every": every, "seed": seed,
            "top1": float(hits.mean()), "pseudo_perplexity": math.exp(-float(logp.mean()))}


def cloze_report(model: LanguageModel, tokenizer, text: str, every: int = 7, seed: int = 0,
                 max_tokens: int | None = None) -> dict:
    """A causal LM's top-1 accuracy at the same cloze positions, from the left context only."""
    ids = _ids(tokenizer, text, max_tokens)
    pos = cloze_positions(len(ids), every, seed)
    hits = left_top1(model, ids, pos) == ids.numpy()[pos]
    return {"tokens": len(ids) - 1, "positions": len(pos), "every": every, "seed": seed, "top1": float(hits.mean())}
