"""The quality–diversity trade-off of sampling: how likely the samples are against how varied they are.

Quality: mean per-token log-likelihood (1/SN) Σ_s Σ_t log q(x_t | prompt, x_<t) under a scorer model q;
diversity: distinct-n, the share of n-grams that are unique across all samples (Li et al. 2016).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .lm import LanguageModel
from .sampling import SamplingConfig, sample_batch, start_ids

KINDS = ("top_k", "top_p", "temperature")  # the SamplingConfig field each sweep varies
_VALUES = {  # most conservative first; top_k None is "k = all", i.e. pure sampling
    "top_k": (1, 2, 5, 10, 20, 50, 100, None),
    "top_p": (0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0),
    "temperature": (0.3, 0.5, 0.7, 0.85, 1.0, 1.15, 1.3, 1.5),
}


@dataclass(frozen=True)
class TradeoffPoint:
    """One sampling setting's samples, summarised by their quality and diversity."""

    label: str
    config: SamplingConfig
    mean_log_likelihood: float  # nats per token under the scorer (higher: more typical text)
    distinct_1: float
    distinct_2: float


def default_settings(kind: str) -> list[SamplingConfig]:
    """The eight settings a sweep of ``kind`` (one of KINDS) visits, from near-greedy to most random."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    return [SamplingConfig(**{kind: value}) for value in _VALUES[kind]]


def distinct_n(samples: Sequence[Sequence[int]], n: int) -> float:
    """Distinct n-grams / total n-grams over all samples, none crossing a sample's end (Li et al. 2016)."""
    grams = [tuple(s[i : i + n]) for s in samples for i in range(len(s) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


@torch.no_grad()
def mean_log_likelihood(scorer: LanguageModel, prompt_ids: Sequence[int], samples: torch.Tensor) -> float:
    """(1/SN) Σ log q(x_t | prompt, x_<t) over samples (S, N), from one batched forward of the scorer.

    Inputs longer than ``scorer.max_len`` keep their last max_len ids, so early sampled tokens then see
    less of the prompt; every sampled token must still fit, hence N ≤ max_len.
    """
    S, N = samples.shape
    if N == 0 or (scorer.max_len is not None and N > scorer.max_len):
        raise ValueError(f"need 1 to {scorer.max_len or 'any'} sampled tokens, got {N}")
    prompt = torch.tensor(start_ids(prompt_ids)).expand(S, -1)  # (S, P)
    inputs = torch.cat([prompt, samples.cpu()], 1)[:, :-1]  # (S, P+N-1): position t predicts token t+1
    if scorer.max_len is not None:
        inputs = inputs[:, -scorer.max_len :]
    logits, _ = scorer(inputs.to(scorer.device))  # (S, T, V)
    log_q = torch.log_softmax(logits[:, -N:].float().cpu(), -1)  # (S, N, V): the positions predicting samples
    return float(log_q.gather(-1, samples.cpu()[..., None]).mean())


def trade_off_point(
    sampler: LanguageModel,
    scorer: LanguageModel,
    prompt_ids: Sequence[int],
    cfg: SamplingConfig,
    n_samples: int = 20,
    n_tokens: int = 20,
    seed: int = 0,
) -> TradeoffPoint:
    """Sample with one setting from its own generator seeded with ``seed``, then score and count n-grams."""
    samples = sample_batch(sampler, prompt_ids, n_samples, n_tokens, cfg, torch.Generator().manual_seed(seed))
    rows = samples.tolist()
    return TradeoffPoint(cfg.label, cfg, mean_log_likelihood(scorer, prompt_ids, samples),
                         distinct_n(rows, 1), distinct_n(rows, 2))


def sweep(
    sampler: LanguageModel,
    scorer: LanguageModel,
    prompt_ids: Sequence[int],
    settings: Sequence[SamplingConfig],
    n_samples: int = 20,
    n_tokens: int = 20,
    seed: int = 0,
) -> list[TradeoffPoint]:
    """One point per setting; each reseeds with ``seed``, so a point is the same computed alone or in a sweep."""
    return [trade_off_point(sampler, scorer, prompt_ids, cfg, n_samples, n_tokens, seed) for cfg in settings]
