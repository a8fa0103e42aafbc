"""A masked language model (BERT; Devlin et al. 2019): the transformer's blocks with no causal mask.

Every position attends to both sides, and logits[:, i] scores the token *at* i (usually hidden behind ``<mask>``):
p(x_i | x_≠i), not p(x_{i+1} | x_≤i). It reads a whole sentence at once, so it cannot generate left to right.
The vocabulary is the zoo's shared one plus ``<mask>`` (the last id).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .lm import IGNORE
from .tokenizer import Tokenizer
from .transformer import TransformerConfig, TransformerLM

MASK = "<mask>"


def with_mask(tokenizer: Tokenizer) -> Tokenizer:
    """The same tokenizer with ``<mask>`` appended (every other id unchanged, so texts encode the same)."""
    d = tokenizer.to_dict()
    return Tokenizer.from_dict({**d, "itos": [*d["itos"], MASK]})


class MaskedLM(TransformerLM):
    """A bidirectional transformer encoder with a tied output layer, trained on BERT's masked-LM loss."""

    def __init__(self, config: TransformerConfig) -> None:
        if config.causal:
            raise ValueError("a masked LM has no causal mask: build it with causal=False")
        super().__init__(config)

    @property
    def mask_id(self) -> int:
        """The id of ``<mask>``, the vocabulary's last."""
        return self.config.vocab_size - 1

    def _encode(self, idx: torch.Tensor) -> torch.Tensor:
        """idx (B, T) -> the last block's output (B, T, C), before the final LayerNorm."""
        x = self.drop(self.tok(idx) + self.position_encodings(idx.size(1)))  # (B, T, C)
        for block in self.blocks:
            x, _ = block(x)
        return x

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """Without targets: logits (B, T, V). With targets (B, T), IGNORE where not chosen: the logits of the chosen
        positions only (N, V) and the masked-LM loss −(1/N) Σ log p(x_i | corrupted input).

        The output layer (C × V, as costly as all four blocks) then runs at the 15 % of positions that are scored.
        """
        if targets is None:
            return super().forward(idx)
        chosen = targets != IGNORE  # (B, T)
        logits = self.head(self.ln_f(self._encode(idx)[chosen]))  # (N, V)
        return logits, F.cross_entropy(logits, targets[chosen])

    @torch.no_grad()
    def logits_at(self, idx: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """idx (B, T), one position per row pos (B,) -> logits (B, V) at those positions only.

        The output layer runs once per row, not T times: pseudo-perplexity needs one position per pass.
        """
        rows = torch.arange(idx.size(0), device=idx.device)
        return self.head(self.ln_f(self._encode(idx)[rows, pos]))  # (B, V)

    def last_logits(self, ids: torch.Tensor) -> torch.Tensor:
        """Refused: there is no "next token" for a model that reads both sides (deck 003)."""
        raise TypeError("a masked LM scores masked positions, not the next token: it cannot generate left to right")

    def begin(self, ids: torch.Tensor):
        """Refused (see ``last_logits``)."""
        return self.last_logits(ids)
