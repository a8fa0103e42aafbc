"""Every language model on one sentence: per-token surprisal, ranks and perplexity, from each model's own forward.

The ladder and the loss-by-position curves are measured facts read from the manifest; the sentence is scored live.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..inputs import model_input
from ..lm import LanguageModel
from ..tokenizer import Tokenizer

WINDOW = 64  # ids every model reads at once (the transformer's positions), the start <eos> included
RANK_BINS = ((1, "top-1"), (10, "top-10"), (100, "top-100"), (math.inf, "beyond"))
# Deck 002's closing table: word-level perplexities on Penn Treebank (GPT-2 35.8 and GPT-3 20.5 are those papers'
# Penn Treebank results), a different corpus and vocabulary from ours.
LECTURE_LADDER = (("Trigram", 109.0), ("LSTM", 58.3), ("GPT-2", 35.8), ("GPT-3", 20.5))


@dataclass(frozen=True)
class SentenceScores:
    """M models × T tokens: how surprised each model is by each token of the sentence."""

    models: list[str]  # (M,)
    tokens: list[str]  # (T,) as the models see them (unknown words as <unk>)
    words: list[str]  # (T,) as typed
    unknown: np.ndarray  # (T,) bool
    logp: np.ndarray  # (M, T) log p(w_t | w_<t), natural log
    ranks: np.ndarray  # (M, T) rank of the true token among all |V| (1 = the model's first choice)
    cut: bool  # the sentence was longer than WINDOW − 1 tokens and was cut

    @property
    def surprisal_bits(self) -> np.ndarray:
        """(M, T) −log₂ p(w_t | w_<t)."""
        return -self.logp / math.log(2)

    @property
    def perplexity(self) -> np.ndarray:
        """(M,) exp(−(1/T) Σ_t log p(w_t | w_<t))."""
        return np.exp(-self.logp.mean(axis=1))

    @property
    def winners(self) -> np.ndarray:
        """(T,) index of the model that gives each token the highest probability."""
        return self.logp.argmax(axis=0)

    def disagreements(self, n: int = 5) -> list[int]:
        """The ``n`` token positions where the models' surprisals spread the most, widest first."""
        spread = self.surprisal_bits.max(axis=0) - self.surprisal_bits.min(axis=0)  # (T,)
        return [int(t) for t in np.argsort(-spread, kind="stable")[:n]]


def rank_bin(rank: int) -> str:
    """The rank band a token falls in: top-1, top-10, top-100 or beyond."""
    return next(label for limit, label in RANK_BINS if rank <= limit)


@torch.no_grad()
def token_scores(model: LanguageModel, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """log p and rank of ids[1:] from one forward over ids, (T,) each (T+1 ≤ WINDOW: every model reads all of it)."""
    x = torch.tensor([ids], device=model.device)
    logits, _ = model(x)  # (1, T+1, V)
    logp = F.log_softmax(logits[0, :-1].float(), dim=-1)  # (T, V): position t predicts ids[t+1]
    target = torch.tensor(ids[1:], device=logp.device)
    true = logp.gather(1, target[:, None])  # (T, 1)
    ranks = (logp > true).sum(1) + 1  # ties count in the true token's favour
    return true[:, 0].double().cpu().numpy(), ranks.cpu().numpy()


def score_sentence(models: dict[str, tuple[LanguageModel, Tokenizer]], text: str) -> SentenceScores:
    """Every model scores <eos> + the sentence (cut to WINDOW ids) with its own forward; no <eos> is appended."""
    names = list(models)
    tokenizer = models[names[0]][1]  # one shared vocabulary
    inp = model_input(tokenizer, text, WINDOW)
    if len(inp.ids) < 2:
        raise ValueError("the sentence has no tokens to score")
    scored = [token_scores(model, inp.ids) for model, _ in models.values()]
    return SentenceScores(names, inp.tokens, inp.words, np.array(inp.unknown), np.stack([s[0] for s in scored]),
                          np.stack([s[1] for s in scored]), inp.cut)


def ladder_ratios(perplexities: dict[str, float], base: str) -> dict[str, float]:
    """Each perplexity divided by the base model's (the n-gram at the bottom of each ladder)."""
    return {name: ppl / perplexities[base] for name, ppl in perplexities.items()}
