"""Figures of decoding: the next-token distribution through temperature and truncation, and the trade-off."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .palette import CATEGORICAL
from .plotting import axis_names, grid_layout, panel_axes, plot_text, safe_labels

DROPPED_GREY = "#c8c8c8"
STAGE_COLOURS = (CATEGORICAL[4], CATEGORICAL[2])  # the model's p, then after temperature; kept tokens are blue


def distribution_figure(words: Sequence[str], stages: Sequence[tuple[str, np.ndarray]], kept: np.ndarray) -> go.Figure:
    """One panel per stage (model p, after temperature, after truncation), bars over the same tokens.

    ``stages`` are (title, probabilities over ``words``); ``kept`` marks the tokens truncation keeps.
    """
    x = [f"{i + 1}. {w}" for i, w in enumerate(safe_labels(words))]
    colours = np.where(kept, CATEGORICAL[0], DROPPED_GREY)
    n = len(stages)
    layout = grid_layout(n, 1, [plot_text(title) for title, _ in stages], vgap=0.1,
                         xaxis=dict(showticklabels=False, tickangle=-45),
                         yaxis=dict(rangemode="tozero", title=dict(text="probability")),
                         height=220 * n + 60, showlegend=False, margin=dict(l=10, r=10, t=40, b=10))
    layout[axis_names(n - 1)[0]]["showticklabels"] = True  # token labels once, under the last panel
    data = [go.Bar(x=x, y=probs.astype(np.float32), marker_color=colours if i == n - 1 else STAGE_COLOURS[i % 2],
                   hovertemplate="%{x}<br>p = %{y:.4f}<extra>" + plot_text(title) + "</extra>", **panel_axes(i))
            for i, (title, probs) in enumerate(stages)]
    return go.Figure(data=data, layout=layout)


def tradeoff_figure(series: dict[str, list[tuple[str, float, float]]], greedy: tuple[float, float] | None,
                    title: str) -> go.Figure:
    """Quality (mean log-likelihood per token) against diversity (distinct-2): one line per knob swept."""
    data = []
    for i, (knob, points) in enumerate(series.items()):
        labels, diversity, quality = zip(*points, strict=True)
        data.append(go.Scatter(
            x=np.asarray(diversity, dtype=np.float32), y=np.asarray(quality, dtype=np.float32),
            mode="lines+markers+text", text=[plot_text(s) for s in labels], textposition="top center",
            name=plot_text(knob), line=dict(color=CATEGORICAL[i % len(CATEGORICAL)]),
            hovertemplate="%{text}<br>distinct-2 = %{x:.3f}<br>mean log p = %{y:.3f}<extra></extra>",
        ))
    if greedy is not None:
        data.append(go.Scatter(x=[greedy[0]], y=[greedy[1]], mode="markers+text", text=["greedy"],
                               textposition="bottom center", name="greedy",
                               marker=dict(symbol="star", size=14, color="#000000"),
                               hovertemplate="greedy<br>distinct-2 = %{x:.3f}<br>mean log p = %{y:.3f}"
                                             "<extra></extra>"))
    return go.Figure(data=data, layout=dict(
        title=dict(text=plot_text(title)), height=460, margin=dict(l=10, r=10, t=60, b=10),
        xaxis=dict(title=dict(text="diversity: distinct-2 over the samples (higher = more varied)")),
        yaxis=dict(title=dict(text="quality: mean log p per token under the transformer")),
        legend=dict(title=dict(text="knob swept")),
    ))


def generation_figure(probs: Sequence[Sequence[float]], ranks: Sequence[Sequence[int]],
                      words: Sequence[Sequence[str]]) -> go.Figure:
    """p(token) under the model at each generated step, one line per sample; ✕ marks a token that was not the top."""
    data = []
    for i, (p, r, w) in enumerate(zip(probs, ranks, words, strict=True)):
        r = np.asarray(r)
        data.append(go.Scatter(
            x=np.arange(1, len(p) + 1), y=np.asarray(p, dtype=np.float32), mode="lines+markers",
            name=f"sample {i + 1}", line=dict(color=CATEGORICAL[i % len(CATEGORICAL)]),
            marker=dict(symbol=np.where(r > 1, "x", "circle"), size=np.where(r > 1, 11, 7)),
            customdata=np.stack([np.asarray(safe_labels(w), dtype=object), r.astype(object)], axis=-1),
            hovertemplate="step %{x}: %{customdata[0]}<br>p = %{y:.3f}, rank %{customdata[1]}<extra></extra>",
        ))
    return go.Figure(data=data, layout=dict(
        height=300, margin=dict(l=10, r=10, t=30, b=10),
        xaxis=dict(title=dict(text="generated token")),
        yaxis=dict(title=dict(text="p(token) under the model"), range=[0, 1.02]),
        legend=dict(title=dict(text="✕ = not the most likely")),
    ))
