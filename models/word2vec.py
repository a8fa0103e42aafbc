"""Skip-gram with negative sampling (Mikolov et al. 2013, "Distributed Representations of Words and Phrases").

For a centre word c and a context word o within the window, with K noise words n_k ~ P_n(w) ∝ f(w)^{3/4}:
loss = −log σ(u_o · v_c) − Σ_k log σ(−u_{n_k} · v_c). The rows of ``embed`` (the v's) are the word vectors.
This is not a language model: it predicts no next word, it only places words that share contexts close together.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Word2VecConfig:
    """Sizes and sampling settings of the skip-gram model."""

    vocab_size: int
    n_embd: int = 128  # as every language model of the zoo, so the tables compare
    window: int = 2  # largest distance between centre and context word (2 beat 5 on the analogies)
    negatives: int = 5  # K noise words per (centre, context) pair
    subsample: float = 1e-3  # t in P(drop w) = 1 − sqrt(t / f(w)) (Mikolov et al. 2013, eq. 5)
    noise_power: float = 0.75  # P_n(w) ∝ count(w)^{3/4}


class Word2Vec(nn.Module):
    """Two tables: word vectors v (``embed``, what the app shows) and context vectors u (``context``)."""

    def __init__(self, config: Word2VecConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.n_embd)
        self.context = nn.Embedding(config.vocab_size, config.n_embd)
        # word2vec.c's start: small random word vectors, zero context vectors (initial loss (1 + K) ln 2).
        nn.init.uniform_(self.embed.weight, -0.5 / config.n_embd, 0.5 / config.n_embd)
        nn.init.zeros_(self.context.weight)

    def num_parameters(self) -> int:
        """Trainable parameter count."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, centre: torch.Tensor, context: torch.Tensor, noise: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        """Mean SGNS loss over the pairs where ``mask`` is true.

        centre (B,), context (B, C), noise (B, C, K), mask (B, C): C context slots per centre word.
        """
        v = self.embed(centre)  # (B, E)
        pos = torch.einsum("be,bce->bc", v, self.context(context))  # (B, C)
        neg = torch.einsum("be,bcke->bck", v, self.context(noise))  # (B, C, K)
        per_pair = -F.logsigmoid(pos) - F.logsigmoid(-neg).sum(-1)  # (B, C)
        return (per_pair * mask).sum() / mask.sum().clamp(min=1)


def noise_distribution(counts: torch.Tensor, power: float) -> torch.Tensor:
    """P_n(w) ∝ count(w)^power over the vocabulary (V,); words never seen get no mass."""
    weights = counts.double().pow(power)
    return (weights / weights.sum()).float()


def keep_probability(counts: torch.Tensor, t: float) -> torch.Tensor:
    """P(keep w) = min(1, sqrt(t / f(w))): frequent words ("the", ".") are mostly dropped from the stream."""
    freq = counts.double() / counts.sum().clamp(min=1)
    return (t / freq.clamp(min=1e-12)).sqrt().clamp(max=1.0).float()


def context_slots(stream: torch.Tensor, centres: torch.Tensor, window: int,
                  gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Context ids (B, 2·window) around each centre position and the mask of slots in use.

    As in word2vec.c, each centre draws its own window size b in 1..window; the slots beyond b or off the
    stream's ends are masked, so near words count more than far ones.
    """
    offsets = torch.cat([torch.arange(-window, 0), torch.arange(1, window + 1)])  # (C,)
    b = torch.randint(1, window + 1, (len(centres), 1), generator=gen)  # (B, 1)
    pos = centres[:, None] + offsets  # (B, C)
    mask = (offsets.abs() <= b) & (pos >= 0) & (pos < len(stream))
    return stream[pos.clamp(0, len(stream) - 1)], mask.float()
