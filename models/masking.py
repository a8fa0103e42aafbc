"""BERT's masked-LM corruption (Devlin et al. 2019, §3.1): choose 15 % of the positions; of those, 80 % become
``<mask>``, 10 % a random token and 10 % stay as they are. The loss is scored at the chosen positions only."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .lm import IGNORE


@dataclass(frozen=True)
class MaskingConfig:
    """The corruption's rates: ``rate`` of positions chosen, split ``mask`` / ``random`` / the rest kept."""

    rate: float = 0.15
    mask: float = 0.8
    random: float = 0.1


def mask_tokens(ids: torch.Tensor, mask_id: int, random_ids: tuple[int, int], gen: torch.Generator,
                cfg: MaskingConfig = MaskingConfig()) -> tuple[torch.Tensor, torch.Tensor]:
    """ids (B, T) -> (inputs (B, T), targets (B, T)): targets hold the original id where chosen, IGNORE elsewhere.

    A random replacement is drawn uniformly from ``random_ids`` = [low, high) (the vocabulary's real words:
    never ``<mask>`` or a special token). Draws come from ``gen`` in a fixed order, so a seed gives one batch.
    """
    chosen = torch.rand(ids.shape, generator=gen) < cfg.rate  # (B, T)
    roll = torch.rand(ids.shape, generator=gen)  # (B, T): which of the three fates
    replacement = torch.randint(*random_ids, ids.shape, generator=gen)  # (B, T)
    to_mask = chosen & (roll < cfg.mask)
    to_random = chosen & (roll >= cfg.mask) & (roll < cfg.mask + cfg.random)
    inputs = torch.where(to_mask, torch.full_like(ids, mask_id), ids)
    inputs = torch.where(to_random, replacement, inputs)
    targets = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
    return inputs, targets
