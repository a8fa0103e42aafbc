"""Decoding from any zoo model: greedy, temperature, top-k and top-p (nucleus) sampling, and beam search.

Temperature: q = softmax(z / T) from the logits z, so T → 0 is greedy and T = 0 *means* greedy (T = 1: q = p);
top-k: q̂_i = q_i · 1{i ≤ K} / Z, Z = Σ_{j≤K} q_j, over tokens sorted q₁ ≥ q₂ ≥ … (Fan et al. 2018);
top-p: the same with the smallest K whose mass Σ_{j≤K} q_j reaches the threshold P (Holtzman et al. 2020);
beam search: the B best prefixes by log p(y) / lp(|y|), lp(L) = ((5 + L) / 6)^α (Wu et al. 2016).
Randomness only ever comes from the caller's ``torch.Generator``, never from torch's global RNG.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from .lm import Cache, LanguageModel
from .tokenizer import EOS_ID


@dataclass(frozen=True)
class SamplingConfig:
    """How the next token is chosen from the model's distribution.

    Switches that mean "off": ``top_k`` None or ≤ 0, or ≥ the vocabulary; ``top_p`` (the threshold P) None or 1.
    ``temperature`` 0 is greedy (the limit T → 0), and a ``top_p`` near 0 keeps only the most probable token.
    """

    temperature: float = 1.0  # divides the logits; 0 is greedy
    top_k: int | None = None  # keep only the K most probable tokens
    top_p: float | None = None  # P: keep the smallest set with mass ≥ P
    greedy: bool = False  # always take the most probable token

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError("temperature must be ≥ 0 (0 means greedy)")
        if self.top_p is not None and not 0 <= self.top_p <= 1:
            raise ValueError("top_p must lie in [0, 1]")

    @property
    def is_greedy(self) -> bool:
        """Whether the choice is the argmax: asked for, or the T → 0 limit."""
        return self.greedy or self.temperature == 0

    @property
    def label(self) -> str:
        """Short name for tables and plots: ``greedy``, ``K=5``, ``P=0.9``, ``T=0.7``, or ``pure sampling``."""
        if self.is_greedy:
            return "greedy"
        parts = [f"K={self.top_k}" if self.top_k is not None and self.top_k > 0 else "",
                 f"P={self.top_p:g}" if self.top_p is not None else "",
                 f"T={self.temperature:g}" if self.temperature != 1 else ""]
        return ", ".join(p for p in parts if p) or "pure sampling"


def _ranked(probs: torch.Tensor, k: int, p: float | None) -> torch.Tensor:
    """(..., V) -> (..., m): each row's m ≤ k largest probabilities, descending; enough for every row to reach p."""
    # topk grows ×4 from 256 instead of one full sort: nuclei are mostly far smaller than the vocabulary, and
    # a CPU sort of 20 rows × 5k tokens costs ~7 ms, several times a topk of a few hundred.
    m = k if p is None else min(k, 256)
    while True:
        ranked = probs.topk(m, dim=-1).values  # (..., m)
        if m == k or bool((ranked.cumsum(-1)[..., -1] >= p).all()):
            return ranked
        m = min(4 * m, k)


def _truncation_mask(probs: torch.Tensor, cfg: SamplingConfig) -> torch.Tensor:
    """(..., V) probabilities -> (..., V) bool: the top-k ∩ top-p set, never empty; ties go to lower ids, as argmax."""
    vocab = probs.size(-1)
    k = min(cfg.top_k, vocab) if cfg.top_k is not None and cfg.top_k > 0 else vocab
    p = cfg.top_p if cfg.top_p is not None and cfg.top_p < 1 else None  # p = 1 keeps all, even a tail past fl(1)
    if k == vocab and p is None:
        return torch.ones_like(probs, dtype=torch.bool)
    ranked = _ranked(probs, k, p)  # (..., m)
    if p is None:
        count = torch.full((*probs.shape[:-1], 1), k)  # (..., 1) how many tokens each row keeps
    else:
        mass_before = F.pad(ranked.cumsum(-1)[..., :-1], (1, 0))  # mass of the strictly more probable tokens
        count = (mass_before < p).sum(-1, keepdim=True).clamp(min=1)
    kth = ranked.gather(-1, count - 1)  # (..., 1) the smallest probability kept
    above, tied = probs > kth, probs == kth
    room = count - above.sum(-1, keepdim=True)  # tied tokens that still fit, lowest ids first
    return above | (tied & (tied.cumsum(-1) <= room))


def next_token_distribution(logits: torch.Tensor, cfg: SamplingConfig) -> torch.Tensor:
    """(..., V) logits z -> (..., V) probabilities q̂: q = softmax(z / T), cut to top-k ∩ top-p, divided by Z."""
    if cfg.is_greedy:
        return F.one_hot(logits.argmax(-1), logits.size(-1)).to(torch.float32)
    # Log-probs first: their max is 0, so z / T stays finite as T → 0 (no inf − inf = NaN), and −inf gives 0.
    probs = torch.softmax(torch.log_softmax(logits.float(), -1) / cfg.temperature, -1)
    probs = probs.masked_fill(~_truncation_mask(probs, cfg), 0.0)
    return probs / probs.sum(-1, keepdim=True)


def next_logits(model: LanguageModel, ids: torch.Tensor) -> torch.Tensor:
    """(B, T) ids -> (B, V) float logits of the token that follows each row, on the CPU."""
    return model.last_logits(model.trailing(ids).to(model.device)).float().cpu()


def draw(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(B, V) probabilities -> (B,) ids by inverse transform sampling: one u ~ U(0, 1) per row from ``generator``."""
    cdf = probs.double().cumsum(-1)  # (B, V)
    total = cdf[:, -1:]  # (B, 1), 1 up to rounding
    u = torch.rand(total.shape, generator=generator, dtype=torch.float64) * total  # (B, 1)
    # Kept strictly below the total, u never lands on a zero-probability id: those own empty intervals.
    u = torch.minimum(u, torch.nextafter(total, torch.zeros_like(total)))
    return torch.searchsorted(cdf, u, right=True)[:, 0]


def start_ids(prompt: Sequence[int]) -> list[int]:
    """The ids decoding starts from: the prompt, or ``[<eos>]`` for an empty one (a text begins after an end)."""
    return list(prompt) or [EOS_ID]


def _start(prompt: Sequence[int], rows: int) -> torch.Tensor:
    """(rows, T) copies of the starting ids."""
    return torch.tensor([start_ids(prompt)] * rows, dtype=torch.long)


def _sample_steps(
    model: LanguageModel, ids: torch.Tensor, n: int, cfg: SamplingConfig, generator: torch.Generator
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """n batched steps from ids (B, T): yields logits (B, V), the distribution sampled (B, V) and the draws (B,).

    Decodes incrementally (``begin``, then ``extend`` by each draw), so a step scores only the newest position.
    """
    if n < 1:
        return
    device = model.device
    logits, cache = model.begin(ids.to(device))  # (B, V)
    for step in range(1, n + 1):
        logits = logits.float().cpu()
        probs = next_token_distribution(logits, cfg)
        nxt = draw(probs, generator)
        yield logits, probs, nxt
        if step < n:  # not after the last draw: those scores would go unused
            logits, cache = model.extend(cache, nxt.to(device))


@dataclass(frozen=True)
class Step:
    """One generated token and how the model saw it."""

    token: int
    model_prob: float  # p(token) under the untruncated distribution at T = 1
    sampled_prob: float  # p(token) under the distribution it was drawn from (temperature, top-k, top-p)
    rank: int  # 1 = the model's most probable token
    kept: int  # tokens left with non-zero probability after truncation


def _step(logits: torch.Tensor, probs: torch.Tensor, token: int) -> Step:
    """Step record from one row's logits (V,) and sampled distribution (V,)."""
    rank = ranks(logits[None], torch.tensor([token]))[0]
    model_prob = torch.softmax(logits, -1)[token]
    return Step(token, float(model_prob), float(probs[token]), int(rank), int((probs > 0).sum()))


@torch.no_grad()
def step_by_step(
    model: LanguageModel,
    prompt_ids: Sequence[int],
    n: int,
    cfg: SamplingConfig,
    generator: torch.Generator,
    stop_at_eos: bool = True,
) -> list[Step]:
    """Sample up to ``n`` tokens after the prompt, recording each one's probabilities and rank."""
    return samples_step_by_step(model, prompt_ids, n, cfg, [generator], stop_at_eos)[0]


@torch.no_grad()
def samples_step_by_step(
    model: LanguageModel,
    prompt_ids: Sequence[int],
    n: int,
    cfg: SamplingConfig,
    generators: Sequence[torch.Generator],
    stop_at_eos: bool = True,
) -> list[list[Step]]:
    """One sample per generator, decoded as one batch (one model step for all rows per token); row i draws only
    from ``generators[i]``, so it is the sample ``step_by_step`` gives with that generator alone."""
    rows = len(generators)
    samples: list[list[Step]] = [[] for _ in range(rows)]
    if n < 1 or rows == 0:
        return samples
    logits, cache = model.begin(_start(prompt_ids, rows).to(model.device))  # (R, V)
    live = [True] * rows
    for step in range(1, n + 1):
        logits = logits.float().cpu()
        probs = next_token_distribution(logits, cfg)  # (R, V)
        nxt = torch.cat([draw(probs[i : i + 1], g) for i, g in enumerate(generators)])  # (R,)
        for i in range(rows):
            if live[i]:
                samples[i].append(_step(logits[i], probs[i], int(nxt[i])))
                live[i] = not (stop_at_eos and samples[i][-1].token == EOS_ID)
        if step == n or not any(live):
            break
        logits, cache = model.extend(cache, nxt.to(model.device))
    return samples


def generate(
    model: LanguageModel,
    prompt: list[int],
    max_new_tokens: int,
    cfg: SamplingConfig,
    generator: torch.Generator,
    stop_at_eos: bool = True,
) -> list[int]:
    """Append up to ``max_new_tokens`` sampled ids to ``prompt`` (which should start with ``<eos>``)."""
    steps = step_by_step(model, prompt, max_new_tokens, cfg, generator, stop_at_eos)
    return start_ids(prompt) + [s.token for s in steps]


@torch.no_grad()
def sample_batch(
    model: LanguageModel,
    prompt_ids: Sequence[int],
    n_samples: int,
    n_tokens: int,
    cfg: SamplingConfig,
    generator: torch.Generator,
) -> torch.Tensor:
    """(n_samples, n_tokens) continuations drawn in parallel, one batched decoding step per token.

    Rows never stop at ``<eos>`` (the batch stays rectangular; the models simply begin a new text).
    With one sample the ids are those of ``generate(..., stop_at_eos=False)`` under the same seed.
    """
    draws = [nxt for _, _, nxt in _sample_steps(model, _start(prompt_ids, n_samples), n_tokens, cfg, generator)]
    return torch.stack(draws, 1) if draws else torch.zeros(n_samples, 0, dtype=torch.long)


class IncrementalDecoder(Protocol):
    """What beam search needs of a model: the LM decoding contract (``LanguageModel`` has it; a seq2seq decoder
    for one encoded source has it through an adapter), so one search serves both."""

    @property
    def device(self) -> torch.device: ...

    def begin(self, ids: torch.Tensor) -> tuple[torch.Tensor, Cache]: ...

    def extend(self, cache: Cache, nxt: torch.Tensor) -> tuple[torch.Tensor, Cache]: ...

    def reorder(self, cache: Cache, rows: torch.Tensor) -> Cache: ...


@dataclass(frozen=True)
class Hypothesis:
    """One beam entry: the ids after the prompt, Σ log p of them, the ranking score, and whether it ended."""

    tokens: tuple[int, ...]
    log_prob: float  # Σ_t log p(y_t | prompt, y_<t)
    score: float  # log_prob / lp(len(tokens)); equals log_prob when α = 0
    finished: bool  # ended at <eos>; carried unchanged from then on


@dataclass(frozen=True)
class BeamResult:
    """The beam after every step, best first, and the best hypothesis found."""

    prompt: tuple[int, ...]
    steps: tuple[tuple[Hypothesis, ...], ...]  # steps[i]: the hypotheses kept after step i + 1
    best: Hypothesis
    pruned: tuple[tuple[Hypothesis, ...], ...] = ()  # pruned[i]: the extensions step i + 1 ranked but did not keep

    def token_probs(self) -> np.ndarray:
        """(N,) p of each token of the best hypothesis given its prefix: every prefix of it was kept at its step,
        so each p is the ratio of two running Σ log p from the history (no decoding again)."""
        by_prefix = {h.tokens: h.log_prob for kept in self.steps for h in kept}
        logs = [by_prefix[self.best.tokens[: t + 1]] for t in range(len(self.best.tokens))]
        return np.exp(np.diff([0.0, *logs]))


def length_norm(length: int, alpha: float) -> float:
    """lp(L) = ((5 + L) / 6)^α, the GNMT length penalty (Wu et al. 2016); 1 when α = 0."""
    return ((5 + length) / 6) ** alpha


def _live(beam: Sequence[Hypothesis]) -> list[Hypothesis]:
    """The hypotheses still growing, in beam order: one row each of the decoding cache."""
    return [h for h in beam if not h.finished]


def _beam_step(beam: tuple[Hypothesis, ...], logits: torch.Tensor, width: int,
               alpha: float) -> tuple[tuple[Hypothesis, ...], tuple[Hypothesis, ...]]:
    """The ``width`` best of the finished hypotheses and every one-token extension of the live ones, and the
    extensions that were ranked but fell out (each live row's ``width`` best: no other could have made it).

    ``logits`` (A, V) score the token after each live hypothesis, in beam order.
    """
    done = [h for h in beam if h.finished]
    live = _live(beam)  # all the same length: each step extends every live one
    # float64 so beam 1 ranks exactly as greedy's argmax of the logits (no ties made by rounding).
    log_p = torch.log_softmax(logits.double().cpu(), -1)  # (A, V)
    total = torch.tensor([h.log_prob for h in live], dtype=torch.float64)[:, None] + log_p  # (A, V)
    score = total / length_norm(len(live[0].tokens) + 1, alpha)  # (A, V)
    # Only a row's `width` best can make the beam (a token with `width` better ones in its own row cannot): sort
    # those few instead of all A·V. Ties at a row's threshold all stay, so the stable order below is unchanged.
    threshold = score.topk(min(width, score.size(-1)), dim=-1).values[:, -1:]  # (A, 1)
    rows, tokens = (score >= threshold).nonzero(as_tuple=True)  # row-major: the order of the flat ids
    pooled = torch.cat([torch.tensor([h.score for h in done], dtype=torch.float64), score[rows, tokens]])
    order = pooled.sort(descending=True, stable=True).indices  # ties: finished first, then lower ids
    order = order[torch.isfinite(pooled[order])].tolist()  # a zero-probability prefix is no hypothesis

    def hypothesis(i: int) -> Hypothesis:
        if i < len(done):
            return done[i]
        row, token = int(rows[i - len(done)]), int(tokens[i - len(done)])
        return Hypothesis(live[row].tokens + (token,), float(total[row, token]), float(score[row, token]),
                          token == EOS_ID)

    pruned = tuple(hypothesis(i) for i in order[width:] if i >= len(done))
    return tuple(hypothesis(i) for i in order[:width]), pruned


def _follow(
    model: IncrementalDecoder, cache: Cache, parents: Sequence[Hypothesis], beam: tuple[Hypothesis, ...]
) -> tuple[torch.Tensor, Cache]:
    """Logits (A, V) and cache for the beam's live hypotheses, each a parent (a row of ``cache``) plus one token."""
    row = {h.tokens: i for i, h in enumerate(parents)}  # live prefixes are distinct
    live = _live(beam)
    rows = torch.tensor([row[h.tokens[:-1]] for h in live], device=model.device)  # (A,)
    nxt = torch.tensor([h.tokens[-1] for h in live], device=model.device)  # (A,)
    return model.extend(model.reorder(cache, rows), nxt)


@torch.no_grad()
def beam_search(
    model: IncrementalDecoder, prompt_ids: Sequence[int], n: int, beam: int, length_penalty: float = 0.0
) -> BeamResult:
    """Keep the ``beam`` best prefixes for up to ``n`` tokens; stops early once all have ended at ``<eos>``.

    ``length_penalty`` is α of lp(L) = ((5 + L) / 6)^α (Wu et al. 2016): 0 ranks by Σ log p, larger favours longer.
    """
    if beam < 1:
        raise ValueError("beam must be at least 1")
    prompt = tuple(start_ids(prompt_ids))
    kept = (Hypothesis((), 0.0, 0.0, False),)
    steps, pruned = [], []
    logits, cache = model.begin(torch.tensor([prompt], device=model.device))  # (1, V) after the empty hypothesis
    for step in range(n):
        parents, (kept, dropped) = _live(kept), _beam_step(kept, logits, beam, length_penalty)
        steps.append(kept)
        pruned.append(dropped)
        if step == n - 1 or all(h.finished for h in kept):
            break
        logits, cache = _follow(model, cache, parents, kept)
    return BeamResult(prompt, tuple(steps), kept[0], tuple(pruned))


def top_k_table(logits: torch.Tensor, k: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """The k most probable next tokens at every position: logits (T, V) -> ids (T, k), probs (T, k)."""
    probs = torch.softmax(logits.float(), dim=-1)
    top = torch.topk(probs, min(k, probs.size(-1)), dim=-1)
    return top.indices, top.values


def ranks(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """1-based rank of each target among the model's predictions: logits (T, V), targets (T,) -> (T,)."""
    target_logit = logits.gather(-1, targets[:, None])  # (T, 1)
    return (logits > target_logit).sum(-1) + 1
