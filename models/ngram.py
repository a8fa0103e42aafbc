"""Count-based n-gram language model: MLE, add-α, linear interpolation and interpolated Kneser–Ney.

Counts are stored as sorted numpy tables (one row per seen n-gram), never pickled. Every estimator
returns a full distribution over the vocabulary, so the model answers the same
``forward(idx, targets) -> (logits, loss)`` contract as the neural models (logits are log-probs).
"""
from __future__ import annotations

import copy
import io
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .lm import LanguageModel
from .tokenizer import EOS_ID

ESTIMATORS = ("mle", "add", "interp", "kn")


@dataclass(frozen=True)
class NGramConfig:
    """Which distribution to read off the counts: estimator, order and its parameters."""

    vocab_size: int
    max_order: int = 3  # orders stored in the tables
    order: int = 3  # order used when predicting (1 .. max_order)
    estimator: str = "kn"  # one of ESTIMATORS
    alpha: float = 1.0  # add-α pseudo-count
    lambdas: tuple[float, ...] = (0.1, 0.3, 0.6)  # linear interpolation weights, unigram first


@dataclass
class NGramTrace:
    """Per position: the context used, its count, the count of the next token after it."""

    contexts: list[tuple[int, ...]]  # length-(order-1) id tuples, one per position
    context_counts: np.ndarray  # (T,) c(h)
    next_counts: np.ndarray  # (T,) c(h w) for the token that follows (0 where unknown)
    logits: torch.Tensor  # (1, T, V) log-probabilities


@dataclass
class _Table:
    """All seen n-grams of one order, sorted; ``keys`` index contexts for range lookup."""

    grams: np.ndarray  # (R, n) uint16/int32 ids, sorted lexicographically
    counts: np.ndarray  # (R,) raw counts c(h w)
    cont: np.ndarray = field(default=None)  # (R,) continuation counts N1+(• h w)
    keys: np.ndarray = field(default=None)  # (R,) int64 key of the context h


def _context_key(ctx: np.ndarray, vocab_size: int) -> np.ndarray:
    """Mixed-radix key of context rows (P, n-1) -> (P,) int64 (0 for the empty context)."""
    key = np.zeros(ctx.shape[0], dtype=np.int64)
    for j in range(ctx.shape[1]):
        key = key * vocab_size + ctx[:, j].astype(np.int64)
    return key


def count_ngrams(ids: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Unique n-grams of an id stream and their counts, sorted lexicographically."""
    windows = np.lib.stride_tricks.sliding_window_view(ids, n)  # (L-n+1, n)
    grams, counts = np.unique(windows, axis=0, return_counts=True)
    return grams, counts


def kn_discount(counts: np.ndarray) -> float:
    """Absolute discount D = n1 / (n1 + 2 n2) (Ney et al. 1994)."""
    n1, n2 = np.sum(counts == 1), np.sum(counts == 2)
    return float(n1 / (n1 + 2 * n2)) if n1 + n2 > 0 else 0.5


class NGramLM(LanguageModel):
    """n-gram LM over sorted count tables; ``configured`` returns a view with other settings."""

    context_size: int

    def __init__(self, config: NGramConfig, tables: list[_Table]) -> None:
        super().__init__()
        self.config = config
        self.tables = tables  # tables[n-1] holds the n-grams
        self.context_size = config.order - 1
        self._prepare()

    # ----- construction -------------------------------------------------------------------
    @classmethod
    def from_ids(cls, ids: np.ndarray, config: NGramConfig) -> NGramLM:
        """Count every order 1..max_order in a 1-D id stream."""
        dtype = np.uint16 if config.vocab_size <= 65535 else np.int32
        tables = []
        for n in range(1, config.max_order + 1):
            grams, counts = count_ngrams(np.asarray(ids), n)
            tables.append(_Table(grams.astype(dtype), counts.astype(np.uint32)))
        return cls(config, tables)

    def _prepare(self) -> None:
        """Context keys, continuation counts, prefix sums and discounts (derived, not stored)."""
        V = self.config.vocab_size
        for t in self.tables:
            t.keys = _context_key(t.grams[:, :-1], V)
        for n in range(1, len(self.tables)):
            lower, upper = self.tables[n - 1], self.tables[n]
            # N1+(• h w): how many distinct tokens precede the n-gram (h w) in the (n+1)-gram table.
            suffix_key = _context_key(upper.grams[:, 1:], V)
            uniq, cnt = np.unique(suffix_key, return_counts=True)
            own_key = _context_key(lower.grams, V)
            pos = np.searchsorted(uniq, own_key)
            pos = np.minimum(pos, len(uniq) - 1)
            lower.cont = np.where(uniq[pos] == own_key, cnt[pos], 0).astype(np.uint32)
        self.tables[-1].cont = self.tables[-1].counts
        self._csum_raw = [np.concatenate([[0], np.cumsum(t.counts, dtype=np.int64)]) for t in self.tables]
        self._csum_cont = [np.concatenate([[0], np.cumsum(t.cont, dtype=np.int64)]) for t in self.tables]
        self._disc_raw = [kn_discount(t.counts) for t in self.tables]
        self._disc_cont = [kn_discount(t.cont[t.cont > 0]) for t in self.tables]

    def configured(self, **changes) -> NGramLM:
        """A view of the same tables with other estimator settings (the original is untouched)."""
        config = replace(self.config, **changes)
        if not 1 <= config.order <= config.max_order:
            raise ValueError(f"order must be between 1 and {config.max_order}")
        if config.estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}")
        view = copy.copy(self)  # shares the read-only tables
        view.config = config
        view.context_size = config.order - 1
        return view

    # ----- lookups ------------------------------------------------------------------------
    def _ranges(self, n: int, contexts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row ranges [lo, hi) in the order-n table for each context row (P, n-1)."""
        t = self.tables[n - 1]
        key = _context_key(contexts, self.config.vocab_size)
        return np.searchsorted(t.keys, key, "left"), np.searchsorted(t.keys, key, "right")

    def counts(self, context: list[int] | tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Tokens seen after ``context`` and their counts, most frequent first."""
        n = len(context) + 1
        if n > len(self.tables):
            raise ValueError(f"context longer than {len(self.tables) - 1} tokens")
        lo, hi = self._ranges(n, np.asarray([context], dtype=np.int64).reshape(1, n - 1))
        t = self.tables[n - 1]
        words, counts = t.grams[lo[0] : hi[0], -1].astype(np.int64), t.counts[lo[0] : hi[0]].astype(np.int64)
        order = np.argsort(-counts, kind="stable")
        return words[order], counts[order]

    def count(self, gram: list[int] | tuple[int, ...]) -> int:
        """c(gram): how often the n-gram was seen in training."""
        words, counts = self.counts(tuple(gram[:-1]))
        hit = counts[words == gram[-1]]
        return int(hit[0]) if len(hit) else 0

    def gram_counts(self, grams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """c(h w) and c(h) = Σ_v c(h v) for rows of n-grams (P, n): the MLE's numerator and denominator."""
        grams = np.asarray(grams, dtype=np.int64)
        n = grams.shape[1]
        t, V = self.tables[n - 1], self.config.vocab_size
        lo, hi = self._ranges(n, grams[:, :-1])
        # Rows are sorted lexicographically, so (context key, last word) is sorted too: one search finds c(h w).
        full = _context_key(grams[:, :-1], V) * V + grams[:, -1]
        table_full = t.keys * V + t.grams[:, -1].astype(np.int64)
        pos = np.minimum(np.searchsorted(table_full, full), len(table_full) - 1)
        c_hw = np.where(table_full[pos] == full, t.counts[pos], 0).astype(np.int64)
        csum = self._csum_raw[n - 1]
        return c_hw, csum[hi] - csum[lo]

    def continuation_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Per word: c(w) and N1+(• w), the number of distinct words seen before it (Kneser & Ney 1995)."""
        t, V = self.tables[0], self.config.vocab_size
        words = t.grams[:, 0].astype(np.int64)
        counts, cont = np.zeros(V, dtype=np.int64), np.zeros(V, dtype=np.int64)
        counts[words], cont[words] = t.counts, t.cont
        return counts, cont

    def discounts(self) -> list[float]:
        """The absolute discount D of each order as KN uses it at this order: raw counts at the top, continuation
        counts below."""
        n = self.config.order
        return [self._disc_raw[k] if k == n - 1 else self._disc_cont[k] for k in range(n)]

    def _gather(self, n: int, contexts: np.ndarray, use_cont: bool):
        """Sparse entries (position, word, count) for contexts, plus per-context total and types."""
        lo, hi = self._ranges(n, contexts)
        lengths = hi - lo
        pos = np.repeat(np.arange(len(lo)), lengths)
        rows = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths) + np.repeat(lo, lengths)
        t = self.tables[n - 1]
        csum = self._csum_cont[n - 1] if use_cont else self._csum_raw[n - 1]
        vals = (t.cont if use_cont else t.counts)[rows].astype(np.float64)
        total = (csum[hi] - csum[lo]).astype(np.float64)
        types = np.bincount(pos, weights=vals > 0, minlength=len(lo))
        return pos, t.grams[rows, -1].astype(np.int64), vals, total, types

    # ----- estimators: each maps contexts (P, order-1) -> probabilities (P, V) -------------
    def _mle(self, n: int, contexts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """p_ML(w | h) = c(h w) / c(h); returns probs and whether the context was seen."""
        pos, words, vals, total, _ = self._gather(n, contexts, use_cont=False)
        probs = np.zeros((len(contexts), self.config.vocab_size))
        seen = total > 0
        np.add.at(probs, (pos, words), vals / np.maximum(total[pos], 1))
        return probs, seen

    def _add_alpha(self, n: int, contexts: np.ndarray) -> np.ndarray:
        """p(w | h) = (c(h w) + α) / (c(h) + α V) (Laplace when α = 1)."""
        a, V = self.config.alpha, self.config.vocab_size
        pos, words, vals, total, _ = self._gather(n, contexts, use_cont=False)
        probs = np.full((len(contexts), V), a) / (total + a * V)[:, None]
        np.add.at(probs, (pos, words), vals / (total[pos] + a * V))
        return probs

    def _interp(self, n: int, contexts: np.ndarray) -> np.ndarray:
        """p(w | h) = Σ_k λ_k p_ML(w | last k-1 of h); λs of unseen contexts are renormalised away."""
        lambdas = np.asarray(self.config.lambdas[:n], dtype=np.float64)
        if len(lambdas) < n or np.any(lambdas < 0) or lambdas.sum() <= 0:
            raise ValueError(f"need {n} non-negative interpolation weights with a positive sum")
        mix = np.zeros((len(contexts), self.config.vocab_size))
        weight = np.zeros(len(contexts))
        for k in range(1, n + 1):
            p, seen = self._mle(k, contexts[:, n - k :])
            w = lambdas[k - 1] * seen
            mix += w[:, None] * p
            weight += w
        # Every order with weight has an unseen context (λ₃ = 0 and c(h) = 0 above): 0/0, uniform as in MLE.
        none = weight == 0
        mix[none], weight[none] = 1.0 / self.config.vocab_size, 1.0
        return mix / weight[:, None]

    def _kn(self, n: int, contexts: np.ndarray, top: int) -> np.ndarray:
        """Interpolated Kneser–Ney (Chen & Goodman 1998): raw counts at the top order,
        continuation counts below, each level mixing in the next lower one; order 0 is uniform."""
        V = self.config.vocab_size
        if n == 0:
            return np.full((len(contexts), V), 1.0 / V)
        lower = self._kn(n - 1, contexts[:, 1:], top)
        use_cont = n < top
        pos, words, vals, total, types = self._gather(n, contexts, use_cont)
        D = (self._disc_cont if use_cont else self._disc_raw)[n - 1]
        seen = total > 0
        safe = np.where(seen, total, 1.0)
        backoff = np.where(seen, D * types / safe, 1.0)
        probs = lower * backoff[:, None]
        np.add.at(probs, (pos, words), np.maximum(vals - D, 0.0) / safe[pos])
        return probs

    def distributions(self, contexts: np.ndarray) -> np.ndarray:
        """Next-token probabilities (P, V) for context rows (P, order-1) under the configured estimator."""
        c = self.config
        contexts = np.asarray(contexts, dtype=np.int64)  # (P, order-1)
        if c.estimator == "mle":
            probs, seen = self._mle(c.order, contexts)
            # An unseen context leaves c(h) = 0: MLE is undefined there; fall back to uniform.
            probs[~seen] = 1.0 / c.vocab_size
            return probs
        if c.estimator == "add":
            return self._add_alpha(c.order, contexts)
        if c.estimator == "interp":
            return self._interp(c.order, contexts)
        return self._kn(c.order, contexts, c.order)

    def prob(self, context: list[int], word: int) -> float:
        """p(word | last order-1 tokens of context) under the configured estimator."""
        ctx = self._last_contexts(np.asarray([list(context)], dtype=np.int64).reshape(1, -1))
        return float(self.distributions(ctx)[0, word])

    # ----- the shared contract --------------------------------------------------------------
    def _pad_context(self, idx: np.ndarray) -> np.ndarray:
        """Left-pad with ``<eos>`` so the first tokens have a full context (a text starts after an end)."""
        k = max(self.config.max_order - 1, 1)
        return np.concatenate([np.full((idx.shape[0], k), EOS_ID, dtype=np.int64), idx], axis=1)

    def _contexts(self, idx: np.ndarray) -> np.ndarray:
        """Context rows (B*T, order-1) for predicting the token after each position."""
        B, T = idx.shape
        k = self.config.order - 1
        if k == 0:
            return np.zeros((B * T, 0), dtype=np.int64)
        padded = self._pad_context(idx)  # (B, pad+T)
        start = padded.shape[1] - T  # column of idx[:, 0] in padded
        windows = np.lib.stride_tricks.sliding_window_view(padded, k, axis=1)  # (B, pad+T-k+1, k)
        return windows[:, start - k + 1 : start - k + 1 + T].reshape(B * T, k)

    def _last_contexts(self, idx: np.ndarray) -> np.ndarray:
        """Context rows (B, order-1) for predicting the token after each row's end."""
        padded = self._pad_context(idx)  # (B, pad+T)
        return padded[:, padded.shape[1] - (self.config.order - 1) :]

    @staticmethod
    def _log(probs: np.ndarray) -> torch.Tensor:
        """Probabilities -> float32 log-probabilities, −inf where a token is impossible."""
        with np.errstate(divide="ignore"):
            return torch.from_numpy(np.log(probs).astype(np.float32))

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """Log-probabilities (B, T, V) of the token after each position; mean NLL if targets given."""
        B, T = idx.shape
        probs = self.distributions(self._contexts(idx.cpu().numpy().astype(np.int64)))
        logits = self._log(probs).view(B, T, -1).to(idx.device)
        loss = None
        if targets is not None:
            loss = F.nll_loss(logits.view(B * T, -1), targets.reshape(-1), reduction="mean")
        return logits, loss

    def last_logits(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, V) log-probabilities of the token after each row: one context per row, not per position."""
        probs = self.distributions(self._last_contexts(ids.cpu().numpy().astype(np.int64)))
        return self._log(probs).to(ids.device)

    def trace(self, idx: torch.Tensor) -> NGramTrace:
        """Context, c(h) and c(h w) per position, with the log-probabilities."""
        arr = idx.cpu().numpy().astype(np.int64)[:1]
        ctx = self._contexts(arr)
        n = self.config.order
        _, _, _, total, _ = self._gather(n, ctx, use_cont=False)
        nxt = np.zeros(len(ctx), dtype=np.int64)
        for t in range(len(ctx) - 1):
            nxt[t] = self.count(tuple(ctx[t]) + (int(arr[0, t + 1]),))
        logits, _ = self.forward(idx[:1])
        return NGramTrace([tuple(map(int, c)) for c in ctx], total.astype(np.int64), nxt, logits)

    def num_parameters(self) -> int:
        """Stored counts (the n-gram's 'parameters')."""
        return int(sum(len(t.counts) for t in self.tables))

    # ----- storage: plain numpy arrays ------------------------------------------------------
    def save(self, path: Path | str, extra: dict) -> None:
        """Compressed .npz of uint tables plus a JSON header (config + ``extra``)."""
        header = {"config": asdict(self.config), **extra}
        arrays = {"header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)}
        for n, t in enumerate(self.tables, start=1):
            arrays[f"grams{n}"] = t.grams
            arrays[f"counts{n}"] = t.counts
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        Path(path).write_bytes(buf.getvalue())

    @classmethod
    def load(cls, path: Path | str) -> tuple[NGramLM, dict]:
        """Inverse of ``save``; never unpickles."""
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode())
            cfg = header.pop("config")
            cfg["lambdas"] = tuple(cfg["lambdas"])
            config = NGramConfig(**cfg)
            tables = [_Table(z[f"grams{n}"], z[f"counts{n}"]) for n in range(1, config.max_order + 1)]
        return cls(config, tables), header
