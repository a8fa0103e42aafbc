"""Figures of the masked-LM page: three fillers of a blank, the leak test, the encoder's two directions and the
stacked LSTM's layers (arrays in, plotly figures out; no Streamlit)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .attention_charts import numbered
from .palette import CATEGORICAL, DIVERGING, HIGHLIGHT
from .plotting import axis_names, grid_layout, panel_axes, plot_text, safe_labels


def fill_figure(panels: Sequence[tuple[str, Sequence[str], np.ndarray]], target: str) -> go.Figure:
    """One horizontal bar chart per way of filling the blank (title, words best first, values); the true word
    highlighted wherever it appears."""
    data = []
    for i, (title, words, values) in enumerate(panels):
        colours = [HIGHLIGHT if w == target else CATEGORICAL[0] for w in words]
        data.append(go.Bar(
            x=np.asarray(values, dtype=np.float32), y=[f"{k + 1}. {w}" for k, w in enumerate(safe_labels(words))],
            orientation="h", marker=dict(color=colours), name=title, showlegend=False, **panel_axes(i),
            hovertemplate="%{y}: %{x:.3f}<extra>" + plot_text(title) + "</extra>"))
    layout = grid_layout(1, len(panels), [p[0] for p in panels], hgap=0.12,
                         yaxis=dict(autorange="reversed", automargin=True), xaxis=dict(rangemode="tozero"),
                         height=360, margin=dict(l=10, r=10, t=50, b=10))
    return go.Figure(data=data, layout=layout)


def leak_figure(labels: Sequence[str], outputs: Mapping[str, np.ndarray], states: Mapping[str, np.ndarray],
                changed: str) -> go.Figure:
    """Left: how far each model's output distribution at every earlier position moved (total variation);
    right: how far the recurrent states moved (‖Δh‖/‖h‖). Zero bars are the models that cannot see the change."""
    x = safe_labels(labels)
    data = []
    for i, series in enumerate((outputs, states)):
        for k, (name, values) in enumerate(series.items()):
            colour = CATEGORICAL[(k + 3 * i) % len(CATEGORICAL)]
            data.append(go.Bar(x=x, y=np.nan_to_num(np.asarray(values, dtype=np.float32)), name=name,
                               marker=dict(color=colour), legendgroup=str(i), **panel_axes(i),
                               hovertemplate="%{x}: %{y:.2e}<extra>" + plot_text(name) + "</extra>"))
    titles = ("outputs: total variation ½Σ|p − p′|", "states: ‖h − h′‖ / ‖h‖")
    layout = grid_layout(1, 2, titles, hgap=0.1, xaxis=dict(tickangle=-45, title=dict(text="earlier position i")),
                         yaxis=dict(rangemode="tozero"), barmode="group", height=420,
                         margin=dict(l=10, r=10, t=60, b=10), legend=dict(orientation="h", y=-0.45),
                         title=dict(text=f"after replacing {plot_text(changed)}", x=0.5, y=0.99))
    return go.Figure(data=data, layout=layout)


def _state_map(states: np.ndarray, labels: list[str], panel: int, name: str, scale: bool) -> go.Heatmap:
    """(T, H) states as a heatmap: tokens across, dimensions down, −1..1 on the diverging scale."""
    return go.Heatmap(
        z=states.T.astype(np.float32), x=labels, zmin=-1, zmax=1, zmid=0, colorscale=DIVERGING, showscale=scale,
        colorbar=dict(title=dict(text="value"), thickness=12), **panel_axes(panel),
        hovertemplate="%{x}<br>dimension %{y}<br>%{z:.3f}<extra>" + name + "</extra>")


def directions_figure(forward: np.ndarray, backward: np.ndarray, tokens: Sequence[str], j: int) -> go.Figure:
    """The encoder's forward states →h_j and backward states ←h_j (tokens across, dimensions down), and the
    annotation h_j = [→h_j; ←h_j] at the chosen position j."""
    labels = numbered(tokens)
    both = np.concatenate([forward[j], backward[j]])[:, None]  # (2H, 1)
    data = [_state_map(forward, labels, 0, "→h", True), _state_map(backward, labels, 1, "←h", False),
            go.Heatmap(z=both.astype(np.float32), x=[labels[j]], zmin=-1, zmax=1, zmid=0, colorscale=DIVERGING,
                       showscale=False, **panel_axes(2),
                       hovertemplate="dimension %{y} of [→h; ←h]<br>%{z:.3f}<extra></extra>")]
    titles = ("→h: forward GRU (read left to right)", "←h: backward GRU (read right to left)",
              f"h_{j + 1} = [→h; ←h]")
    layout = grid_layout(1, 3, titles, widths=(len(tokens), len(tokens), 2.5), hgap=0.05,
                         xaxis=dict(tickangle=-45), yaxis=dict(autorange="reversed", showticklabels=False),
                         height=420, margin=dict(l=10, r=10, t=40, b=10))
    for panel in (0, 1):
        x_ref, y_ref = (a.replace("axis", "") for a in axis_names(panel))
        layout.setdefault("shapes", []).append(dict(
            type="rect", xref=x_ref, yref=f"{y_ref} domain", x0=j - 0.5, x1=j + 0.5, y0=0, y1=1,
            line=dict(color=CATEGORICAL[7], width=2)))
    return go.Figure(data=data, layout=layout)


def stack_figure(layers: np.ndarray, tokens: Sequence[str]) -> go.Figure:
    """Each layer's hidden states h_t^(l) (tokens across, dimensions down), bottom layer first."""
    labels = numbered(tokens)
    L = len(layers)
    data = [_state_map(layers[ell], labels, ell, f"layer {ell + 1}", ell == 0) for ell in range(L)]
    titles = [f"layer {ell + 1}: h_t^({ell + 1})" + (" (reads the embeddings)" if ell == 0 else
                                                      f" (reads layer {ell}'s h_t)") for ell in range(L)]
    layout = grid_layout(L, 1, titles, vgap=0.12, xaxis=dict(tickangle=-45),
                         yaxis=dict(autorange="reversed", showticklabels=False), height=300 * L,
                         margin=dict(l=10, r=10, t=40, b=10))
    for ell in range(L - 1):  # the layers share the tokens: label them once, under the last, clear of its title
        layout[axis_names(ell)[0]]["showticklabels"] = False
    return go.Figure(data=data, layout=layout)
