"""The quality–diversity trade-off of sampling: how likely the samples are against how varied they are.

Quality: mean per-token log-likelihood (1/SN) Σ_s Σ_t log q(x_t | prompt, x_<t) under a scorer model q;
diversity: distinct-n, the share of n-grams that are unique across all samples (Li et al. 2016).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .lm import LanguageModel
from .sampling import SamplingConfig, draw, next_token_distribution, start_ids

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
def token_log_likelihoods(scorer: LanguageModel, prompt_ids: Sequence[int], samples: torch.Tensor) -> torch.Tensor:
    """log q(x_t | prompt, x_<t) for every sampled token of samples (S, N), from one batched forward: (S, N).

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
    logits = logits[:, -N:].float().cpu()  # (S, N, V): the positions predicting samples
    # log softmax at the drawn ids only: z_x − logsumexp(z), without a second (S, N, V) tensor
    return logits.gather(-1, samples.cpu()[..., None])[..., 0] - torch.logsumexp(logits, -1)


def mean_log_likelihood(scorer: LanguageModel, prompt_ids: Sequence[int], samples: torch.Tensor) -> float:
    """(1/SN) Σ log q(x_t | prompt, x_<t) over samples (S, N)."""
    return float(token_log_likelihoods(scorer, prompt_ids, samples).mean())


@torch.no_grad()
def sample_settings(
    sampler: LanguageModel,
    prompt_ids: Sequence[int],
    settings: Sequence[SamplingConfig],
    n_samples: int,
    n_tokens: int,
    seed: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(G, S, N) samples for G settings decoded together: one batched step of G·S rows per token, while each
    setting truncates its own rows and draws from its own generator seeded ``seed`` (so its samples are those
    of ``sample_batch`` with that setting alone). Also (G, S, N) log p(x_t | prompt, x_<t) of each drawn token
    under the sampler itself (T = 1, untruncated): the quality when the scorer is the sampler."""
    G, S = len(settings), n_samples
    generators = [torch.Generator().manual_seed(seed) for _ in settings]
    logits, cache = sampler.begin(torch.tensor([start_ids(prompt_ids)] * (G * S)).to(sampler.device))  # (G·S, V)
    draws, log_p = [], []
    for step in range(1, n_tokens + 1):
        logits = logits.float().cpu()  # (G·S, V)
        by_setting = logits.view(G, S, -1)  # (G, S, V)
        nxt = torch.cat([draw(next_token_distribution(by_setting[g], cfg), generators[g])
                         for g, cfg in enumerate(settings)])  # (G·S,)
        draws.append(nxt)
        log_p.append(logits.gather(-1, nxt[:, None])[:, 0] - torch.logsumexp(logits, -1))
        if step < n_tokens:  # not after the last draw: those scores would go unused
            logits, cache = sampler.extend(cache, nxt.to(sampler.device))
    if not draws:
        return torch.zeros(G, S, 0, dtype=torch.long), torch.zeros(G, S, 0)
    return torch.stack(draws, 1).view(G, S, n_tokens), torch.stack(log_p, 1).view(G, S, n_tokens)


def sweep(
    sampler: LanguageModel,
    scorer: LanguageModel,
    prompt_ids: Sequence[int],
    settings: Sequence[SamplingConfig],
    n_samples: int = 20,
    n_tokens: int = 20,
    seed: int = 0,
) -> list[TradeoffPoint]:
    """One point per setting, sampled together and scored in one batched forward (none when the scorer is the
    sampler: its own log-probabilities came with the draws); each setting reseeds with ``seed``, so a point is
    the same computed alone or in a sweep."""
    samples, log_p = sample_settings(sampler, prompt_ids, settings, n_samples, n_tokens, seed)  # (G, S, N) each
    G, S, N = samples.shape
    if scorer is not sampler:
        log_p = token_log_likelihoods(scorer, prompt_ids, samples.view(G * S, N)).view(G, S, N)
    log_q = log_p.mean((1, 2))  # (G,)
    points = []
    for cfg, rows, quality in zip(settings, samples.tolist(), log_q.tolist(), strict=True):
        points.append(TradeoffPoint(cfg.label, cfg, quality, distinct_n(rows, 1), distinct_n(rows, 2)))
    return points


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
    return sweep(sampler, scorer, prompt_ids, [cfg], n_samples, n_tokens, seed)[0]
