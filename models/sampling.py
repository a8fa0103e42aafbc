"""Decoding from any zoo model: greedy, temperature, top-k and top-p (nucleus) sampling.

Top-k: p̂_i = p_i · 1{i ≤ K} / Z over tokens sorted by probability (Fan et al. 2018);
top-p: the smallest such set whose mass reaches p (Holtzman et al. 2020).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .lm import LanguageModel
from .tokenizer import EOS_ID


@dataclass(frozen=True)
class SamplingConfig:
    """How the next token is chosen from the model's distribution."""

    temperature: float = 1.0  # divides the logits; → 0 approaches greedy
    top_k: int | None = None  # keep only the K most probable tokens
    top_p: float | None = None  # keep the smallest set with mass ≥ p
    greedy: bool = False  # always take the most probable token


def next_token_distribution(logits: torch.Tensor, cfg: SamplingConfig) -> torch.Tensor:
    """(V,) logits -> (V,) probabilities after temperature and truncation, renormalised."""
    if cfg.greedy:
        return torch.nn.functional.one_hot(logits.argmax(), logits.numel()).to(torch.float32)
    if cfg.temperature <= 0:
        raise ValueError("temperature must be positive (use greedy for the limit)")
    probs = torch.softmax(logits.float() / cfg.temperature, dim=-1)
    order = torch.argsort(probs, descending=True)
    keep = torch.ones_like(probs, dtype=torch.bool)
    if cfg.top_k is not None:
        keep[order[max(1, cfg.top_k):]] = False
    if cfg.top_p is not None:
        mass_before = torch.cumsum(probs[order], 0) - probs[order]  # mass of strictly more probable tokens
        keep[order[mass_before >= cfg.top_p]] = False
    probs = torch.where(keep, probs, torch.zeros_like(probs))
    return probs / probs.sum()


@torch.no_grad()
def generate(
    model: LanguageModel,
    prompt: list[int],
    max_new_tokens: int,
    cfg: SamplingConfig,
    generator: torch.Generator,
    stop_at_eos: bool = True,
) -> list[int]:
    """Append up to ``max_new_tokens`` sampled ids to ``prompt`` (which should start with ``<eos>``)."""
    ids = list(prompt) or [EOS_ID]
    for _ in range(max_new_tokens):
        window = ids[-model.max_len :] if model.max_len else ids
        logits, _ = model(torch.tensor([window], device=model.device))
        probs = next_token_distribution(logits[0, -1].cpu(), cfg)
        nxt = int(torch.multinomial(probs, 1, generator=generator))
        ids.append(nxt)
        if stop_at_eos and nxt == EOS_ID:
            break
    return ids


def top_k_table(logits: torch.Tensor, k: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """The k most probable next tokens at every position: logits (T, V) -> ids (T, k), probs (T, k)."""
    probs = torch.softmax(logits.float(), dim=-1)
    top = torch.topk(probs, min(k, probs.size(-1)), dim=-1)
    return top.indices, top.values


def ranks(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """1-based rank of each target among the model's predictions: logits (T, V), targets (T,) -> (T,)."""
    target_logit = logits.gather(-1, targets[:, None])  # (T, 1)
    return (logits > target_logit).sum(-1) + 1
