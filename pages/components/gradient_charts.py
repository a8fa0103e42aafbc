"""Figures of vanishing and exploding gradients: product curves, eigenvalues, clipping runs."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .palette import CATEGORICAL
from .plotting import play_controls, plot_text


def growing_lines_figure(x: np.ndarray, series: Mapping[str, np.ndarray], title: str, x_title: str,
                         y_title: str, log_y: bool = True, animate: bool = False) -> go.Figure:
    """Lines over x (log y by default); with ``animate``, browser-side frames add one point at a time."""
    fig = go.Figure()
    for i, (name, y) in enumerate(series.items()):
        fig.add_trace(go.Scatter(x=x, y=np.asarray(y, dtype=np.float64), name=name, mode="lines+markers",
                                 line=dict(color=CATEGORICAL[i % len(CATEGORICAL)]),
                                 hovertemplate=f"{plot_text(name)}<br>%{{x}}: %{{y:.3g}}<extra></extra>"))
    fig.update_layout(title_text=title, height=420, margin=dict(l=10, r=10, t=50, b=10),
                      xaxis_title=x_title, yaxis_title=y_title, yaxis_type="log" if log_y else "linear")
    if animate:
        n = len(x)
        fig.frames = [go.Frame(name=str(k), data=[go.Scatter(x=x[: k + 1], y=np.asarray(y)[: k + 1])
                                                  for y in series.values()],
                               traces=list(range(len(series)))) for k in range(n)]
        buttons, sliders = play_controls([str(v) for v in x], duration_ms=300)
        fig.update_layout(updatemenus=buttons, sliders=sliders, margin=dict(l=10, r=10, t=50, b=110))
        values = np.concatenate([np.asarray(y, dtype=np.float64) for y in series.values()])
        values = values[np.isfinite(values) & (values > 0)] if log_y else values[np.isfinite(values)]
        if len(values):
            lo, hi = (np.log10(values.min()), np.log10(values.max())) if log_y else (values.min(), values.max())
            pad = 0.1 * (hi - lo or 1.0)
            fig.update_yaxes(range=[lo - pad, hi + pad])  # fixed axes, so the frames do not rescale
            fig.update_xaxes(range=[float(np.min(x)) - 0.5, float(np.max(x)) + 0.5])
    return fig


def eigenvalue_figure(eigenvalues: np.ndarray, radius: float) -> go.Figure:
    """Eigenvalues on the complex plane with the unit circle; outside it, repeated products grow."""
    theta = np.linspace(0, 2 * np.pi, 200)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=np.cos(theta), y=np.sin(theta), mode="lines", name="unit circle",
                             line=dict(color="grey", dash="dot")))
    outside = np.abs(eigenvalues) > 1
    for mask, name, colour in ((~outside, "|λ| ≤ 1", CATEGORICAL[0]), (outside, "|λ| > 1", CATEGORICAL[5])):
        fig.add_trace(go.Scatter(x=eigenvalues.real[mask], y=eigenvalues.imag[mask], mode="markers", name=name,
                                 marker=dict(color=colour, size=6),
                                 hovertemplate="%{x:.3f} + %{y:.3f}i<extra></extra>"))
    lim = max(1.2, float(np.abs(eigenvalues).max()) * 1.1)
    fig.update_layout(title_text=f"eigenvalues — spectral radius ρ = {radius:.3f}", height=440,
                      margin=dict(l=10, r=10, t=50, b=10), xaxis_title="real", yaxis_title="imaginary")
    fig.update_xaxes(range=[-lim, lim])
    fig.update_yaxes(range=[-lim, lim], scaleanchor="x", scaleratio=1)
    return fig


def clipping_figure(runs: Mapping[str, tuple[np.ndarray, np.ndarray]], gamma: float) -> go.Figure:
    """Left: loss per step; right: gradient norm per step (log), with the clipping threshold γ."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss", "gradient norm ‖g‖ before clipping"))
    for i, (name, (loss, norm)) in enumerate(runs.items()):
        colour = CATEGORICAL[i % len(CATEGORICAL)]
        steps = np.arange(1, len(loss) + 1)
        fig.add_trace(go.Scatter(x=steps, y=loss.astype(np.float32), name=name, line=dict(color=colour),
                                 legendgroup=name), row=1, col=1)
        fig.add_trace(go.Scatter(x=steps, y=norm.astype(np.float64), name=name, line=dict(color=colour),
                                 legendgroup=name, showlegend=False), row=1, col=2)
    fig.add_hline(y=gamma, line_dash="dot", annotation_text="γ", row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_xaxes(title_text="step")
    fig.update_layout(height=400, margin=dict(l=10, r=10, t=50, b=10))
    return fig
