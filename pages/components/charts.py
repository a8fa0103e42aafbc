"""Pure figure builders: arrays in, plotly figure out; no Streamlit calls."""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .palette import CATEGORICAL, DIVERGING, HIGHLIGHT, SEQUENTIAL

LN10 = np.log(10.0)


def plot_text(text: str) -> str:
    """User or model text made safe for plotly, which reads a subset of HTML in titles and labels.

    Only &, < and > are escaped: plotly shows quote entities literally (``&quot;``), and a quote cannot start
    markup without a ``<``.
    """
    return html.escape(text, quote=False)


def safe_labels(tokens: Sequence[str]) -> list[str]:
    """Token strings escaped for plotly (``plot_text`` on each)."""
    return [plot_text(t) for t in tokens]


def axis_names(i: int) -> tuple[str, str]:
    """The layout keys of panel i's axes in a ``grid_layout``: ("xaxis", "yaxis"), ("xaxis2", "yaxis2"), …"""
    suffix = "" if i == 0 else str(i + 1)
    return f"xaxis{suffix}", f"yaxis{suffix}"


def grid_layout(rows: int, cols: int, titles: Sequence[str] = (), widths: Sequence[float] | None = None,
                hgap: float = 0.08, vgap: float = 0.08, xaxis: dict | None = None, yaxis: dict | None = None,
                **layout) -> dict:
    """A layout dict with one x/y axis pair per panel (row-major), each starting from ``xaxis`` / ``yaxis``.

    It does what ``make_subplots`` does for a plain grid, as data: a figure built in one ``go.Figure(data,
    layout)`` call is validated once, about 8× faster than ``make_subplots`` with ``add_trace`` per panel.
    """
    widths = np.asarray(widths if widths is not None else [1.0] * cols, dtype=float)
    widths = widths / widths.sum() * (1 - hgap * (cols - 1))
    lefts = np.concatenate([[0.0], np.cumsum(widths + hgap)[:-1]])
    height = (1 - vgap * (rows - 1)) / rows
    out: dict = {"annotations": []}
    for i in range(rows * cols):
        r, c = divmod(i, cols)
        top = 1 - r * (height + vgap)
        x_name, y_name = axis_names(i)
        # Rounded and clipped: float sums can land a hair outside [0, 1], which plotly rejects.
        x0, x1, y0, y1 = (float(np.clip(round(v, 6), 0, 1))
                          for v in (lefts[c], lefts[c] + widths[c], top - height, top))
        out[x_name] = {**(xaxis or {}), "domain": [x0, x1], "anchor": y_name.replace("axis", "")}
        out[y_name] = {**(yaxis or {}), "domain": [y0, y1], "anchor": x_name.replace("axis", "")}
        if i < len(titles):
            out["annotations"].append(dict(text=titles[i], x=lefts[c] + widths[c] / 2, y=top, xref="paper",
                                           yref="paper", xanchor="center", yanchor="bottom", showarrow=False,
                                           font=dict(size=14)))
    return {**out, **layout}


def panel_axes(i: int) -> dict:
    """The axis references of panel i of a ``grid_layout`` (for a trace's ``xaxis``/``yaxis``)."""
    x_name, y_name = axis_names(i)
    return dict(xaxis=x_name.replace("axis", ""), yaxis=y_name.replace("axis", ""))


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


def _play_controls(steps: list[str], duration_ms: int = 500) -> tuple[list[dict], list[dict]]:
    """A play/pause button and a step slider that run plotly frames in the browser (no server work)."""
    buttons = [{
        "type": "buttons", "direction": "left", "x": 0.0, "y": -0.12, "xanchor": "left", "yanchor": "top",
        "buttons": [
            {"label": "▶ play", "method": "animate",
             "args": [None, {"frame": {"duration": duration_ms, "redraw": True}, "fromcurrent": True}]},
            {"label": "❚❚ pause", "method": "animate",
             "args": [[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}]},
        ],
    }]
    sliders = [{
        "active": len(steps) - 1, "x": 0.15, "y": -0.08, "len": 0.85, "currentvalue": {"prefix": "step: "},
        "steps": [{"label": s, "method": "animate",
                   "args": [[str(i)], {"frame": {"duration": 0, "redraw": True}, "mode": "immediate"}]}
                  for i, s in enumerate(steps)],
    }]
    return buttons, sliders


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
    buttons, sliders = _play_controls(x)
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


def pca_2d(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project rows of ``states`` (T, H) on their first two principal components: (T, 2), explained ratios."""
    centred = states - states.mean(0, keepdims=True)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    var = s**2
    return centred @ vt[:2].T, var[:2] / max(var.sum(), 1e-12)


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
        buttons, sliders = _play_controls([str(v) for v in x], duration_ms=300)
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


def alignment_figure(alpha: np.ndarray, src_tokens: Sequence[str], out_tokens: Sequence[str], title: str,
                     height: int = 420) -> go.Figure:
    """Attention α as a heatmap: rows are output tokens, columns source tokens (Bahdanau et al. 2015, Fig. 3)."""
    cols = [f"{j + 1}. {t}" for j, t in enumerate(safe_labels(src_tokens))]
    rows = [f"{i + 1}. {t}" for i, t in enumerate(safe_labels(out_tokens))]
    fig = go.Figure(go.Heatmap(z=alpha.astype(np.float32), x=cols, y=rows, colorscale="Greys", reversescale=True,
                               zmin=0, zmax=1,
                               hovertemplate="output %{y}<br>source %{x}<br>α = %{z:.3f}<extra></extra>"))
    fig.update_layout(title_text=plot_text(title), height=height, margin=dict(l=10, r=10, t=50, b=10))
    fig.update_yaxes(autorange="reversed", title_text="output")
    fig.update_xaxes(tickangle=-45, title_text="source", side="top")
    return fig


def scores_figure(src_tokens: Sequence[str], scores: np.ndarray, alpha: np.ndarray, title: str) -> go.Figure:
    """Raw scores e_ij (left) and their softmax α_ij (right) over the source tokens."""
    x = [f"{j + 1}. {t}" for j, t in enumerate(safe_labels(src_tokens))]
    layout = grid_layout(1, 2, ("raw scores e", "α = softmax(e)"), xaxis=dict(tickangle=-45),
                         title_text=plot_text(title), height=380, showlegend=False, margin=dict(l=10, r=10, t=60, b=10))
    layout["yaxis2"]["range"] = [0, 1]
    return go.Figure(data=[
        go.Bar(x=x, y=scores.astype(np.float32), marker_color=CATEGORICAL[1], name="e",
               hovertemplate="%{x}: e = %{y:.3f}<extra></extra>", **panel_axes(0)),
        go.Bar(x=x, y=alpha.astype(np.float32), marker_color=CATEGORICAL[0], name="α",
               hovertemplate="%{x}: α = %{y:.3f}<extra></extra>", **panel_axes(1)),
    ], layout=layout)


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
