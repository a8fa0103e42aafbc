"""A masked language model (BERT; Devlin et al. 2019): the transformer's blocks with no causal mask.

Every position attends to both sides, and logits[:, i] scores the token *at* i (usually hidden behind ``<mask>``):
p(x_i | x_≠i), not p(x_{i+1} | x_≤i). It reads a whole sentence at once, so it cannot generate left to right.
The vocabulary is the zoo's shared one plus ``<mask>`` (the last id).
"""
from __future__ import annotations

import torch

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

    @torch.no_grad()
    def logits_at(self, idx: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """idx (B, T), one position per row pos (B,) -> logits (B, V) at those positions only.

        The output layer (C × V, the largest) runs once per row, not T times: pseudo-perplexity needs one
        position per pass.
        """
        x = self.tok(idx) + self.position_encodings(idx.size(1))  # (B, T, C)
        for block in self.blocks:
            x, _ = block(x)
        rows = torch.arange(idx.size(0), device=idx.device)
        return self.head(self.ln_f(x[rows, pos]))  # (B, V)

    def last_logits(self, ids: torch.Tensor) -> torch.Tensor:
        """Refused: there is no "next token" for a model that reads both sides (deck 003)."""
        raise TypeError("a masked LM scores masked positions, not the next token: it cannot generate left to right")

    def begin(self, ids: torch.Tensor):
        """Refused (see ``last_logits``)."""
        return self.last_logits(ids)
