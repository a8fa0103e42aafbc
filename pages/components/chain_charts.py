"""Figures of the chain rule: per-token probabilities and the running product (Home)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .palette import CATEGORICAL, HIGHLIGHT
from .plotting import plot_text, safe_labels

LN10 = np.log(10.0)


def chain_rule_figure(
    tokens: Sequence[str],
    logp: Mapping[str, np.ndarray],
    unknown: np.ndarray,
    log_bars: bool = False,
) -> go.Figure:
    """Top: p(w_t | w_<t) per token and model (bars). Bottom: log₁₀ of the running product ∏ p."""
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
        subplot_titles=("p(w<sub>t</sub> | w<sub>&lt;t</sub>) for each token", "running product ∏ p on a log scale"),
    )
    x = np.arange(len(tokens))
    labels = safe_labels(tokens)
    for i, (name, lp) in enumerate(logp.items()):
        colour = CATEGORICAL[i % len(CATEGORICAL)]
        p = np.exp(lp).astype(np.float32)
        cum = (np.cumsum(lp) / LN10).astype(np.float32)
        custom = np.stack([np.asarray(labels, dtype=object), lp, cum], axis=-1)
        fig.add_trace(go.Bar(
            x=x, y=p, name=name, marker_color=colour, customdata=custom, legendgroup=name,
            marker_line=dict(color=[HIGHLIGHT if u else colour for u in unknown],
                             width=[3 if u else 0 for u in unknown]),
            hovertemplate="%{customdata[0]}<br>p = %{y:.4f}<br>log p = %{customdata[1]:.3f}"
                          f"<extra>{plot_text(name)}</extra>",
        ), row=1, col=1)
        fig.add_trace(go.Scatter(
            x=x, y=cum, name=name, mode="lines+markers", line=dict(color=colour), customdata=custom,
            legendgroup=name, showlegend=False,
            hovertemplate=f"%{{customdata[0]}}<br>log₁₀ ∏ p = %{{y:.2f}}<extra>{plot_text(name)}</extra>",
        ), row=2, col=1)
    fig.update_yaxes(title_text="probability", type="log" if log_bars else "linear", row=1, col=1)
    fig.update_yaxes(title_text="log₁₀ P(w₁..wₜ)", row=2, col=1)
    fig.update_xaxes(tickmode="array", tickvals=x, ticktext=labels, tickangle=-45, row=2, col=1)
    fig.update_layout(barmode="group", height=560, margin=dict(l=10, r=10, t=40, b=10), legend_title_text="model")
    return fig
