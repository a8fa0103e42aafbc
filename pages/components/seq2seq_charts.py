"""Figures of seq2seq attention: the alignment heatmap, a context vector, and quality by source length."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .palette import CATEGORICAL
from .plotting import plot_text, safe_labels


def alignment_figure(alpha: np.ndarray, src_tokens: Sequence[str], out_tokens: Sequence[str], title: str,
                     height: int = 420) -> go.Figure:
    """Attention α as a heatmap: rows are output tokens, columns source tokens (Bahdanau et al. 2015, Fig. 3)."""
    cols = [f"{j + 1}. {t}" for j, t in enumerate(safe_labels(src_tokens))]
    rows = [f"{i + 1}. {t}" for i, t in enumerate(safe_labels(out_tokens))]
    fig = go.Figure(go.Heatmap(z=alpha.astype(np.float32), x=cols, y=rows, colorscale="Greys", reversescale=True,
                               zmin=0, zmax=1,
                               hovertemplate="output %{y}<br>source %{x}<br>α = %{z:.3f}<extra></extra>"))
    fig.update_layout(title_text=plot_text(title), height=height, margin=dict(l=10, r=10, t=50, b=10))
    # Categories: labels such as "1. 2" or "5. -" (dates) would otherwise make plotly guess a numeric axis.
    # A frame flush with the cells, so a white (α = 1) cell on the map's edge still reads as a cell on the white page.
    fig.add_shape(type="rect", x0=-0.5, x1=len(cols) - 0.5, y0=-0.5, y1=len(rows) - 0.5,
                  line=dict(color="#6b6b6b", width=1))
    fig.update_yaxes(autorange="reversed", title_text="output", type="category")
    # dtick 1: every source token is labelled, even on a narrow map (plotly would skip every other one).
    fig.update_xaxes(tickangle=-45, title_text="source", side="top", type="category", dtick=1)
    return fig


def by_length_figure(buckets: Sequence[str], series: Mapping[str, Sequence[float]], title: str,
                     y_title: str) -> go.Figure:
    """A metric by source-length bucket, one line per model (Bahdanau et al. 2015, Fig. 2)."""
    fig = go.Figure()
    for i, (name, y) in enumerate(series.items()):
        fig.add_trace(go.Scatter(x=list(buckets), y=np.asarray(y, dtype=np.float32), name=name,
                                 mode="lines+markers", line=dict(color=CATEGORICAL[i % len(CATEGORICAL)])))
    fig.update_layout(title_text=title, height=380, margin=dict(l=10, r=10, t=50, b=10),
                      xaxis_title="source length (tokens)", yaxis_title=y_title)
    return fig


def context_figure(context: np.ndarray, title: str, height: int = 300) -> go.Figure:
    """A context vector (D,) as bars, its forward half [:D/2] and backward half [D/2:] in two colours."""
    half = len(context) // 2
    dims = np.arange(1, len(context) + 1)
    parts = (("→ forward GRU half", slice(0, half), CATEGORICAL[0]), ("← backward GRU half", slice(half, None),
                                                                       CATEGORICAL[1]))
    fig = go.Figure([go.Bar(x=dims[s], y=context[s].astype(np.float32), name=name, marker_color=colour,
                            hovertemplate="dimension %{x}: %{y:.3f}<extra></extra>") for name, s, colour in parts])
    fig.update_layout(title_text=plot_text(title), height=height, margin=dict(l=10, r=10, t=50, b=10), bargap=0,
                      xaxis_title=f"dimension (1–{len(context)})", yaxis_title="value",
                      legend=dict(orientation="h", y=-0.25))
    return fig
