"""Held-out perplexity of the n-gram estimators from per-token counts: the α curve, the λ simplex, the table.

Every estimator except Kneser–Ney needs only c(h w) and c(h) of each token at each order, so the counts
are looked up once and any α or λ costs one vectorised formula. ``probabilities`` is the same formula as
``NGramLM.distributions`` at the token's id (tested), and the page uses it for its sliders.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .ngram import NGramLM

ALPHA_GRID = tuple(float(a) for a in np.round(np.logspace(-4, 1, 26), 10))  # 5 per decade, 1e-4 .. 10
LAMBDA_STEP = 0.05  # the λ grid on the simplex


@dataclass
class TokenCounts:
    """c(h w) and c(h) of every scored token at each order n = 1..N (h = the n−1 tokens before it)."""

    targets: np.ndarray  # (T,) ids of the scored tokens
    c_hw: np.ndarray  # (N, T) c(h w) for the order-(n) context h
    c_h: np.ndarray  # (N, T) c(h) = Σ_v c(h v)
    vocab_size: int


def token_counts(model: NGramLM, ids: np.ndarray) -> TokenCounts:
    """Counts behind p(ids[t] | ids[t−n+1..t−1]) for t = 1..len−1, the context padded with <eos> as the model pads."""
    ids = np.asarray(ids, dtype=np.int64)
    N = model.config.max_order
    padded = np.concatenate([np.full(N - 1, ids[0]), ids])  # ids[0] is the start <eos>
    windows = np.lib.stride_tricks.sliding_window_view(padded, N)[1:]  # (T, N): row t ends at ids[t+1]
    c_hw, c_h = zip(*(model.gram_counts(windows[:, N - n :]) for n in range(1, N + 1)), strict=True)
    return TokenCounts(ids[1:], np.stack(c_hw), np.stack(c_h), model.config.vocab_size)


def mle(c: TokenCounts, order: int) -> np.ndarray:
    """p_ML = c(h w) / c(h); 1/V where c(h) = 0 (0/0 is undefined: the model falls back to uniform there)."""
    hw, h = c.c_hw[order - 1], c.c_h[order - 1]
    return np.where(h > 0, hw / np.maximum(h, 1), 1.0 / c.vocab_size)


def add_alpha(c: TokenCounts, order: int, alpha: float) -> np.ndarray:
    """p = (c(h w) + α) / (c(h) + α V)."""
    return (c.c_hw[order - 1] + alpha) / (c.c_h[order - 1] + alpha * c.vocab_size)


def interpolated(c: TokenCounts, lambdas: tuple[float, ...]) -> np.ndarray:
    """p = Σ_k λ_k p_ML(order k) over the orders whose context was seen, divided by their Σ λ_k.

    ``lambdas`` are unigram first, one per order (the model's convention); the lecture's λ₁ is the last.
    """
    lam = np.asarray(lambdas, dtype=np.float64)[:, None]  # (n, 1)
    n = len(lambdas)
    seen = c.c_h[:n] > 0  # (n, T)
    p_ml = np.where(seen, c.c_hw[:n] / np.maximum(c.c_h[:n], 1), 0.0)
    weight = (lam * seen).sum(0)
    mix = (lam * p_ml).sum(0)
    return np.where(weight > 0, mix / np.where(weight > 0, weight, 1.0), 1.0 / c.vocab_size)


def probabilities(c: TokenCounts, estimator: str, order: int, alpha: float = 1.0,
                  lambdas: tuple[float, ...] = (0.1, 0.3, 0.6)) -> np.ndarray:
    """p(token | context) of every token for one of "mle", "add", "interp" (Kneser–Ney needs the model)."""
    if estimator == "mle":
        return mle(c, order)
    if estimator == "add":
        return add_alpha(c, order, alpha)
    if estimator == "interp":
        return interpolated(c, tuple(lambdas[:order]))
    raise ValueError(f"no per-token formula for {estimator!r}")


@dataclass(frozen=True)
class Perplexity:
    """exp(−mean log p), infinite when a token has p = 0; how many tokens have p = 0."""

    value: float
    zero_tokens: int
    tokens: int

    @property
    def zero_share(self) -> float:
        return self.zero_tokens / self.tokens if self.tokens else 0.0

    def as_dict(self) -> dict:
        """JSON-safe: an infinite perplexity is null, with the zero-probability tokens beside it."""
        value = round(self.value, 4) if math.isfinite(self.value) else None
        return {"ppl": value, "zero_tokens": self.zero_tokens, "zero_share": round(self.zero_share, 6)}


def perplexity(p: np.ndarray) -> Perplexity:
    """PPL = exp(−(1/T) Σ log p_t); ∞ (never NaN) when some p_t = 0."""
    zero = int(np.sum(p <= 0))
    if zero or len(p) == 0:
        return Perplexity(math.inf if zero else math.nan, zero, len(p))
    return Perplexity(float(np.exp(-np.mean(np.log(p)))), 0, len(p))


def simplex_grid(step: float = LAMBDA_STEP) -> np.ndarray:
    """(G, 3) weights (λ₁ trigram, λ₂ bigram, λ₃ unigram) on the simplex, in steps of ``step``."""
    k = round(1 / step)
    rows = [(i, j, k - i - j) for i in range(k + 1) for j in range(k + 1 - i)]
    return np.asarray(rows, dtype=np.float64) / k


def lecture_to_model(lecture: tuple[float, ...]) -> tuple[float, ...]:
    """The lecture's λ₁ (highest order) … λ_n (unigram) -> the model's unigram-first weights."""
    return tuple(float(x) for x in reversed(lecture))


def curves(model: NGramLM, ids: np.ndarray) -> dict:
    """Perplexity of ``ids`` over the α grid (orders 1–3), over the λ simplex (order 3) and the λ line (order 2),
    with the best setting of each; plain JSON for the manifest."""
    c = token_counts(model, ids)
    out: dict = {"tokens": len(c.targets), "alpha_grid": list(ALPHA_GRID), "add_alpha": {}, "interpolation": {}}
    for n in range(1, model.config.max_order + 1):
        ppl = [perplexity(add_alpha(c, n, a)).value for a in ALPHA_GRID]
        best = int(np.argmin(ppl))
        out["add_alpha"][str(n)] = {"ppl": [round(v, 4) for v in ppl], "best_alpha": ALPHA_GRID[best],
                                    "best_ppl": round(ppl[best], 4)}
    for n in range(2, model.config.max_order + 1):
        grid = simplex_grid() if n == 3 else np.stack([np.linspace(0, 1, 21), 1 - np.linspace(0, 1, 21)], 1)
        scored = [perplexity(interpolated(c, lecture_to_model(tuple(g)))) for g in grid]
        finite = [s.value if math.isfinite(s.value) else math.inf for s in scored]
        best = int(np.argmin(finite))
        out["interpolation"][str(n)] = {
            "lambdas": np.round(grid, 4).tolist(),  # lecture order: λ₁ = the highest order
            "ppl": [s.as_dict()["ppl"] for s in scored],
            "best_lambdas": np.round(grid[best], 4).tolist(), "best_ppl": round(finite[best], 4),
        }
    return out


def _row(p: np.ndarray) -> dict:
    result = perplexity(p)
    return {"ppl": result.as_dict()["ppl"], "zero_tokens": result.zero_tokens, "tokens": result.tokens}


def counted_table(model: NGramLM, ids: np.ndarray, found: dict) -> dict:
    """Perplexity of ``ids`` for orders 1–3 × {MLE, add-α at the best α, interpolation at the best λ} from the
    curves ``found`` (the evaluator gives the same numbers: tested); Kneser–Ney needs the model's evaluator."""
    c = token_counts(model, ids)
    rows = {}
    for n in range(1, model.config.max_order + 1):
        best = found["interpolation"][str(n)]["best_lambdas"] if n > 1 else [1.0]
        rows[str(n)] = {"mle": _row(mle(c, n)),
                        "add_alpha": _row(add_alpha(c, n, found["add_alpha"][str(n)]["best_alpha"])),
                        "interpolation": _row(interpolated(c, lecture_to_model(tuple(best))))}
    return rows
