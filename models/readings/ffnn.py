"""Bengio et al. (2003) opened up at one position, the fixed window put to the test, and what a wider window costs.

ŷ = softmax(h W₂ + b₂), h = tanh(x W₁ + b₁), x = [C(w_{t−k}); …; C(w_{t−1})] ∈ ℝ^{kd}, W₁ ∈ ℝ^{kd×H}:
the lecture's notation, with C the embedding table (one row per vocabulary word). Plain numpy dataclasses out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..ffnn import FFNNLM
from ..inputs import model_input
from ..lm import LanguageModel
from ..tokenizer import EOS, Tokenizer
from .embeddings import word_id

TOP = 10  # next words shown


@dataclass(frozen=True)
class WindowWalk:
    """One prediction of the feed-forward model, every intermediate vector kept."""

    position: int  # t: the walk predicts token t of <eos> + the sentence (t = T: the word after the sentence)
    context: list[str]  # (k,) w_{t−k}..w_{t−1} as the model reads them (<eos> before the start)
    one_hot: np.ndarray  # (k,) index of the single 1 in each one-hot vector of length V
    vocab_size: int  # V
    rows: np.ndarray  # (k, d) the rows of C that the one-hot vectors pick
    x: np.ndarray  # (k·d,) their concatenation
    pre: np.ndarray  # (H,) x W₁ + b₁
    hidden: np.ndarray  # (H,) h = tanh(x W₁ + b₁)
    logits: np.ndarray  # (V,) h W₂ + b₂
    top_words: list[str]  # (TOP,) most probable next words
    top_probs: np.ndarray  # (TOP,)
    target: str | None  # the word that really comes next (None after the sentence's end)
    target_prob: float | None
    target_rank: int | None  # 1 = the model's first choice


def walk(model: FFNNLM, tokenizer: Tokenizer, text: str, position: int | None = None) -> WindowWalk:
    """Follow the prediction of token ``position`` (default: the word after the sentence) layer by layer."""
    read = model_input(tokenizer, text)
    ids, k = read.ids, model.config.k
    t = len(ids) if position is None else int(np.clip(position, 1, len(ids)))
    window = [tokenizer.vocab.eos_id] * max(0, k - t) + ids[max(0, t - k) : t]  # (k,) left-padded as in training
    C = model.embed.weight  # (V, d)
    V = C.shape[0]
    with torch.no_grad():
        one_hot = torch.zeros(k, V, device=C.device)  # (k, V): row i has a single 1, at the id of w_{t−k+i}
        one_hot[torch.arange(k), torch.tensor(window)] = 1.0
        rows = one_hot @ C  # (k, d): multiplying by a one-hot vector picks one row of C
        x = rows.reshape(-1)  # (k·d,)
        pre = F.linear(x, model.hidden.weight, model.hidden.bias)  # (H,) x W₁ + b₁ (nn.Linear stores W₁ᵀ)
        hidden = torch.tanh(pre)
        logits = F.linear(hidden, model.head.weight, model.head.bias)  # (V,) h W₂ + b₂
        probs = torch.softmax(logits, -1)
    rows, x, pre, hidden, logits, probs = (v.cpu() for v in (rows, x, pre, hidden, logits, probs))  # GPU → numpy
    top = torch.argsort(probs, descending=True, stable=True)[:TOP]
    itos = tokenizer.vocab.itos
    target = ids[t] if t < len(ids) else None
    return WindowWalk(
        t, [itos[i] for i in window], np.array(window), V, rows.numpy(), x.numpy(), pre.numpy(), hidden.numpy(),
        logits.numpy(), [itos[i] for i in top], probs[top].numpy(),
        None if target is None else itos[target],
        None if target is None else float(probs[target]),
        None if target is None else int(1 + (probs > probs[target]).sum()),
    )


@dataclass(frozen=True)
class WindowCost:
    """Weights of the model for each window size k: W₁ grows as k·d·H; one-hot inputs would need k·V·H."""

    ks: np.ndarray  # (N,) window sizes
    first_layer: np.ndarray  # (N,) k·d·H, W₁ on concatenated embeddings
    one_hot_layer: np.ndarray  # (N,) k·V·H, the lecture's W₁ ∈ ℝ^{kV×H} on concatenated one-hot vectors
    rest: int  # V·d (C) + H (b₁) + H·V (W₂) + V (b₂): the same for every k
    k: int  # this model's window


def window_cost(model: FFNNLM, ks: tuple[int, ...] = (1, 2, 4, 8, 16, 32)) -> WindowCost:
    """Parameter counts of the same model with other windows (only W₁ depends on k)."""
    cfg = model.config
    k = np.array(ks)
    V, d, H = cfg.vocab_size, cfg.n_embd, cfg.n_hidden
    return WindowCost(k, k * d * H, k * V * H, V * d + H + H * V + V, cfg.k)


@dataclass(frozen=True)
class WindowEdit:
    """The next-word prediction after the sentence, before and after one word far back is replaced, per model."""

    tokens: list[str]  # the sentence as read (<eos> first)
    edited: list[str]  # the same with one token replaced
    index: int  # which token changed (index into ``tokens``)
    distance: int  # how many positions back from the predicted word: len(tokens) − index
    names: list[str]  # the models compared
    top_before: list[str]  # (M,) each model's first choice before the edit
    top_after: list[str]  # (M,) and after
    p_before: np.ndarray  # (M,) probability of ``top_before`` before the edit
    p_after: np.ndarray  # (M,) probability of that same word after the edit
    max_change: np.ndarray  # (M,) max over the vocabulary of |Δ log p(w)|: exactly 0 when the edit is unseen


@torch.no_grad()
def _next_logp(model: LanguageModel, ids: list[int]) -> np.ndarray:
    """log p(next word | ids) (V,) as the model generates: its own window of the ids, last position."""
    return torch.log_softmax(model.last_logits(torch.tensor([ids], device=model.device)), -1)[0].cpu().numpy()


def edit_far_word(models: dict[str, LanguageModel], tokenizer: Tokenizer, text: str, index: int,
                  replacement: str) -> WindowEdit:
    """Replace token ``index`` of <eos> + the sentence by ``replacement``; compare every model's next-word prediction.

    The edit keeps the length, so every other word stays at its distance from the predicted word.
    """
    read = model_input(tokenizer, text)
    ids = read.ids
    if not 1 <= index < len(ids):
        raise IndexError(f"position {index} is not a word of the sentence (1..{len(ids) - 1})")
    edited = list(ids)
    edited[index] = word_id(tokenizer.vocab.stoi, replacement)
    itos = tokenizer.vocab.itos
    before = {n: _next_logp(m, ids) for n, m in models.items()}
    after = {n: _next_logp(m, edited) for n, m in models.items()}
    best = {n: int(np.argmax(lp)) for n, lp in before.items()}
    names = list(models)
    return WindowEdit(
        [EOS, *read.tokens], [itos[i] for i in edited], index, len(ids) - index, names,
        [itos[best[n]] for n in names], [itos[int(np.argmax(after[n]))] for n in names],
        np.array([np.exp(before[n][best[n]]) for n in names]), np.array([np.exp(after[n][best[n]]) for n in names]),
        np.array([np.abs(after[n] - before[n]).max() for n in names]),
    )
