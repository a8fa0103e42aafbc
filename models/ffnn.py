"""Feed-forward neural LM with a fixed window (Bengio et al. 2003, "A Neural Probabilistic Language Model").

y = b + U tanh(d + H x), x = [C(w_{t−k+1}); …; C(w_t)] — k concatenated word embeddings.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .lm import LanguageModel, lm_loss
from .tokenizer import EOS_ID


@dataclass(frozen=True)
class FFNNConfig:
    """Sizes of the window model."""

    vocab_size: int
    k: int = 4  # window: how many previous words the model sees
    n_embd: int = 128  # per-word embedding size (C in the paper)
    n_hidden: int = 384  # tanh hidden units (h in the paper)
    dropout: float = 0.2


@dataclass
class FFNNTrace:
    """Internals for every position: the window, its embeddings, the hidden layer."""

    windows: torch.Tensor  # (B, T, k) ids fed to the model (left-padded with <eos>)
    embeddings: torch.Tensor  # (B, T, k, E)
    hidden: torch.Tensor  # (B, T, H) tanh activations
    logits: torch.Tensor  # (B, T, V)


class FFNNLM(LanguageModel):
    """Window of k embeddings -> tanh layer -> softmax over the vocabulary."""

    def __init__(self, config: FFNNConfig) -> None:
        super().__init__()
        self.config = config
        self.context_size = config.k
        self.embed = nn.Embedding(config.vocab_size, config.n_embd)
        self.hidden = nn.Linear(config.k * config.n_embd, config.n_hidden)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.n_hidden, config.vocab_size)

    def windows(self, idx: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, T, k) windows ending at each position, left-padded with <eos>."""
        k = self.config.k
        padded = F.pad(idx, (k - 1, 0), value=EOS_ID)  # (B, T+k-1)
        return padded.unfold(1, k, 1)  # (B, T, k)

    def _run(self, idx: torch.Tensor):
        return self._through(self.windows(idx))

    def _through(self, win: torch.Tensor):
        """Windows (B, T, k) -> (windows, embeddings, hidden activations, logits (B, T, V))."""
        emb = self.embed(win)  # (B, T, k, E)
        B, T, k, E = emb.shape
        hid = torch.tanh(self.hidden(self.drop(emb.reshape(B, T, k * E))))  # (B, T, H)
        logits = self.head(self.drop(hid))  # (B, T, V)
        return win, emb, hid, logits

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        logits = self._run(idx)[-1]
        return logits, lm_loss(logits, targets)

    def last_logits(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, V): only the window ending at each row's last id goes through the network."""
        return self._through(self.windows(ids)[:, -1:])[-1][:, 0]

    @torch.no_grad()
    def trace(self, idx: torch.Tensor) -> FFNNTrace:
        """Window embeddings and hidden activations from the same layers as ``forward``."""
        return FFNNTrace(*self._run(idx))
