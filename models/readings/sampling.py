"""Decoding a prompt: the next-token distribution through temperature and truncation, seeded samples, beam
search, and the quality–diversity sweep.

Names as on the page: z the logits, p = softmax(z) the model's distribution, q = softmax(z/T) the tempered one,
q̂_i = q_i·1{i ≤ K}/Z the truncated one (tokens sorted q₁ ≥ q₂ ≥ …; Z = Σ_{j≤K} q_j), P the top-p threshold.
Plain dataclasses of numpy arrays and lists (picklable, so ``st.cache_data`` can keep them); no Streamlit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..inputs import model_input
from ..lm import LanguageModel
from ..sampling import (
    SamplingConfig,
    Step,
    beam_search,
    next_logits,
    next_token_distribution,
    samples_step_by_step,
)
from ..tokenizer import Tokenizer
from ..tradeoff import TradeoffPoint, default_settings, sweep

SHOWN = 30  # tokens in the distribution stages


@dataclass
class NextToken:
    """The model after reading <eos> + the prompt: its next-token logits, and what it read."""

    logits: np.ndarray  # (n_vocab,) z
    n_ids: int  # ids read, counting the start <eos> (an empty prompt is <eos> alone)
    unknown: list[str]  # prompt words read as <unk>, each once
    window: int | None  # the model reads only this many trailing ids (None: all of them)

    @property
    def windowed(self) -> bool:
        """The prompt is longer than what the model reads."""
        return self.window is not None and self.n_ids > self.window


@dataclass
class Truncation:
    """One decoding rule on the next-token distribution: p = softmax(z), q = softmax(z/T), q̂ = q·1{i ≤ K}/Z."""

    words: list[str]  # the SHOWN tokens most probable under p, best first (q orders them the same for T > 0)
    p: np.ndarray  # (SHOWN,) the model's distribution p = softmax(z)
    q: np.ndarray  # (SHOWN,) the tempered distribution q = softmax(z/T) (all on the top token at T = 0)
    q_hat: np.ndarray  # (SHOWN,) q̂: q truncated to the kept tokens and divided by Z
    kept_shown: np.ndarray  # (SHOWN,) bool: the token can be drawn
    kept: int  # K: tokens that can be drawn, over the whole vocabulary
    z: float  # Z = Σ_{j kept} q_j, the tempered mass the truncation keeps
    z_model: float  # Σ_{j kept} p_j, the model's mass on the same tokens (equal to Z only at T = 1)
    vocab: int  # |V|


@dataclass
class Sample:
    """One generated continuation, token by token."""

    words: list[str]
    model_prob: np.ndarray  # (N,) p(token): the model's probability at T = 1, untruncated
    sampled_prob: np.ndarray  # (N,) q̂(token): its probability under the distribution it was drawn from
    rank: np.ndarray  # (N,) 1 = the model's most probable token
    kept: np.ndarray  # (N,) tokens that could be drawn at that step


@dataclass
class KeptHypothesis:
    """One row of the beam's history: a hypothesis kept after a step."""

    step: int  # 1-based
    rank: int  # 1 = best in the beam
    words: list[str]
    log_prob: float  # Σ_t log p(y_t | prompt, y_<t)
    ended: bool  # reached <eos>


@dataclass
class BeamReading:
    """Beam search's best text beside greedy's, and the beam after every step."""

    width: int  # B
    best: list[str]
    log_prob: float
    token_probs: np.ndarray  # (N,) p of each token of the best hypothesis given its prefix
    history: list[KeptHypothesis]
    greedy: Sample  # greedy decoding for the same number of tokens

    @property
    def greedy_log_prob(self) -> float:
        """Σ log p of greedy's tokens (the score beam search maximises)."""
        return float(np.log(self.greedy.model_prob).sum())


@dataclass
class TradeOff:
    """One knob swept: each setting's quality and diversity, and greedy decoding as the reference point."""

    kind: str  # the SamplingConfig field swept
    points: list[TradeoffPoint]
    greedy: TradeoffPoint


@torch.no_grad()
def read_next_token(model: LanguageModel, tokenizer: Tokenizer, text: str) -> NextToken:
    """The model's next-token logits after <eos> + the prompt (a story starts after an end; an empty prompt is
    <eos> alone). The model reads the trailing ids that fit its input window."""
    read = model_input(tokenizer, text)
    logits = next_logits(model, torch.tensor([read.ids]))[0]  # (n_vocab,)
    unknown = list(dict.fromkeys(w for w, u in zip(read.words, read.unknown, strict=True) if u))
    return NextToken(logits.cpu().numpy(), len(read.ids), unknown, model.input_window)


def truncate(nxt: NextToken, itos: list[str], cfg: SamplingConfig, shown: int = SHOWN) -> Truncation:
    """p, then q = softmax(z/T), then q̂ = q·1{i ≤ K}/Z (top-k, or the smallest K whose mass reaches P), on the
    ``shown`` tokens the model finds most probable; K and Z over the whole vocabulary."""
    logits = torch.from_numpy(nxt.logits)
    p = torch.softmax(logits.float(), -1)
    q = next_token_distribution(logits, SamplingConfig(temperature=cfg.temperature))
    q_hat = next_token_distribution(logits, cfg)
    kept = q_hat > 0
    top = torch.topk(p, min(shown, p.numel())).indices
    return Truncation(
        words=[itos[i] for i in top.tolist()],
        p=p[top].cpu().numpy(),
        q=q[top].cpu().numpy(),
        q_hat=q_hat[top].cpu().numpy(),
        kept_shown=kept[top].cpu().numpy(),
        kept=int(kept.sum()),
        z=float(q[kept].sum()),
        z_model=float(p[kept].sum()),
        vocab=p.numel(),
    )


def _sample(steps: list[Step], itos: list[str]) -> Sample:
    return Sample([itos[s.token] for s in steps], np.array([s.model_prob for s in steps]),
                  np.array([s.sampled_prob for s in steps]), np.array([s.rank for s in steps]),
                  np.array([s.kept for s in steps]))


def draw_samples(model: LanguageModel, tokenizer: Tokenizer, text: str, cfg: SamplingConfig, seed: int,
                 n_tokens: int, n_samples: int) -> list[Sample]:
    """Sample i is drawn with its own generator seeded ``seed + i`` (the samples decoded as one batch): the same
    seed gives everyone the same text."""
    ids = model_input(tokenizer, text).ids
    generators = [torch.Generator().manual_seed(seed + i) for i in range(n_samples)]
    return [_sample(steps, tokenizer.vocab.itos)
            for steps in samples_step_by_step(model, ids, n_tokens, cfg, generators)]


def read_beam(model: LanguageModel, tokenizer: Tokenizer, text: str, width: int, n_tokens: int) -> BeamReading:
    """Beam search of width B ranked by Σ log p, its history, and greedy decoding beside it."""
    itos = tokenizer.vocab.itos
    result = beam_search(model, model_input(tokenizer, text).ids, n_tokens, width)
    best = result.best.tokens
    history = [KeptHypothesis(i + 1, r + 1, [itos[t] for t in h.tokens], h.log_prob, h.finished)
               for i, kept in enumerate(result.steps) for r, h in enumerate(kept)]
    greedy = draw_samples(model, tokenizer, text, SamplingConfig(greedy=True), 0, n_tokens, 1)[0]
    return BeamReading(width, [itos[t] for t in best], result.best.log_prob, result.token_probs(),
                       history, greedy)


def read_trade_off(sampler: LanguageModel, scorer: LanguageModel, tokenizer: Tokenizer, text: str,
                   kind: str) -> TradeOff:
    """The sweep over one knob (20 samples of 20 tokens per setting, seed 0), and greedy as the reference."""
    ids = model_input(tokenizer, text).ids
    *points, greedy = sweep(sampler, scorer, ids, [*default_settings(kind), SamplingConfig(greedy=True)])
    return TradeOff(kind, points, greedy)
