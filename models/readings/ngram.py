"""The n-gram lecture on one sentence: counts, sparsity, MLE and its zeros, add-α, interpolation, Kneser–Ney
continuation counts, and generation by order.

Per-token probabilities of MLE, add-α and interpolation come from ``ngram_heldout`` (the formulas the held-out
curves use, equal to ``NGramLM.distributions``); Kneser–Ney from the model itself. Plain numpy dataclasses.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..inputs import model_input
from ..ngram import NGramLM
from ..ngram_heldout import TokenCounts, token_counts
from ..sampling import SamplingConfig, step_by_step
from ..tokenizer import Tokenizer

MAX_TABLE_WORDS = 20  # rows and columns of the count table (the lecture's has 8)
FREQUENT = 300  # the continuation-count example is picked among this many most frequent words


@dataclass
class SentenceCounts:
    """The sentence as the trigram model reads it, with the counts behind every position."""

    tokens: list[str]  # as the model sees them (<unk> for unknown words)
    words: list[str]  # as typed
    unknown: np.ndarray  # (T,) bool
    contexts: list[tuple[str, str]]  # (w_{t−2}, w_{t−1}) before each token, <eos> before the start
    counts: TokenCounts  # c(h w) and c(h) per order (3, T)
    kn: np.ndarray  # (T,) p(w_t | w_{t−2} w_{t−1}) under interpolated Kneser–Ney (the shipped model)
    table_words: list[str]  # distinct tokens of the sentence, at most MAX_TABLE_WORDS, in order
    bigram_table: np.ndarray  # (W, W) c(row word, column word): row = previous word, column = next word
    unigram: np.ndarray  # (W,) c(w) of the table words
    table_cut: bool  # the sentence has more distinct tokens than the table shows

    @property
    def zero_share(self) -> float:
        """Share of the table's cells whose bigram was never seen."""
        return float(np.mean(self.bigram_table == 0)) if self.bigram_table.size else 0.0


@dataclass
class Sparsity:
    """How many n-grams the training text has against the V^n possible."""

    vocab_size: int
    train_tokens: int
    distinct: list[int]  # seen n-gram types, n = 1..3
    possible: list[float]  # V^n

    @property
    def seen_share(self) -> list[float]:
        return [d / p for d, p in zip(self.distinct, self.possible, strict=True)]


@dataclass
class UnseenMass:
    """What add-α gives to the words never seen after one context: (V − types)·α / (c(h) + αV)."""

    context: str
    c_h: int  # c(h)
    types: int  # distinct words seen after h
    vocab_size: int
    alphas: np.ndarray  # (A,)
    mass: np.ndarray  # (A,) total probability of the unseen words at each α


@dataclass
class Continuation:
    """Kneser–Ney's continuation idea: a word's count c(w) against how many words it follows, N1+(• w)."""

    words: list[str]
    counts: np.ndarray  # (W,) c(w)
    p_unigram: np.ndarray  # (W,) c(w) / N
    followers: np.ndarray  # (W,) N1+(• w)
    p_continuation: np.ndarray  # (W,) N1+(• w) / N1+(• •)
    discounts: list[float]  # D of orders 1..3 as KN uses them


@dataclass
class Generated:
    """One sample from a model of one order, and for the trigram the longest copied run."""

    order: int
    words: list[str]
    trigram_seen: np.ndarray  # (N,) bool: the trigram ending at this token occurs in the counts
    longest: tuple[int, int]  # [start, end) of the longest run of tokens whose trigrams were all seen


def read_counts(model: NGramLM, tokenizer: Tokenizer, text: str) -> SentenceCounts:
    """Counts of every order behind each token of <eos> + the sentence, the bigram table of its words, KN's p."""
    inp = model_input(tokenizer, text)
    ids = np.asarray(inp.ids, dtype=np.int64)
    if len(ids) < 2:
        raise ValueError("the sentence has no tokens to count")
    itos = tokenizer.vocab.itos
    counts = token_counts(model, ids)
    padded = [ids[0]] * 2 + list(ids)  # the model pads with <eos>: ids[t + 1] follows padded[t + 1], padded[t + 2]
    pairs = np.asarray([padded[t + 1 : t + 3] for t in range(len(ids) - 1)], dtype=np.int64)  # (T, 2)
    contexts = [(itos[a], itos[b]) for a, b in pairs]
    kn = model.configured(order=3, estimator="kn").distributions(pairs)
    kn = kn[np.arange(len(ids) - 1), ids[1:]]
    distinct = list(dict.fromkeys(int(i) for i in ids[1:]))
    shown = np.asarray(distinct[:MAX_TABLE_WORDS], dtype=np.int64)
    rows = np.repeat(shown, len(shown))
    cols = np.tile(shown, len(shown))
    table = model.gram_counts(np.stack([rows, cols], 1))[0].reshape(len(shown), len(shown))  # (W, W)
    unigram = model.gram_counts(shown[:, None])[0]
    return SentenceCounts(inp.tokens, inp.words, np.asarray(inp.unknown), contexts, counts, kn,
                          [itos[i] for i in shown], table, unigram, len(distinct) > MAX_TABLE_WORDS)


def read_sparsity(model: NGramLM) -> Sparsity:
    """Seen n-gram types of each order against V^n."""
    V = model.config.vocab_size
    distinct = [len(t.counts) for t in model.tables]
    return Sparsity(V, int(model.tables[0].counts.sum()), distinct, [float(V) ** n for n in range(1, 4)])


def unseen_mass(model: NGramLM, tokenizer: Tokenizer, word: str, alphas: np.ndarray) -> UnseenMass:
    """After the one-word context ``word``: c(h), the words seen after it, and add-α's mass on all the others."""
    context = tokenizer.vocab.stoi.get(word, tokenizer.vocab.unk_id)
    followers, _ = model.counts((context,))
    c_h = int(model.gram_counts(np.asarray([[context, int(followers[0])]]))[1][0]) if len(followers) else 0
    V = model.config.vocab_size
    alphas = np.asarray(alphas, dtype=np.float64)
    mass = (V - len(followers)) * alphas / (c_h + alphas * V)
    return UnseenMass(tokenizer.vocab.itos[context], c_h, len(followers), V, alphas, mass)


def read_continuation(model: NGramLM, tokenizer: Tokenizer, words: list[str]) -> Continuation:
    """c(w), p_ML(w), N1+(• w) and P_cont(w) for the corpus word that is frequent but follows the fewest distinct
    words (relative to its count), then for ``words``."""
    counts, followers = model.continuation_counts()
    itos = tokenizer.vocab.itos
    frequent = [i for i in np.argsort(-counts, kind="stable")[:FREQUENT] if itos[i].isalpha()]
    example = min(frequent, key=lambda i: followers[i] / counts[i])
    chosen = list(dict.fromkeys([int(example)] + [tokenizer.vocab.stoi.get(w, tokenizer.vocab.unk_id)
                                                    for w in words]))
    idx = np.asarray(chosen, dtype=np.int64)
    return Continuation([itos[i] for i in idx], counts[idx], counts[idx] / counts.sum(), followers[idx],
                        followers[idx] / followers.sum(), model.configured(order=3, estimator="kn").discounts())


def longest_seen_run(seen: np.ndarray) -> tuple[int, int]:
    """[start, end) of the longest run of True (the first one on a tie); (0, 0) when there is none."""
    best, start = (0, 0), None
    for t, s in enumerate([*seen.tolist(), False]):
        if s and start is None:
            start = t
        elif not s and start is not None:
            if t - start > best[1] - best[0]:
                best = (start, t)
            start = None
    return best


@torch.no_grad()
def generate_by_order(model: NGramLM, tokenizer: Tokenizer, text: str, estimator: str, seed: int,
                      n_tokens: int) -> list[Generated]:
    """One sample per order 1..3 after <eos> + the prompt, each with a generator seeded ``seed`` (pure sampling)."""
    ids = model_input(tokenizer, text).ids
    itos = tokenizer.vocab.itos
    out = []
    for order in (1, 2, 3):
        view = model.configured(order=order, estimator=estimator)
        steps = step_by_step(view, ids, n_tokens, SamplingConfig(), torch.Generator().manual_seed(seed))
        new = [s.token for s in steps]
        full = [ids[0]] * 2 + ids + new
        grams = np.asarray([full[len(full) - len(new) + t - 2 : len(full) - len(new) + t + 1]
                            for t in range(len(new))], dtype=np.int64).reshape(-1, 3)  # (N, 3)
        seen = model.gram_counts(grams)[0] > 0 if len(new) else np.zeros(0, dtype=bool)
        out.append(Generated(order, [itos[i] for i in new], seen, longest_seen_run(seen)))
    return out

