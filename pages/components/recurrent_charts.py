"""Figures of a recurrent model reading a sentence: states and gates over time, unrolled cell, state path."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .palette import CATEGORICAL, DIVERGING, SEQUENTIAL
from .plotting import play_controls, plot_text, safe_labels


def hidden_state_animation(
    states: np.ndarray, tokens: Sequence[str], top_words: Sequence[Sequence[str]], top_probs: np.ndarray,
    caption: Sequence[str], name: str = "h", zrange: tuple[float, float] = (-1.0, 1.0),
) -> go.Figure:
    """Left: states (units × steps), the steps not yet read veiled; right: the top next words at that step.

    states (H, T); top_words: T lists of k words; top_probs (T, k); caption[t] describes step t.
    Frames carry only the veil, the bars and the caption, so play and the slider run in the browser.
    """
    H, T = states.shape
    x = [f"{t + 1}. {w}" for t, w in enumerate(safe_labels(tokens))]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.68, 0.32], horizontal_spacing=0.12,
                        subplot_titles=(f"{name}<sub>t</sub>: units × time steps", "next word: top 10"))
    # Signed values (states, candidates) diverge around 0; gates in [0, 1] get a sequential scale.
    signed = zrange[0] < 0
    fig.add_trace(go.Heatmap(
        z=states.astype(np.float32), x=x, y=np.arange(H), colorscale=DIVERGING if signed else SEQUENTIAL,
        zmid=0 if signed else None, zmin=zrange[0], zmax=zrange[1], colorbar=dict(x=0.62, len=0.9),
        hovertemplate="unit %{y}<br>%{x}<br>value %{z:.3f}<extra></extra>",
    ), row=1, col=1)

    def bars(t: int) -> go.Bar:
        return go.Bar(x=top_probs[t][::-1].astype(np.float32), y=safe_labels(list(top_words[t])[::-1]),
                      orientation="h", marker_color=CATEGORICAL[0], hovertemplate="%{y}: %{x:.3f}<extra></extra>")

    def veil(t: int) -> list[dict]:
        if t >= T - 1:
            return []
        return [dict(type="rect", xref="x", yref="y", x0=t + 0.5, x1=T - 0.5, y0=-0.5, y1=H - 0.5,
                     fillcolor="white", opacity=0.85, line_width=0)]

    fig.add_trace(bars(T - 1), row=1, col=2)
    fig.frames = [go.Frame(name=str(t), data=[bars(t)], traces=[1],
                           layout=go.Layout(title_text=plot_text(caption[t]), shapes=veil(t))) for t in range(T)]
    buttons, sliders = play_controls(x)
    fig.update_layout(height=560, title_text=plot_text(caption[T - 1]), updatemenus=buttons, sliders=sliders,
                      margin=dict(l=10, r=10, t=70, b=120), showlegend=False)
    fig.update_xaxes(tickangle=-45, row=1, col=1)
    fig.update_yaxes(title_text="unit", autorange="reversed", row=1, col=1)
    fig.update_xaxes(title_text="probability", range=[0, 1], row=1, col=2)
    return fig


def unrolled_figure(tokens: Sequence[str], predictions: Sequence[str], cell: str = "RNN") -> go.Figure:
    """The recurrence drawn unrolled through time: x_t → [cell] → h_t → ŷ_t, h_{t−1} → h_t."""
    T = len(tokens)
    shapes, notes = [], []

    def arrow(x0: float, y0: float, x1: float, y1: float) -> dict:
        return dict(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", text="", arrowhead=2,
                    showarrow=True)

    for t, (word, pred) in enumerate(zip(safe_labels(tokens), safe_labels(predictions), strict=True)):
        shapes.append(dict(type="rect", x0=t - 0.35, x1=t + 0.35, y0=0.7, y1=1.3, line=dict(color=CATEGORICAL[0]),
                           fillcolor="rgba(0,114,178,0.12)"))
        notes += [dict(x=t, y=1.0, text=f"{plot_text(cell)}<br>h<sub>{t + 1}</sub>", showarrow=False),
                  dict(x=t, y=0.0, text=word, showarrow=False, font=dict(size=13)),
                  dict(x=t, y=2.0, text=pred, showarrow=False, font=dict(size=13, color=CATEGORICAL[5])),
                  arrow(t, 0.15, t, 0.7), arrow(t, 1.3, t, 1.85)]
        if t:
            notes.append(arrow(t - 0.65, 1.0, t - 0.35, 1.0))
    notes += [dict(x=-0.9, y=y, text=label, showarrow=False, xanchor="right")
              for y, label in ((0.0, "input xₜ"), (1.0, "state hₜ"), (2.0, "prediction ŷₜ"))]
    # One layout update with every shape and note: adding them one by one re-validates the layout each time.
    return go.Figure(layout=dict(
        shapes=shapes, annotations=notes, height=260, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="white",
        xaxis=dict(visible=False, range=[-1.8, T - 0.4]), yaxis=dict(visible=False, range=[-0.4, 2.4]),
    ))


def trajectory_figure(coords: np.ndarray, tokens: Sequence[str], explained: np.ndarray) -> go.Figure:
    """The hidden-state path through the sentence in 2-D, each point labelled with its word."""
    fig = go.Figure(go.Scatter(
        x=coords[:, 0], y=coords[:, 1], mode="lines+markers+text", text=safe_labels(tokens),
        textposition="top center", marker=dict(size=9, color=np.arange(len(tokens)), colorscale=SEQUENTIAL,
                                                 showscale=True, colorbar=dict(title="step")),
        line=dict(color="rgba(120,120,120,0.5)"), hovertemplate="%{text}<extra></extra>",
    ))
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=30, b=10),
                      xaxis_title=f"PC 1 ({explained[0]:.0%} of variance)",
                      yaxis_title=f"PC 2 ({explained[1]:.0%} of variance)" if len(explained) > 1 else "PC 2")
    return fig


def divergence_figure(steps: Sequence[str], distance: np.ndarray, start: int) -> go.Figure:
    """‖h_t(teacher forcing) − h_t(free running)‖ per step, with the point where free running starts."""
    fig = go.Figure(go.Scatter(x=list(safe_labels(steps)), y=distance.astype(np.float32), mode="lines+markers",
                               marker_color=CATEGORICAL[1], hovertemplate="%{x}: %{y:.3f}<extra></extra>"))
    fig.add_vline(x=start, line_dash="dot", annotation_text="free running starts")
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10), yaxis_title="‖h_TF − h_free‖₂")
    return fig


def units_heatmap(z: np.ndarray, tokens: Sequence[str], title: str, zmin: float, zmax: float,
                  colorscale: str = SEQUENTIAL) -> go.Figure:
    """A units × steps heatmap (z is (H, T)); hover shows unit, word and value."""
    x = [f"{t + 1}. {w}" for t, w in enumerate(safe_labels(tokens))]
    fig = go.Figure(go.Heatmap(z=z.astype(np.float32), x=x, y=np.arange(z.shape[0]), colorscale=colorscale,
                               zmin=zmin, zmax=zmax, hovertemplate="unit %{y}<br>%{x}<br>%{z:.3f}<extra></extra>"))
    fig.update_layout(title_text=plot_text(title), height=420, margin=dict(l=10, r=10, t=40, b=10))
    fig.update_yaxes(title_text="unit", autorange="reversed")
    fig.update_xaxes(tickangle=-45)
    return fig


def unit_lines_figure(tokens: Sequence[str], series: Mapping[str, np.ndarray], title: str) -> go.Figure:
    """One unit's gates and states over the sentence, one line each."""
    x = [f"{t + 1}. {w}" for t, w in enumerate(safe_labels(tokens))]
    fig = go.Figure()
    for i, (name, values) in enumerate(series.items()):
        fig.add_trace(go.Scatter(x=x, y=values.astype(np.float32), name=name, mode="lines+markers",
                                 line=dict(color=CATEGORICAL[i % len(CATEGORICAL)])))
    fig.update_layout(title_text=plot_text(title), height=360, margin=dict(l=10, r=10, t=40, b=10),
                      hovermode="x unified")
    fig.update_xaxes(tickangle=-45)
    return fig
