"""Figures of the n-gram lecture: the count table, probabilities per token, the α curve, the λ simplex."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .palette import CATEGORICAL, HIGHLIGHT, SEQUENTIAL
from .plotting import plot_text, safe_labels

ZERO_GREY = "#bdbdbd"


def count_table_figure(words: Sequence[str], table: np.ndarray, unigram: np.ndarray) -> go.Figure:
    """The bigram count table as the lecture draws it: rows = previous word (with its unigram count c(w)),
    columns = next word; log colour, zero cells grey."""
    labels = safe_labels(words)
    z = np.where(table > 0, np.log10(np.maximum(table, 1)), np.nan).astype(np.float32)  # (W, W)
    zero = np.where(table == 0, 0.0, np.nan).astype(np.float32)
    text = table.astype(str)
    shown = np.where(table > 0, text, "")  # each cell's number written once, by the trace that colours it
    rows = [f"{w} ({c:,})" for w, c in zip(labels, unigram, strict=True)]  # the unigram count beside each row
    data = [
        go.Heatmap(z=z, x=labels, y=rows, colorscale=SEQUENTIAL, text=shown, texttemplate="%{text}",
                   customdata=text, colorbar=dict(title=dict(text="log₁₀ count")),
                   hovertemplate="c(%{y} %{x}) = %{customdata}<extra></extra>"),
        go.Heatmap(z=zero, x=labels, y=rows, colorscale=[[0, ZERO_GREY], [1, ZERO_GREY]], showscale=False,
                   text=np.where(table == 0, "0", ""), texttemplate="%{text}", hoverinfo="skip"),
    ]
    return go.Figure(data=data, layout=dict(
        height=max(320, 28 * len(words) + 140), margin=dict(l=10, r=10, t=30, b=10),
        xaxis=dict(title=dict(text="next word w"), side="top", tickangle=-45),
        yaxis=dict(title=dict(text="previous word (its count c(w))"), autorange="reversed"),
    ))


def token_probability_figure(tokens: Sequence[str], series: dict[str, np.ndarray], log: bool = True) -> go.Figure:
    """p(w_t | context) per token, one bar group per estimator; a zero is drawn as a red ✕ at the bottom."""
    x = [f"{i + 1}. {t}" for i, t in enumerate(safe_labels(tokens))]
    data = []
    for i, (name, p) in enumerate(series.items()):
        p = np.asarray(p, dtype=np.float64)
        data.append(go.Bar(x=x, y=np.where(p > 0, p, np.nan).astype(np.float32), name=plot_text(name),
                           marker_color=CATEGORICAL[i % len(CATEGORICAL)],
                           hovertemplate="%{x}<br>p = %{y:.3g}<extra>" + plot_text(name) + "</extra>"))
        if np.any(p <= 0):
            zeros = [x[t] for t in np.flatnonzero(p <= 0)]
            data.append(go.Scatter(x=zeros, y=np.full(len(zeros), 1e-7 if log else 0.0, dtype=np.float32),
                                   mode="markers", marker=dict(symbol="x", size=12, color=HIGHLIGHT),
                                   name=plot_text(f"{name}: p = 0"), hovertemplate="%{x}: p = 0<extra></extra>"))
    return go.Figure(data=data, layout=dict(
        barmode="group", height=360, margin=dict(l=10, r=10, t=30, b=10),
        yaxis=dict(title=dict(text="p(w | context)"), type="log" if log else "linear"),
        xaxis=dict(tickangle=-45), legend=dict(orientation="h", y=1.12),
    ))


def alpha_curve_figure(alphas: Sequence[float], curves: dict[str, Sequence[float]], chosen: float,
                       chosen_ppl: dict[str, float]) -> go.Figure:
    """Held-out perplexity against α (log x), one line per order; the student's α as a dashed line and markers."""
    data = []
    for i, (name, ppl) in enumerate(curves.items()):
        colour = CATEGORICAL[i % len(CATEGORICAL)]
        data.append(go.Scatter(x=np.asarray(alphas, dtype=np.float32), y=np.asarray(ppl, dtype=np.float32),
                               mode="lines+markers", name=plot_text(name), line=dict(color=colour),
                               hovertemplate="α = %{x:.2g}<br>perplexity %{y:.1f}<extra></extra>"))
        if name in chosen_ppl:
            data.append(go.Scatter(x=[chosen], y=[chosen_ppl[name]], mode="markers", showlegend=False,
                                   marker=dict(symbol="star", size=15, color=colour, line=dict(color="#000000",
                                                                                              width=1)),
                                   hovertemplate="your α = %{x:.2g}<br>perplexity %{y:.1f}<extra></extra>"))
    return go.Figure(data=data, layout=dict(
        height=360, margin=dict(l=10, r=10, t=30, b=10),
        xaxis=dict(type="log", title=dict(text="α (log scale)")),
        yaxis=dict(type="log", title=dict(text="perplexity on the valid split (log scale)")),
        shapes=[dict(type="line", x0=chosen, x1=chosen, yref="paper", y0=0, y1=1,
                     line=dict(dash="dash", color="#000000"))],
    ))


def unseen_mass_figure(alphas: np.ndarray, mass: np.ndarray, chosen: float, context: str) -> go.Figure:
    """Probability add-α gives to the words never seen after the context, against α; add-1 and the student's α."""
    return go.Figure(data=[go.Scatter(x=alphas.astype(np.float32), y=mass.astype(np.float32), mode="lines",
                                      line=dict(color=CATEGORICAL[0]), name="unseen words' mass",
                                      hovertemplate="α = %{x:.2g}: %{y:.1%} to unseen words<extra></extra>")],
                     layout=dict(height=300, margin=dict(l=10, r=10, t=40, b=10),
                                 title=dict(text=plot_text(f"after “{context}”")),
                                 xaxis=dict(type="log", title=dict(text="α (log scale)")),
                                 yaxis=dict(title=dict(text="mass on unseen words"), tickformat=".0%",
                                            range=[0, 1]),
                                 shapes=[dict(type="line", x0=a, x1=a, yref="paper", y0=0, y1=1,
                                              line=dict(dash=d, color="#000000"))
                                         for a, d in ((1.0, "dot"), (chosen, "dash"))]))


def mixture_figure(tokens: Sequence[str], parts: dict[str, np.ndarray]) -> go.Figure:
    """Interpolation per token: stacked bars of each order's share (λ_k p_k / Σ seen λ) in p(w_t)."""
    x = [f"{i + 1}. {t}" for i, t in enumerate(safe_labels(tokens))]
    data = [go.Bar(x=x, y=np.asarray(v, dtype=np.float32), name=plot_text(name),
                   marker_color=CATEGORICAL[i % len(CATEGORICAL)],
                   hovertemplate="%{x}<br>%{y:.4f}<extra>" + plot_text(name) + "</extra>")
            for i, (name, v) in enumerate(parts.items())]
    return go.Figure(data=data, layout=dict(
        barmode="stack", height=340, margin=dict(l=10, r=10, t=30, b=10), xaxis=dict(tickangle=-45),
        yaxis=dict(title=dict(text="p(w | context), by order")), legend=dict(orientation="h", y=1.12),
    ))


def simplex_figure(grid: np.ndarray, ppl: Sequence[float | None], chosen: tuple[float, float],
                   tuned: tuple[float, float]) -> go.Figure:
    """Held-out perplexity over (λ₁, λ₂) with λ₃ = 1 − λ₁ − λ₂ (log colour); blank cells: off the simplex or ∞."""
    steps = np.round(np.unique(grid[:, 0]), 4)
    z = np.full((len(steps), len(steps)), np.nan, dtype=np.float32)  # (λ₂, λ₁)
    index = {v: i for i, v in enumerate(steps)}
    for (l1, l2, _), v in zip(np.round(grid, 4), ppl, strict=True):
        if v is not None:
            z[index[l2], index[l1]] = np.log10(v)
    lo, hi = float(np.nanmin(z)), float(np.nanmax(z))
    ticks = [t for t in np.log10([20, 30, 40, 50, 70, 100, 150, 200, 300, 500, 1000]) if lo <= t <= hi]
    data = [
        go.Heatmap(z=z, x=steps.astype(np.float32), y=steps.astype(np.float32), colorscale=SEQUENTIAL + "_r",
                   colorbar=dict(title=dict(text="perplexity"), tickvals=ticks,
                                                    ticktext=[f"{10 ** t:.0f}" for t in ticks]),
                   hovertemplate="λ₁ = %{x:.2f}, λ₂ = %{y:.2f}<br>log₁₀ perplexity %{z:.3f}<extra></extra>"),
        go.Scatter(x=[tuned[0]], y=[tuned[1]], mode="markers", name="tuned λ",
                   marker=dict(symbol="circle-open", size=18, color="#000000", line=dict(width=3))),
        go.Scatter(x=[chosen[0]], y=[chosen[1]], mode="markers", name="your λ",
                   marker=dict(symbol="x", size=14, color=HIGHLIGHT)),
    ]
    return go.Figure(data=data, layout=dict(
        height=420, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=1.1),
        xaxis=dict(title=dict(text="λ₁ (trigram)"), range=[-0.03, 1.03]),
        yaxis=dict(title=dict(text="λ₂ (bigram)"), range=[-0.03, 1.03]),
    ))


def continuation_figure(words: Sequence[str], p_unigram: np.ndarray, p_cont: np.ndarray) -> go.Figure:
    """p_ML(w) = c(w)/N beside P_cont(w) = N1+(• w)/N1+(• •), log scale."""
    x = safe_labels(words)
    data = [go.Bar(x=x, y=np.asarray(p_unigram, dtype=np.float32), name="unigram p(w) = c(w)/N",
                   marker_color=CATEGORICAL[1], hovertemplate="%{x}: %{y:.3g}<extra>unigram</extra>"),
            go.Bar(x=x, y=np.asarray(p_cont, dtype=np.float32), name="continuation P_cont(w)",
                   marker_color=CATEGORICAL[0], hovertemplate="%{x}: %{y:.3g}<extra>continuation</extra>")]
    return go.Figure(data=data, layout=dict(
        barmode="group", height=320, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=1.12),
        yaxis=dict(type="log", title=dict(text="probability (log scale)")),
    ))
