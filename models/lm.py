"""The contract every language model shares: ``forward(idx, targets=None) -> (logits, loss)``."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

IGNORE = -1  # target id that the loss skips (positions without a full context)


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
