"""Figures of the model comparison: the perplexity ladder, surprisal per token and model, loss by position."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .palette import CATEGORICAL, SEQUENTIAL
from .plotting import plot_text, safe_labels


def ladder_figure(ours: Mapping[str, float], lecture: Mapping[str, float]) -> go.Figure:
    """Both ladders as ratios to their own n-gram (1 at the bottom rung), side by side."""
    fig = go.Figure()
    for i, (title, ladder) in enumerate((("the lecture's (deck 002)", lecture), ("ours (TinyStories valid)", ours))):
        names = list(ladder)
        fig.add_trace(go.Bar(
            x=[plot_text(n) for n in names], y=np.asarray(list(ladder.values()), dtype=np.float32),
            name=title, marker_color=CATEGORICAL[i], xaxis="x" if i == 0 else "x2",
            text=[f"{v:.2f}" for v in ladder.values()], textposition="outside",
            hovertemplate="%{x}: %{y:.3f} × the n-gram's perplexity<extra>" + plot_text(title) + "</extra>",
        ))
    fig.update_layout(
        height=360, margin=dict(l=10, r=10, t=40, b=10), showlegend=True,
        xaxis=dict(domain=[0, 0.38]), xaxis2=dict(domain=[0.45, 1], anchor="y"),
        yaxis=dict(title="perplexity ÷ the ladder's n-gram", range=[0, 1.2]),
        title=dict(text="each step up the ladder, as a ratio to its own n-gram", font=dict(size=14)),
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def perplexity_params_figure(params: Mapping[str, int], perplexity: Mapping[str, float]) -> go.Figure:
    """Valid perplexity against parameter count (log x), one labelled point per model."""
    names = list(params)
    fig = go.Figure(go.Scatter(
        x=np.asarray([params[n] for n in names], dtype=np.float64), y=[perplexity[n] for n in names],
        mode="markers+text", text=safe_labels(names), textposition="top center",
        marker=dict(size=12, color=[CATEGORICAL[i % len(CATEGORICAL)] for i in range(len(names))]),
        hovertemplate="%{text}: %{x:,} parameters, perplexity %{y:.2f}<extra></extra>",
    ))
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=40, b=10),
                      title=dict(text="valid perplexity against parameters", font=dict(size=14)),
                      xaxis=dict(title="parameters (log scale)", type="log"), yaxis=dict(title="valid perplexity"))
    return fig


def surprisal_figure(surprisal: np.ndarray, models: Sequence[str], tokens: Sequence[str],
                     winners: np.ndarray) -> go.Figure:
    """Models × tokens heatmap of −log₂ p (bits), viridis: dark = expected, yellow = surprising; ★ marks the
    model that found each token least surprising."""
    labels = [f"{t + 1}. {w}" for t, w in enumerate(safe_labels(tokens))]
    rows = [plot_text(m) for m in models]
    fig = go.Figure(go.Heatmap(
        z=surprisal.astype(np.float32), x=labels, y=rows, colorscale=SEQUENTIAL, zmin=0,
        colorbar=dict(title="bits"), hovertemplate="%{y} on %{x}: %{z:.2f} bits<extra></extra>",
    ))
    fig.add_trace(go.Scatter(x=labels, y=[rows[w] for w in winners], mode="text", text=["★"] * len(labels),
                             textfont=dict(color="white", size=14), hoverinfo="skip", showlegend=False))
    fig.update_layout(height=120 + 42 * len(models), margin=dict(l=10, r=10, t=30, b=10),
                      xaxis=dict(tickangle=-45), yaxis=dict(autorange="reversed"))
    return fig


def rank_figure(ranks: np.ndarray, tokens: Sequence[str], shades: Sequence[float], model: str) -> go.Figure:
    """The rank of each true token under one model (log y, 1 = its first choice), bars coloured by rank band."""
    labels = [f"{t + 1}. {w}" for t, w in enumerate(safe_labels(tokens))]
    fig = go.Figure(go.Bar(
        x=labels, y=np.asarray(ranks, dtype=np.float32), marker=dict(color=list(shades), colorscale=SEQUENTIAL,
                                                                    cmin=0, cmax=1),
        hovertemplate="%{x}: rank %{y:,}<extra></extra>",
    ))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10), xaxis=dict(tickangle=-45),
                      title=dict(text=f"rank of each token under {plot_text(model)} (1 = its first choice)",
                                 font=dict(size=14)),
                      yaxis=dict(title="rank (log scale; taller = less expected)", type="log"))
    return fig


def position_figure(curves: Mapping[str, np.ndarray]) -> go.Figure:
    """Mean loss (nats) at each position 1..P of a text read from scratch, one line per model."""
    fig = go.Figure()
    for i, (name, nats) in enumerate(curves.items()):
        fig.add_trace(go.Scatter(x=np.arange(1, len(nats) + 1), y=np.asarray(nats, dtype=np.float32),
                                 mode="lines", name=plot_text(name), line=dict(color=CATEGORICAL[i % 8], width=2),
                                 hovertemplate="position %{x}: %{y:.3f} nats<extra>" + plot_text(name) + "</extra>"))
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=40, b=10),
                      title=dict(text="loss at each position, TinyStories valid (each block read from scratch)",
                                 font=dict(size=14)),
                      xaxis=dict(title="position t: tokens of context before the predicted one (log scale)", type="log",
                                 tickvals=[1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64]),
                      yaxis=dict(title="mean −log p (nats)"), legend_title_text="model")
    return fig
