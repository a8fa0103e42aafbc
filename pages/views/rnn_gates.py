"""LSTM & GRU gates: every gate per unit and step, one unit up close, a unit finder, the cell-state highway."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from models.probes import FEATURES, PROBE_SENTENCES, token_features, unit_correlations
from models.readings.recurrent import Reading
from models.rnn import RecurrentLM, gru_cell, lstm_cell
from pages.components.loaders import cached_reading, figure_cache, get_model
from pages.components.recurrent_charts import hidden_state_animation, unit_lines_figure, units_heatmap
from pages.components.tokens import token_spans
from pages.components.widgets import available_models, shared_sentence, show_source, table_with_csv

MAX_STEPS = 40
# name -> (equation, value range, what it does)
LSTM_PARTS = {
    "f": (r"f_t=\sigma(W_f x_t+U_f h_{t-1}+b_f)", (0.0, 1.0), "forget gate: how much of c_{t−1} each unit keeps"),
    "i": (r"i_t=\sigma(W_i x_t+U_i h_{t-1}+b_i)", (0.0, 1.0), "input gate: how much of the candidate is written"),
    "g": (r"g_t=\tanh(W_g x_t+U_g h_{t-1}+b_g)", (-1.0, 1.0), "candidate: what could be written"),
    "o": (r"o_t=\sigma(W_o x_t+U_o h_{t-1}+b_o)", (0.0, 1.0), "output gate: how much of the cell is shown as h_t"),
    "c": (r"c_t=f_t\odot c_{t-1}+i_t\odot g_t", None, "cell state: the memory"),
    "h": (r"h_t=o_t\odot\tanh(c_t)", (-1.0, 1.0), "hidden state: what the rest of the network sees"),
}
GRU_PARTS = {
    "z": (r"z_t=\sigma(W_z x_t+U_z h_{t-1}+b_z)", (0.0, 1.0), "update gate: how much of h_{t−1} is kept"),
    "r": (r"r_t=\sigma(W_r x_t+U_r h_{t-1}+b_r)", (0.0, 1.0), "reset gate: how much of h_{t−1} the candidate sees"),
    "n": (r"n_t=\tanh(W_n x_t+b_n+r_t\odot(U_n h_{t-1}+b'_n))", (-1.0, 1.0), "candidate state"),
    "h": (r"h_t=(1-z_t)\odot n_t+z_t\odot h_{t-1}", (-1.0, 1.0), "hidden state"),
}
PARTS = {"lstm": LSTM_PARTS, "gru": GRU_PARTS}
KEEP_GATE = {"lstm": "f", "gru": "z"}  # the gate that carries the old state forward


def read_gates(name: str, text: str) -> tuple[Reading, bool]:
    """The model reads <eos> + the sentence with its hand-written cell; every gate is kept."""
    return cached_reading(name, text, MAX_STEPS)


@st.cache_data(max_entries=8, show_spinner=False)
def probe_table(name: str) -> pd.DataFrame:
    """For each feature, the five units whose memory (c_t for the LSTM, h_t for the GRU) tracks it best."""
    bundle = get_model(name).bundle
    memory = "c" if bundle.model.config.cell == "lstm" else "h"
    acts, feats = [], []
    for sentence in PROBE_SENTENCES:
        reading, _ = read_gates(name, sentence)
        acts.append(reading.parts[memory][1:])  # skip the start <eos>
        feats.append(token_features(reading.inputs[1:]))
    r = unit_correlations(np.concatenate(acts), np.concatenate(feats))  # (H, F)
    rows = []
    for j, feature in enumerate(FEATURES):
        for unit in np.argsort(-np.abs(r[:, j]))[:5]:
            rows.append({"feature": feature, "unit": int(unit), "correlation r": float(r[unit, j])})
    return pd.DataFrame(rows)


def survival(keep: np.ndarray, start: int) -> np.ndarray:
    """∏_{s=start+1..t} keep_s for every unit: how much of the state at ``start`` reaches step t. (H, T)."""
    T, H = keep.shape
    out = np.full((H, T), np.nan)
    out[:, start] = 1.0
    for t in range(start + 1, T):
        out[:, t] = out[:, t - 1] * keep[t]
    return out


@figure_cache
def gate_animation(name: str, text: str, part: str, zrange: tuple[float, float]):
    """One gate or state over the sentence, with the step animation."""
    reading, _ = read_gates(name, text)
    return hidden_state_animation(reading.parts[part].T, reading.inputs, reading.top_words, reading.top_probs,
                                  [f"step {t + 1}: read '{w}'" for t, w in enumerate(reading.inputs)],
                                  name=part, zrange=zrange)


@figure_cache
def unit_figure(name: str, text: str, unit: int):
    """Every gate and state of one unit, as lines."""
    reading, _ = read_gates(name, text)
    parts = PARTS[get_model(name).bundle.model.config.cell]
    return unit_lines_figure(reading.inputs, {p: reading.parts[p][:, unit] for p in parts},
                             f"unit {unit}: every gate and state")


@figure_cache
def highway_figure(name: str, text: str, start: int):
    """How much of the state at ``start`` survives to every later step, per unit; and the last step's shares."""
    reading, _ = read_gates(name, text)
    carried = survival(reading.parts[KEEP_GATE[get_model(name).bundle.model.config.cell]], start)
    title = f"how much of the state at step {start + 1} survives"
    return units_heatmap(carried, reading.inputs, title, 0.0, 1.0), carried[:, -1]


@st.fragment
def gate_view(name: str, text: str) -> None:
    """Everything for one model (LSTM or GRU), inside its tab (a fragment: its controls rerun only this tab)."""
    reading, _ = read_gates(name, text)
    cell = get_model(name).bundle.model.config.cell
    parts = PARTS[cell]
    part = st.selectbox("Gate or state", list(parts), key=f"{cell}_gate",
                        format_func=lambda p: f"{p}: {parts[p][2]}")
    eq, zrange, _ = parts[part]
    values = reading.parts[part]
    if zrange is None:
        bound = float(np.abs(values).max()) or 1.0
        zrange = (-bound, bound)
    st.latex(eq)
    summary = f"Mean over units and steps: {values.mean():.3f}."
    if zrange == (0.0, 1.0):
        summary += (f" {(values > 0.9).mean():.0%} of the values are above 0.9 (open), "
                    f"{(values < 0.1).mean():.0%} below 0.1 (closed).")
    st.write(summary)
    st.plotly_chart(gate_animation(name, text, part, zrange), key=f"{cell}_animation", width="stretch")

    unit_view(name, text, part, zrange)
    highway_view(name, text)


@st.fragment
def unit_view(name: str, text: str, part: str, zrange: tuple[float, float]) -> None:
    """One unit up close and the unit finder (a fragment: its controls rerun only this part)."""
    reading, _ = read_gates(name, text)
    cell = get_model(name).bundle.model.config.cell
    parts = PARTS[cell]
    H = reading.parts["h"].shape[1]
    values = reading.parts[part]
    st.markdown("##### One unit up close")
    finder_key, unit_key = f"{cell}_finder", f"{cell}_unit"

    def pick_from_finder() -> None:
        rows = st.session_state[finder_key].selection.rows
        if rows:
            st.session_state[unit_key] = int(probe_table(name).iloc[rows[0]]["unit"])

    unit = st.number_input(f"Unit (0–{H - 1})", 0, H - 1, value=0, key=unit_key)
    st.plotly_chart(unit_figure(name, text, unit), key=f"{cell}_unit_lines", width="stretch")
    lo, hi = zrange
    shade = np.clip((values[:, unit] - lo) / (hi - lo), 0, 1)
    st.caption(f"Your sentence coloured by unit {unit}'s {part} (dark = {lo:g}, yellow = {hi:g}); hover for values.")
    st.html(token_spans(reading.inputs, shade, titles=[f"{w}: {v:.3f}" for w, v in
                                                      zip(reading.inputs, values[:, unit], strict=True)]))

    st.markdown("##### Unit finder")
    st.write("The project's own probe sentences go through the model; each row is a unit whose memory "
             f"({'c_t' if cell == 'lstm' else 'h_t'}) correlates with a simple feature of the words. "
             "Click a row to look at that unit above.")
    st.dataframe(probe_table(name), hide_index=True, width="stretch", on_select=pick_from_finder,
                 selection_mode="single-row", key=finder_key)

    with st.expander("The numbers behind the heatmaps"):
        table = pd.DataFrame({f"{p} unit {unit}": reading.parts[p][:, unit] for p in parts})
        table.insert(0, "word", reading.inputs)
        table_with_csv(table, f"{cell}_unit_{unit}.csv", key=f"{cell}_csv")


@st.fragment
def highway_view(name: str, text: str) -> None:
    """How much of the state survives (a fragment: its slider reruns only this part)."""
    reading, _ = read_gates(name, text)
    cell = get_model(name).bundle.model.config.cell
    st.markdown("##### The state as a highway")
    st.latex(r"\frac{\partial c_t}{\partial c_k}\Big|_{\text{direct}}=\prod_{s=k+1}^{t} f_s" if cell == "lstm"
             else r"\text{share of } h_k \text{ carried to } h_t=\prod_{s=k+1}^{t} z_s")
    start = st.slider("From step", 1, len(reading.inputs), 1, key=f"{cell}_highway_from") - 1
    figure, last = highway_figure(name, text, start)
    st.plotly_chart(figure, key=f"{cell}_highway", width="stretch")
    st.write(f"At the last word, {np.mean(last > 0.5):.0%} of the units still carry more than half of what they held "
             f"at step {start + 1}; the median unit carries {np.median(last):.3f}. A plain RNN has no such path: "
             "its old state only survives through repeated multiplication by U and tanh′ (see Vanishing gradients).")


st.title("LSTM & GRU gates")
st.write("Gates are numbers between 0 and 1 that decide, unit by unit and word by word, what to forget, what to "
         "write and what to show. The same sentence goes through our LSTM and our GRU; every gate below is "
         "computed by the hand-written cells that match torch's nn.LSTM and nn.GRU.")
names = available_models(("lstm", "gru"))
if not names:
    st.error("The LSTM and GRU could not be loaded: see Checkpoints in the sidebar for the rebuild command.")
    st.stop()
sentence = shared_sentence()
if sentence.empty:
    st.stop()
tabs = st.tabs([n.upper() for n in names])
for tab, name in zip(tabs, names, strict=True):
    with tab:
        reading, cut = read_gates(name, sentence.text)
        if cut:
            st.info(f"The page reads the first {MAX_STEPS} tokens of your sentence.")
        gate_view(name, sentence.text)

with st.expander("Try this: predict, then reveal", expanded=True):
    st.write("1. Before looking: will the LSTM's forget gate be mostly open (near 1) or closed? Pick *f* and check.\n"
             "2. Put a quotation in the sidebar sentence (she said, \"we can play\" and left): use the unit finder "
             "to find a quote unit — does it switch on at the opening quote and off at the closing one?\n"
             "3. In *the state as a highway*, start at step 1: which model keeps more of its early state, "
             "the LSTM (∏ f) or the GRU (∏ z)?")

show_source(lstm_cell, gru_cell, RecurrentLM.trace, survival, unit_correlations)
