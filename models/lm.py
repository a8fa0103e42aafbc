"""The contract every language model shares: ``forward(idx, targets=None) -> (logits, loss)``.

Incremental decoding adds ``begin(ids) -> (logits, cache)`` and ``extend(cache, nxt) -> (logits, cache)``: each
step scores only the token after the last one, reusing what the cache kept of the earlier steps.
"""
from __future__ import annotations

from typing import Any, TypeAlias

import torch
import torch.nn.functional as F
from torch import nn

IGNORE = -1  # target id that the loss skips (positions without a full context)
Cache: TypeAlias = Any  # what a model carries from one decoding step to the next; only that model reads it


def lm_loss(logits: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor | None:
    """Mean cross-entropy −(1/N) Σ log p(x_{t+1} | x_≤t) over positions whose target is not IGNORE."""
    if targets is None:
        return None
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=IGNORE)


class LanguageModel(nn.Module):
    """Base class: logits[:, t] scores the token that follows idx[:, t].

    ``context_size`` is the number of past tokens a prediction can see (``None`` for recurrent
    models, which carry a state instead); ``max_len`` is the longest input accepted (``None``: any).
    The evaluator reads both to give each model its full context.
    A model with a faster way to decode overrides ``begin``, ``extend`` and ``reorder`` together (they share
    its cache), or just ``last_logits`` when only the full forward is wasteful.
    """

    context_size: int | None = None
    max_len: int | None = None

    @property
    def device(self) -> torch.device:
        """Where the weights live (CPU for a model without parameters)."""
        p = next(self.parameters(), None)
        return p.device if p is not None else torch.device("cpu")

    def num_parameters(self) -> int:
        """Trainable parameter count."""
        return sum(p.numel() for p in self.parameters())

    @property
    def input_window(self) -> int | None:
        """How many trailing ids to feed: a prediction sees ``context_size`` tokens at most, inputs ``max_len``."""
        sizes = [s for s in (self.context_size, self.max_len) if s is not None]
        return max(1, min(sizes)) if sizes else None  # a longer input only costs time (the n-gram's by far the most)

    def trailing(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) -> (B, T') the last ``input_window`` ids of each row: all a next-token prediction can use."""
        window = self.input_window
        return ids[:, -window:] if window else ids

    def last_logits(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, V) scores of the token after each row: the forward over the input window, last position."""
        logits, _ = self(self.trailing(ids))  # (B, T', V)
        return logits[:, -1]

    @torch.no_grad()
    def begin(self, ids: torch.Tensor) -> tuple[torch.Tensor, Cache]:
        """Start decoding after ids (B, T): the next token's logits (B, V) and the cache ``extend`` continues from.

        The default cache is the input window itself, so every step recomputes over it: right for any model.
        """
        ids = self.trailing(ids)  # (B, T')
        return self.last_logits(ids), ids

    @torch.no_grad()
    def extend(self, cache: Cache, nxt: torch.Tensor) -> tuple[torch.Tensor, Cache]:
        """Append one id per row, nxt (B,): the logits (B, V) of the token after it, and the grown cache."""
        return self.begin(torch.cat([cache, nxt[:, None]], 1))

    def reorder(self, cache: Cache, rows: torch.Tensor) -> Cache:
        """The cache of rows ``rows`` (K,) in that order, repeats allowed (a beam keeps some prefixes, drops others)."""
        return cache[rows]


class RecurrentLanguageModel(LanguageModel):
    """A model that carries a state instead of a window: ``run`` continues from where the last call stopped.

    The evaluator and the trainer carry the state through a whole text (truncated BPTT) for exactly these models.
    """

    context_size = None

    def run(self, idx: torch.Tensor, state: Cache = None) -> tuple[torch.Tensor, Cache]:
        """Logits (B, T, V) for idx (B, T) read from ``state`` (None: the zero state), and the state after idx."""
        raise NotImplementedError
