"""Figures of the neural LM page: Bengio's window step by step, window cost, cosines, the embedding map, analogies."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .palette import CATEGORICAL, DIVERGING
from .plotting import grid_layout, panel_axes, plot_text, safe_labels

OTHER_GREY = "#bdbdbd"
MARGIN = dict(l=10, r=10, t=40, b=10)


def walk_figure(context: Sequence[str], rows: np.ndarray, hidden: np.ndarray, top_words: Sequence[str],
                top_probs: np.ndarray) -> go.Figure:
    """Three panels: the k rows of C (k × d), the hidden layer h (H), the softmax's top words."""
    k, d = rows.shape
    words = [f"w(t−{k - i}) {w}" for i, w in enumerate(safe_labels(context))]
    layout = grid_layout(3, 1, [f"rows of C picked by the one-hot vectors ({k} × d = {d}), concatenated: x",
                                f"hidden layer h = tanh(x W₁ + b₁) ({len(hidden)} units)",
                                "softmax(h W₂ + b₂): the 10 most probable next words"],
                         vgap=0.1, height=620, showlegend=False, margin=MARGIN)
    layout["yaxis"].update(autorange="reversed")
    layout["yaxis2"].update(showticklabels=False)
    layout["xaxis3"].update(tickangle=-30)
    layout["yaxis3"].update(title=dict(text="probability"), rangemode="tozero")
    data = [
        go.Heatmap(z=rows.astype(np.float32), y=words, colorscale=DIVERGING, zmid=0.0, showscale=False,
                   hovertemplate="%{y}<br>dimension %{x}: %{z:.3f}<extra></extra>", **panel_axes(0)),
        go.Heatmap(z=hidden.astype(np.float32)[None, :], zmin=-1.0, zmax=1.0, colorscale=DIVERGING, showscale=False,
                   hovertemplate="unit %{x}: h = %{z:.3f}<extra></extra>", **panel_axes(1)),
        go.Bar(x=[f"{i + 1}. {w}" for i, w in enumerate(safe_labels(top_words))], y=top_probs.astype(np.float32),
               marker_color=CATEGORICAL[0], hovertemplate="%{x}<br>p = %{y:.4f}<extra></extra>", **panel_axes(2)),
    ]
    return go.Figure(data=data, layout=layout)


def window_cost_figure(ks: np.ndarray, first_layer: np.ndarray, one_hot_layer: np.ndarray, rest: int,
                       k: int) -> go.Figure:
    """Weights against the window size k (log scale): W₁ on embeddings, W₁ on one-hot vectors, everything else."""
    x = ks.astype(np.float32)
    data = [
        go.Scatter(x=x, y=first_layer.astype(np.float32), mode="lines+markers", name="W₁ on embeddings: k·d·H",
                   line=dict(color=CATEGORICAL[0])),
        go.Scatter(x=x, y=one_hot_layer.astype(np.float32), mode="lines+markers", name="W₁ on one-hot inputs: k·V·H",
                   line=dict(color=CATEGORICAL[1], dash="dash")),
        go.Scatter(x=x, y=np.full(len(x), rest, dtype=np.float32), mode="lines", name="C, b₁, W₂, b₂ (any k)",
                   line=dict(color=CATEGORICAL[2], dash="dot")),
    ]
    layout = dict(xaxis=dict(type="log", title=dict(text="window k (words)"), tickvals=x.tolist()),
                  yaxis=dict(type="log", title=dict(text="weights")), height=340, margin=MARGIN,
                  shapes=[dict(type="line", x0=k, x1=k, yref="paper", y0=0, y1=1, line=dict(dash="dot"))],
                  legend=dict(orientation="h", y=-0.25), title=dict(text=f"this model: k = {k}"))
    return go.Figure(data=data, layout=layout)


def edit_figure(names: Sequence[str], max_change: np.ndarray) -> go.Figure:
    """Largest change of log p over the vocabulary, per model, after the edit (bars; 0 is drawn as 0)."""
    text = [f"{v:.2g}" if v else "0 (exactly)" for v in max_change]
    data = [go.Bar(x=safe_labels(names), y=max_change.astype(np.float32), text=text, textposition="outside",
                   marker_color=[CATEGORICAL[i % len(CATEGORICAL)] for i in range(len(names))],
                   hovertemplate="%{x}<br>max |Δ log p| = %{y:.4g}<extra></extra>")]
    layout = dict(yaxis=dict(title=dict(text="max over words of |Δ log p(w)|"), rangemode="tozero"),
                  height=320, margin=MARGIN, showlegend=False)
    return go.Figure(data=data, layout=layout)


def cosine_pairs_figure(words: Sequence[str], one_hot: np.ndarray, embedded: np.ndarray, model: str) -> go.Figure:
    """Two cosine matrices over the same words: one-hot vectors (identity) and the model's embeddings."""
    labels = safe_labels(words)
    layout = grid_layout(1, 2, ["one-hot vectors", f"embeddings of {plot_text(model)}"], hgap=0.12, height=420,
                         margin=dict(l=10, r=10, t=40, b=10),
                         yaxis=dict(autorange="reversed"), xaxis=dict(tickangle=-45))
    data = [go.Heatmap(z=m.astype(np.float32), x=labels, y=labels, zmin=-1.0, zmax=1.0, colorscale=DIVERGING,
                       showscale=i == 1, texttemplate="%{z:.2f}", hovertemplate="cos(%{y}, %{x}) = %{z:.3f}"
                       "<extra></extra>", **panel_axes(i))
            for i, m in enumerate((one_hot, embedded))]
    return go.Figure(data=data, layout=layout)


def map_figure(words: Sequence[str], xy: np.ndarray, category: Sequence[str], in_sentence: np.ndarray,
               order: Sequence[str], explained: np.ndarray, model: str) -> go.Figure:
    """Words on the first two principal axes: grey without a category, one colour per category, sentence words
    labelled and ringed."""
    labels = np.array(safe_labels(words), dtype=object)
    cats = np.array(category, dtype=object)
    data = []
    for i, name in enumerate(("", *order)):
        rows = cats == name
        if not rows.any():
            continue
        colour = OTHER_GREY if not name else CATEGORICAL[(i - 1) % 7]
        data.append(go.Scattergl(x=xy[rows, 0], y=xy[rows, 1], mode="markers", name=plot_text(name or "other"),
                                 text=labels[rows], marker=dict(color=colour, size=6 if name else 4),
                                 hovertemplate="%{text}<extra>" + plot_text(name or "other") + "</extra>"))
    mark = np.asarray(in_sentence, dtype=bool)
    if mark.any():
        data.append(go.Scatter(x=xy[mark, 0], y=xy[mark, 1], mode="markers+text", name="your sentence",
                               text=labels[mark], textposition="top center",
                               marker=dict(size=12, color="rgba(0,0,0,0)", line=dict(color=CATEGORICAL[7], width=2)),
                               hovertemplate="%{text}<extra>your sentence</extra>"))
    layout = dict(height=560, margin=MARGIN, legend=dict(orientation="h", y=-0.08),
                  title=dict(text=plot_text(f"{model}: unit-length embeddings on their first two principal axes")),
                  xaxis=dict(title=dict(text=f"PC 1 ({explained[0]:.1%} of the variance)"), zeroline=False),
                  yaxis=dict(title=dict(text=f"PC 2 ({explained[1]:.1%})"), zeroline=False))
    return go.Figure(data=data, layout=layout)


def neighbours_figure(words: Sequence[str], cosines: np.ndarray, title: str) -> go.Figure:
    """Horizontal bars: the nearest words by cosine, nearest on top."""
    data = [go.Bar(y=safe_labels(words), x=cosines.astype(np.float32), orientation="h", marker_color=CATEGORICAL[0],
                   hovertemplate="%{y}: cos = %{x:.3f}<extra></extra>")]
    layout = dict(yaxis=dict(autorange="reversed"), xaxis=dict(title=dict(text="cosine")), height=340,
                  margin=MARGIN, title=dict(text=plot_text(title)))
    return go.Figure(data=data, layout=layout)


def analogy_ranks_figure(names: Sequence[str], ranks: Sequence[int], expected: str) -> go.Figure:
    """Where the expected answer lands in each model's ranking (log scale, rank 1 on top; the first 10 shaded)."""
    r = np.asarray(ranks, dtype=np.float32)
    data = [go.Scatter(x=safe_labels(names), y=r, mode="markers+text", text=[f"rank {int(v):,}" for v in r],
                       textposition="middle right", marker=dict(size=14, color=CATEGORICAL[0]),
                       hovertemplate="%{x}: rank %{y:,}<extra></extra>")]
    layout = dict(yaxis=dict(type="log", title=dict(text=plot_text(f"rank of '{expected}' (1 = top)")),
                             autorange="reversed"), height=340, margin=MARGIN, showlegend=False,
                  shapes=[dict(type="rect", xref="paper", x0=0, x1=1, y0=0.8, y1=10.5, line=dict(width=0),
                               fillcolor="rgba(0,114,178,0.12)")])
    return go.Figure(data=data, layout=layout)
