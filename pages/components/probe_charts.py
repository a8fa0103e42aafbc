"""Figures of interventions on attention: the beam search as a tree, a date's digit under forced attention, the change
in every next-token distribution, the layer × head grid of loss increases, one position's prediction before and
after an edge is cut. Arrays in, plotly figure out."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .palette import CATEGORICAL, HIGHLIGHT
from .plotting import plot_text, safe_labels

STATUS_STYLE = {  # beam-tree node status -> (colour, line width, marker size)
    "winner": (HIGHLIGHT, 3.5, 13),
    "kept": (CATEGORICAL[0], 1.8, 10),
    "pruned": ("#bdbdbd", 1.0, 7),
}
GAIN_SCALE = [[0.0, CATEGORICAL[0]], [0.5, "#ffffff"], [1.0, HIGHLIGHT]]  # blue < 0 < orange


def tree_rows(parents: Sequence[int], log_prob: Sequence[float]) -> np.ndarray:
    """(N,) vertical position of every node: leaves one row apart in depth-first order (more probable child
    first), each parent level with the middle of its children."""
    children: dict[int, list[int]] = {}
    for node, parent in enumerate(parents):
        if parent >= 0:
            children.setdefault(parent, []).append(node)
    y = np.zeros(len(parents))
    next_leaf = 0.0
    stack = [(0, False)]
    while stack:  # iterative post-order: a deep beam cannot hit the recursion limit
        node, done = stack.pop()
        kids = sorted(children.get(node, []), key=lambda k: -log_prob[k])
        if not kids:
            y[node], next_leaf = next_leaf, next_leaf + 1
        elif done:
            y[node] = (y[kids[0]] + y[kids[-1]]) / 2
        else:
            stack.append((node, True))
            stack.extend((k, False) for k in reversed(kids))
    return y


def beam_tree_figure(labels: Sequence[str], parents: Sequence[int], depth: Sequence[int], log_prob: np.ndarray,
                     edge_log_p: np.ndarray, status: Sequence[str], texts: Sequence[str], title: str) -> go.Figure:
    """Nodes are partial outputs at their step, edges the token added with its log p (Strobelt et al. 2018)."""
    y = tree_rows(parents, log_prob)
    x = np.asarray(depth, dtype=np.float32)
    shown = safe_labels(labels)
    data = []
    for kind, (colour, width, size) in STATUS_STYLE.items():
        nodes = [n for n, s in enumerate(status) if s == kind]
        xs, ys = [], []
        for n in nodes:
            if parents[n] >= 0:
                xs += [x[parents[n]], x[n], None]
                ys += [y[parents[n]], y[n], None]
        data.append(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=colour, width=width), hoverinfo="skip",
                               showlegend=False))
        data.append(go.Scatter(
            x=x[nodes], y=y[nodes], mode="markers+text", name=kind, marker=dict(color=colour, size=size),
            text=[f"{shown[n]} ({edge_log_p[n]:.2f})" if n else "start" for n in nodes], textposition="middle right",
            textfont=dict(size=11, color="#000000" if kind != "pruned" else "#7a7a7a"),
            customdata=[[plot_text(texts[n]), float(log_prob[n])] for n in nodes],
            hovertemplate="%{customdata[0]}<br>Σ log p = %{customdata[1]:.3f}<extra>" + kind + "</extra>"))
    leaves = int(y.max()) + 1 if len(y) else 1
    fig = go.Figure(data=data)
    fig.update_layout(title_text=plot_text(title), height=max(320, 22 * leaves + 100),
                      margin=dict(l=10, r=10, t=50, b=10), legend=dict(orientation="h", y=-0.05),
                      xaxis=dict(title_text="step (tokens written)", dtick=1,
                                 range=[-0.3, max(depth, default=0) + 1.2]),
                      yaxis=dict(visible=False, autorange="reversed"))
    return fig


def date_sweep_figure(src_tokens: Sequence[str], written: Sequence[str], gold: str, span: tuple[int, int] | None,
                      title: str) -> go.Figure:
    """The character written when α is one-hot at each source character; the gold span shaded, wrong ones flagged."""
    cols = [f"{j + 1}. {t}" for j, t in enumerate(safe_labels(src_tokens))]
    right = [w == gold for w in written]
    fig = go.Figure(go.Scatter(
        x=cols, y=[0] * len(cols), mode="markers+text", text=safe_labels(written), textposition="middle center",
        textfont=dict(size=15, color="#ffffff"),
        marker=dict(size=28, symbol="square", color=[CATEGORICAL[0] if r else HIGHLIGHT for r in right]),
        hovertemplate="α one-hot at source %{x}<br>writes %{text}<extra></extra>"))
    if span is not None:
        fig.add_vrect(x0=span[0] - 0.5, x1=span[1] - 0.5, fillcolor="#bdbdbd", opacity=0.35, line_width=0)
    fig.update_layout(title_text=plot_text(title), height=220, margin=dict(l=10, r=10, t=50, b=10),
                      yaxis=dict(visible=False), xaxis=dict(title_text="source character α is forced onto",
                                                            tickangle=-45))
    return fig


def change_figure(tokens: Sequence[str], kl: np.ndarray, flipped: Sequence[int], before: Sequence[str],
                  after: Sequence[str], title: str) -> go.Figure:
    """KL(p ‖ p′) at every position; positions whose top prediction changed in orange, named above their bar."""
    labels = [f"{t + 1}. {w}" for t, w in enumerate(safe_labels(tokens))]
    colours = [HIGHLIGHT if t in flipped else CATEGORICAL[0] for t in range(len(tokens))]
    names = [f"{plot_text(before[t])} → {plot_text(after[t])}" if t in flipped else "" for t in range(len(tokens))]
    fig = go.Figure(go.Bar(
        x=labels, y=np.asarray(kl, dtype=np.float32), marker_color=colours, text=names, textposition="outside",
        customdata=[[plot_text(b), plot_text(a)] for b, a in zip(before, after, strict=True)],
        hovertemplate="after %{x}<br>KL = %{y:.4f} nats<br>top: %{customdata[0]} → %{customdata[1]}<extra></extra>"))
    fig.update_layout(title_text=plot_text(title), height=360, margin=dict(l=10, r=10, t=50, b=10),
                      xaxis=dict(tickangle=-45, title_text="position (predicting the token after it)"),
                      yaxis=dict(title_text="KL(p ‖ p′), nats", rangemode="tozero"))
    return fig


def head_grid_figure(increase: np.ndarray, title: str) -> go.Figure:
    """(L, H) increase of the sentence's loss with each head off: orange = the loss rises, blue = it falls."""
    L, H = increase.shape
    top = float(np.abs(increase).max()) or 1.0
    fig = go.Figure(go.Heatmap(
        z=increase.astype(np.float32), x=[f"head {h + 1}" for h in range(H)],
        y=[f"layer {ell + 1}" for ell in range(L)],
        colorscale=GAIN_SCALE, zmin=-top, zmax=top, text=np.round(increase, 3).astype(str), texttemplate="%{text}",
        colorbar=dict(title=dict(text="Δ loss"), thickness=14),
        hovertemplate="%{y}, %{x}<br>loss increase = %{z:.4f} nats<extra></extra>"))
    fig.update_layout(title_text=plot_text(title), height=120 + 60 * L, margin=dict(l=10, r=10, t=50, b=10),
                      yaxis=dict(autorange="reversed"))
    return fig


def prediction_figure(words: Sequence[str], probs_before: np.ndarray, probs_after: np.ndarray,
                      title: str) -> go.Figure:
    """The most probable next tokens at one position, the model's own (blue) beside the changed pass (orange)."""
    shown = safe_labels(words)
    fig = go.Figure([
        go.Bar(x=shown, y=np.asarray(probs_before, dtype=np.float32), name="model's own", marker_color=CATEGORICAL[0],
               hovertemplate="%{x}: p = %{y:.3f}<extra>model's own</extra>"),
        go.Bar(x=shown, y=np.asarray(probs_after, dtype=np.float32), name="edge cut", marker_color=HIGHLIGHT,
               hovertemplate="%{x}: p = %{y:.3f}<extra>edge cut</extra>"),
    ])
    fig.update_layout(title_text=plot_text(title), height=320, margin=dict(l=10, r=10, t=50, b=10), barmode="group",
                      yaxis=dict(title_text="p(next token)", rangemode="tozero"), legend=dict(orientation="h"))
    return fig


def clickable_cells(fig: go.Figure) -> go.Figure:
    """A copy of a heatmap figure with an invisible marker on every cell, so a click picks (row, column): plotly
    reports clicks on markers, not on heatmap cells. The markers carry the cell's hover text."""
    heat = fig.data[0]
    z = np.asarray(heat.z, dtype=np.float32)  # (rows, cols)
    rows, cols = list(heat.y), list(heat.x)
    out = go.Figure(fig)
    out.add_trace(go.Scatter(
        x=[c for _ in rows for c in cols], y=[r for r in rows for _ in cols], customdata=z.ravel(), mode="markers",
        showlegend=False, marker=dict(size=14, color="rgba(0,0,0,0)", symbol="square"),
        hovertemplate="output %{y}<br>source %{x}<br>α = %{customdata:.3f}<br>click to force α here<extra></extra>"))
    return out
