"""Figures of the transformer's internals: attention maps, heads as edges, mask, positions, residual stream."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .palette import CATEGORICAL, DIVERGING, SEQUENTIAL
from .plotting import grid_layout, panel_axes, plot_text, safe_labels

MASKED_GREY = "#bdbdbd"
EDGE_BINS = ((0.1, 0.3, 1.0), (0.3, 0.6, 2.5), (0.6, 1.01, 4.5))  # α range → line width (heads as edges)


def head_colour(head: int) -> str:
    """Each head keeps one colour on every figure of the page."""
    return CATEGORICAL[head % len(CATEGORICAL)]


def head_scale(head: int) -> list[list]:
    """White (α = 0) to the head's colour (α = 1)."""
    return [[0.0, "#ffffff"], [1.0, head_colour(head)]]


def numbered(tokens: Sequence[str]) -> list[str]:
    """Escaped labels with their position, so a repeated word keeps its own row and column."""
    return [f"{i + 1}. {t}" for i, t in enumerate(safe_labels(tokens))]


def attention_grid(attention: np.ndarray, tokens: Sequence[str]) -> go.Figure:
    """Every layer × head map α_ℓ[k, t₁, t₂] as a thumbnail (Vaswani et al. 2017, Fig. 3–5)."""
    L, H = attention.shape[:2]
    labels = numbered(tokens)
    data = [go.Heatmap(
        z=attention[ell, h].astype(np.float32), x=labels, y=labels, zmin=0, zmax=1, colorscale=head_scale(h),
        showscale=False, **panel_axes(ell * H + h),
        hovertemplate=f"layer {ell + 1} head {h + 1}<br>query %{{y}}<br>key %{{x}}<br>α = %{{z:.3f}}<extra></extra>",
    ) for ell in range(L) for h in range(H)]
    layout = grid_layout(L, H, [f"layer {ell + 1} · head {h + 1}" for ell in range(L) for h in range(H)],
                         hgap=0.02, vgap=0.06, xaxis=dict(showticklabels=False, showgrid=False),
                         yaxis=dict(showticklabels=False, showgrid=False, autorange="reversed"),
                         height=170 * L + 40, margin=dict(l=10, r=10, t=40, b=10))
    return go.Figure(data=data, layout=layout)


def head_heatmap(att: np.ndarray, tokens: Sequence[str], layer: int, head: int) -> go.Figure:
    """One head large: rows are queries (the token that looks), columns keys (the token looked at)."""
    labels = numbered(tokens)
    return go.Figure(data=[go.Heatmap(
        z=att.astype(np.float32), x=labels, y=labels, zmin=0, zmax=1, colorscale=head_scale(head),
        colorbar=dict(title=dict(text="α"), thickness=14),
        hovertemplate="query %{y}<br>key %{x}<br>α = %{z:.3f}<extra></extra>",
    )], layout=dict(
        title=dict(text=f"layer {layer + 1}, head {head + 1}: softmax(QKᵀ/√d_k + M)", y=0.995, yanchor="top"),
        height=max(380, 22 * len(tokens) + 190), margin=dict(l=10, r=10, t=140, b=10),
        yaxis=dict(autorange="reversed", title=dict(text="query (reads)")),
        xaxis=dict(tickangle=-45, title=dict(text="key (is read)"), side="top"),
    ))


def head_edges(att_layer: np.ndarray, tokens: Sequence[str], layer: int) -> go.Figure:
    """Heads as labelled edges (the lecture's dependency-parse analogy): query t₁ → key t₂ for α ≥ 0.1."""
    H, T, _ = att_layer.shape
    labels = safe_labels(tokens)
    data = []
    for h in range(H):
        for b, (lo, hi, width) in enumerate(EDGE_BINS):
            qs, ks = np.nonzero((att_layer[h] >= lo) & (att_layer[h] < hi))
            # One trace per head and weight band: segments query (x = 1) → key (x = 0), split by NaN.
            xs = np.tile([1.0, 0.0, np.nan], len(qs))
            ys = np.stack([qs, ks, np.full(len(qs), np.nan)], axis=1).ravel()
            data.append(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=head_colour(h), width=width),
                                   opacity=0.75, name=f"head {h + 1}", legendgroup=f"h{h}", showlegend=b == 0,
                                   hoverinfo="skip"))
    data += [go.Scatter(x=[x] * T, y=list(range(T)), mode="text", text=labels, showlegend=False,
                        textposition=position, hovertemplate="%{text}<extra></extra>")
             for x, position in ((0.0, "middle left"), (1.0, "middle right"))]
    return go.Figure(data=data, layout=dict(
        title=dict(text=f"layer {layer + 1} as edges: query (right) → key (left)"),
        height=max(320, 20 * T + 100), margin=dict(l=10, r=10, t=60, b=10), plot_bgcolor="white",
        legend=dict(title=dict(text="click to hide")), xaxis=dict(visible=False, range=[-0.35, 1.35]),
        yaxis=dict(visible=False, autorange="reversed"),
    ))


def weighted_values_figure(weighted: np.ndarray, output: np.ndarray, tokens: Sequence[str]) -> go.Figure:
    """The head's output for one query, Σ_j α_j v_j: each row α_j v_j (t+1, d_k), the last row their sum (d_k,)."""
    z = np.vstack([weighted, output[None]]).astype(np.float32)
    labels = [f"α·v of {lab}" for lab in numbered(tokens)] + ["Σ α·v (the head's output)"]
    bound = float(np.abs(z).max()) or 1.0
    return go.Figure(data=[go.Heatmap(
        z=z, y=labels, x=[f"dim {i}" for i in range(z.shape[1])], colorscale=DIVERGING, zmid=0, zmin=-bound,
        zmax=bound, hovertemplate="%{y}<br>%{x}: %{z:.3f}<extra></extra>", colorbar=dict(thickness=14),
    )], layout=dict(
        height=max(260, 24 * len(labels) + 110), margin=dict(l=10, r=10, t=30, b=10),
        title=dict(text="weighted sum of the values"), yaxis=dict(autorange="reversed"),
        xaxis=dict(showticklabels=False, title=dict(text=f"the d_k = {z.shape[1]} dimensions of the head's values")),
        shapes=[dict(type="line", xref="x domain", yref="y", x0=0, x1=1, y0=len(labels) - 1.5,
                     y1=len(labels) - 1.5, line=dict(color="#000000", width=2))],
    ))


def mask_figure(scores: np.ndarray, alpha: np.ndarray, tokens: Sequence[str], masked: bool) -> go.Figure:
    """Left: QKᵀ/√d_k with the cells the causal mask sets to −∞ greyed out. Right: the softmax α, with or without M."""
    T = len(tokens)
    labels = numbered(tokens)
    future = np.triu(np.ones((T, T), dtype=bool), 1)
    shown = np.where(future, np.nan, scores).astype(np.float32)
    fill = np.where(future, 1.0, np.nan).astype(np.float32)
    right = "α = softmax(QKᵀ/√d_k + M)" if masked else "softmax(QKᵀ/√d_k) with NO mask (the future leaks in)"
    layout = grid_layout(1, 2, ("QKᵀ/√d_k; grey cells: M = −∞ (the future)", right), hgap=0.12,
                         xaxis=dict(tickangle=-45, showticklabels=T <= 32),
                         yaxis=dict(autorange="reversed", showticklabels=T <= 32),
                         height=max(380, 16 * T + 160), margin=dict(l=10, r=10, t=50, b=10))
    return go.Figure(data=[
        go.Heatmap(z=shown, x=labels, y=labels, colorscale=SEQUENTIAL, showscale=False, **panel_axes(0),
                   hovertemplate="query %{y}<br>key %{x}<br>q·k/√d_k = %{z:.2f}<extra></extra>"),
        go.Heatmap(z=fill, x=labels, y=labels, colorscale=[[0, MASKED_GREY], [1, MASKED_GREY]], showscale=False,
                   customdata=scores.astype(np.float32), **panel_axes(0),
                   hovertemplate="query %{y}<br>key %{x}<br>q·k/√d_k = %{customdata:.2f}, masked to −∞"
                                 "<extra></extra>"),
        go.Heatmap(z=alpha.astype(np.float32), x=labels, y=labels, zmin=0, zmax=1, colorscale="Greys",
                   **panel_axes(1), colorbar=dict(title=dict(text="α"), thickness=14),
                   hovertemplate="query %{y}<br>key %{x}<br>α = %{z:.3f}<extra></extra>"),
    ], layout=layout)


def positions_figure(pe: np.ndarray, similarity: np.ndarray, used: int, title: str) -> go.Figure:
    """Left: each position's vector (rows) over the model dimensions. Right: cosine similarity between positions."""
    P = pe.shape[0]
    steps = np.arange(1, P + 1)
    bound = float(np.abs(pe).max()) or 1.0
    layout = grid_layout(1, 2, (plot_text(title), "cosine similarity between positions"), widths=(0.55, 0.45),
                         hgap=0.1, height=440, margin=dict(l=10, r=10, t=50, b=10))
    layout["xaxis"]["title"] = dict(text="dimension")
    layout["yaxis"].update(autorange="reversed", title=dict(text="position"))
    layout["yaxis2"]["autorange"] = "reversed"
    layout["shapes"] = [dict(type="line", xref="x domain", yref="y", x0=0, x1=1, y0=used + 0.5, y1=used + 0.5,
                             line=dict(color="#000000", dash="dot"))]
    return go.Figure(data=[
        go.Heatmap(z=pe.astype(np.float32), y=steps, colorscale=DIVERGING, zmid=0, zmin=-bound, zmax=bound,
                   showscale=False, hovertemplate="position %{y}<br>dim %{x}: %{z:.3f}<extra></extra>",
                   **panel_axes(0)),
        go.Heatmap(z=similarity.astype(np.float32), x=steps, y=steps, colorscale=DIVERGING, zmid=0, zmin=-1, zmax=1,
                   colorbar=dict(title=dict(text="cos"), thickness=14), **panel_axes(1),
                   hovertemplate="positions %{y} and %{x}: cos = %{z:.3f}<extra></extra>"),
    ], layout=layout)


def residual_figure(norms: np.ndarray, tokens: Sequence[str]) -> go.Figure:
    """‖x‖ of each token's residual vector after the embedding and after each block (one line per layer)."""
    labels = numbered(tokens)
    fig = go.Figure()
    for ell, row in enumerate(norms):
        name = "embedding + position" if ell == 0 else f"after block {ell}"
        fig.add_trace(go.Scatter(x=labels, y=row.astype(np.float32), mode="lines+markers", name=name,
                                 line=dict(color=CATEGORICAL[ell % len(CATEGORICAL)]),
                                 hovertemplate="%{x}<br>‖x‖ = %{y:.2f}<extra>" + name + "</extra>"))
    fig.update_xaxes(tickangle=-45)
    fig.update_yaxes(title_text="‖x‖ (residual stream)")
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=30, b=10), legend_title_text="read after")
    return fig


def lens_figure(words: list[list[list[str]]], probs: np.ndarray, true_rank: np.ndarray,
                tokens: Sequence[str], rows: Sequence[str] | None = None) -> go.Figure:
    """The top next token read from each layer (rows: the embedding, then each block, unless named) at each
    position (columns), coloured by its probability."""
    L1, T, K = probs.shape
    top = [[plot_text(words[ell][t][0]) for t in range(T)] for ell in range(L1)]
    hover = [[
        "<br>".join(f"{plot_text(w)} {p:.3f}" for w, p in zip(words[ell][t], probs[ell, t], strict=True))
        + (f"<br>true next: rank {true_rank[ell, t]}" if true_rank[ell, t] else "")
        for t in range(T)] for ell in range(L1)]
    rows = list(rows) if rows is not None else ["embedding"] + [f"block {ell}" for ell in range(1, L1)]
    fig = go.Figure(go.Heatmap(
        z=probs[:, :, 0].astype(np.float32), x=numbered(tokens), y=rows, zmin=0, zmax=1, colorscale=SEQUENTIAL,
        text=top, texttemplate="%{text}", textfont=dict(size=12), customdata=np.asarray(hover, dtype=object),
        hovertemplate="after reading %{x}, read from %{y}:<br>%{customdata}<extra></extra>",
        colorbar=dict(title=dict(text="p(top)"), thickness=14),
    ))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickangle=-45, side="top")
    fig.update_layout(height=60 * L1 + 150, margin=dict(l=10, r=10, t=30, b=10))
    return fig


def parallel_figure(lengths: np.ndarray, layers: int, work: Mapping[str, np.ndarray],
                    times: Mapping[str, np.ndarray]) -> go.Figure:
    """Left: steps that must run in sequence for T tokens (RNN: T; transformer: one per layer). Middle: the
    transformer's multiply-adds by part, counted (attention's grows with T², the rest with T). Right: measured time."""
    layout = grid_layout(1, 3, ("steps one after another", "multiply-adds of one transformer pass",
                                "measured forward time (ms)"), hgap=0.07,
                         xaxis=dict(title=dict(text="tokens T")), yaxis=dict(rangemode="tozero"),
                         height=400, margin=dict(l=10, r=10, t=50, b=10), legend=dict(orientation="h", y=-0.25))
    data = [go.Scatter(x=lengths, y=lengths, name="RNN: T steps", mode="lines+markers",
                       line=dict(color=CATEGORICAL[1]), **panel_axes(0)),
            go.Scatter(x=lengths, y=np.full(len(lengths), layers), mode="lines+markers",
                       name=f"transformer: {layers} layers", line=dict(color=CATEGORICAL[0]), **panel_axes(0))]
    data += [go.Scatter(x=lengths, y=count.astype(np.float64), mode="lines+markers", name=plot_text(part),
                        line=dict(color=CATEGORICAL[(i + 2) % len(CATEGORICAL)], dash="dash"), **panel_axes(1),
                        hovertemplate="T = %{x}: %{y:,.0f}<extra>" + plot_text(part) + "</extra>")
             for i, (part, count) in enumerate(work.items())]
    data += [go.Scatter(x=lengths, y=ms.astype(np.float32), mode="lines+markers", name=plot_text(name),
                        line=dict(color=CATEGORICAL[(i + 1) % 2], dash="dot"), **panel_axes(2))
             for i, (name, ms) in enumerate(times.items())]
    return go.Figure(data=data, layout=layout)


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
