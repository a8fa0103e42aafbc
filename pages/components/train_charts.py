"""Figures of live training: loss curves with early stopping marked, exact match, a sentence's per-token loss."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .palette import CATEGORICAL
from .plotting import play_controls, plot_text, safe_labels
from .seq2seq_charts import alignment_figure

LAYOUT = dict(height=360, margin=dict(l=10, r=10, t=50, b=10), legend=dict(orientation="h", y=-0.2))


def smooth(y: np.ndarray, width: int = 10) -> np.ndarray:
    """Trailing mean over ``width`` steps (a training loss is one noisy batch per step)."""
    if len(y) == 0:
        return y.astype(np.float32)
    c = np.cumsum(np.concatenate([[0.0], y]))
    lo = np.maximum(0, np.arange(1, len(y) + 1) - width)
    return ((c[1:] - c[lo]) / (np.arange(1, len(y) + 1) - lo)).astype(np.float32)


def loss_figure(train: Mapping[str, tuple[np.ndarray, np.ndarray]], valid: Mapping[str, tuple[np.ndarray, np.ndarray]],
                title: str, x_title: str, marks: Mapping[str, tuple[float | None, float | None]] | None = None
                ) -> go.Figure:
    """Training loss (smoothed line) and validation loss (dashed, markers) per model; ``marks`` per model:
    (x of the best validation loss, x where early stopping would have stopped), drawn as vertical lines.

    Built in one ``go.Figure`` call with the lines as layout shapes: ``add_vline`` costs tens of ms each, and this
    figure is redrawn twice a second while a run trains."""
    traces, shapes, notes = [], [], []
    for i, name in enumerate(dict.fromkeys([*train, *valid])):
        colour = CATEGORICAL[i % len(CATEGORICAL)]
        label = plot_text(name)
        if name in train:
            x, y = train[name]
            traces.append(go.Scatter(x=np.asarray(x, dtype=np.float32), y=smooth(np.asarray(y)), mode="lines",
                                     name=f"{label}: train", line=dict(color=colour, width=2)))
        if name in valid:
            x, y = valid[name]
            traces.append(go.Scatter(x=np.asarray(x, dtype=np.float32), y=np.asarray(y, dtype=np.float32),
                                     mode="lines+markers", name=f"{label}: valid",
                                     line=dict(color=colour, width=2, dash="dash")))
        for x, text, width, dash, side in zip((marks or {}).get(name, (None, None)), ("best valid", "early stop"),
                                              (1, 2), ("dot", "solid"), ("right", "left"), strict=True):
            if x is None:
                continue
            shapes.append(dict(type="line", xref="x", yref="paper", x0=float(x), x1=float(x), y0=0, y1=1,
                               line=dict(color=colour, width=width, dash=dash)))
            notes.append(dict(x=float(x), y=1, xref="x", yref="paper", text=f"{label}: {text}", showarrow=False,
                              xanchor=side, yanchor="top", font=dict(size=11)))
    layout = dict(title_text=title, xaxis_title=x_title, yaxis_title="loss (nats per token)", shapes=shapes,
                  annotations=notes, **LAYOUT)
    return go.Figure(traces, layout)


def metric_figure(series: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str, y_title: str) -> go.Figure:
    """One line per model of a metric over training steps (exact match on fresh dates)."""
    fig = go.Figure([go.Scatter(x=np.asarray(x, dtype=np.float32), y=np.asarray(y, dtype=np.float32),
                                mode="lines+markers", name=plot_text(name),
                                line=dict(color=CATEGORICAL[i % len(CATEGORICAL)], width=2))
                     for i, (name, (x, y)) in enumerate(series.items())])
    fig.update_layout(title_text=title, xaxis_title="step", yaxis_title=y_title, yaxis_range=[0, 1], **LAYOUT)
    return fig


def sentence_figure(tokens: Sequence[str], nll: Mapping[str, np.ndarray], title: str) -> go.Figure:
    """−log p of each token of one sentence, one bar group per snapshot (before training, now)."""
    x = np.arange(len(tokens))
    fig = go.Figure([go.Bar(x=x, y=np.asarray(v, dtype=np.float32), name=plot_text(name),
                            marker_color=CATEGORICAL[i % len(CATEGORICAL)],
                            hovertemplate="%{y:.2f} nats<extra>" + plot_text(name) + "</extra>")
                     for i, (name, v) in enumerate(nll.items())])
    fig.update_xaxes(tickmode="array", tickvals=x, ticktext=safe_labels(tokens), tickangle=-45)
    fig.update_layout(title_text=title, yaxis_title="−log p (nats)", barmode="group", **LAYOUT)
    return fig


def replay_figure(alphas: Sequence[np.ndarray], steps: Sequence[int], source: Sequence[str], target: Sequence[str],
                  title: str) -> go.Figure:
    """The alignment at every stored step as plotly frames: ▶ and a step slider replay it in the browser, with no
    server rerun (DESIGN §5). ``title`` is formatted with each ``step``."""
    fig = alignment_figure(alphas[-1], source, target, title.format(step=steps[-1]), height=480)
    fig.frames = [go.Frame(name=str(i), data=[go.Heatmap(z=a.astype(np.float32))], traces=[0],
                           layout=go.Layout(title_text=plot_text(title.format(step=step))))
                  for i, (a, step) in enumerate(zip(alphas, steps, strict=True))]
    buttons, sliders = play_controls([str(s) for s in steps], duration_ms=400)
    fig.update_layout(updatemenus=buttons, sliders=sliders, margin=dict(l=10, r=10, t=90, b=120))
    return fig

