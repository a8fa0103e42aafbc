"""LSTM & GRU gates: every gate per unit and step, one unit up close, a unit finder, the cell-state highway."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from models.probes import unit_correlations
from models.readings.gates import UnitFinder, gate_summary, highway, survival, unit_finder
from models.readings.recurrent import Reading
from models.rnn import RecurrentLM, gru_cell, lstm_cell
from pages.components.loaders import figure_cache, get_model, reading_cache, recurrent_reading
from pages.components.recurrent_charts import hidden_state_animation, unit_lines_figure, units_heatmap
from pages.components.recurrent_notation import cell_equations
from pages.components.tokens import token_spans
from pages.components.widgets import available_models, chart, shared_sentence, show_source, table_with_csv, try_this

MAX_STEPS = 40
# name -> (equation, value range, what it does); torch's conventions, which are our models' (see cell_equations)
LSTM_PARTS = {
    "f": (r"f_t=\sigma(W_f x_t+U_f h_{t-1}+b_f)", (0.0, 1.0), "forget gate: how much of c_{t−1} each unit keeps"),
    "i": (r"i_t=\sigma(W_i x_t+U_i h_{t-1}+b_i)", (0.0, 1.0), "input gate: how much of the candidate is written"),
    "g": (r"g_t=\tanh(W_g x_t+U_g h_{t-1}+b_g)", (-1.0, 1.0), "candidate: what could be written"),
    "o": (r"o_t=\sigma(W_o x_t+U_o h_{t-1}+b_o)", (0.0, 1.0), "output gate: how much of the cell is shown as h_t"),
    "c": (r"c_t=f_t\odot c_{t-1}+i_t\odot g_t", None, "cell state: the memory"),
    "h": (r"h_t=o_t\odot\tanh(c_t)", (-1.0, 1.0), "hidden state: what the rest of the network sees"),
}
GRU_PARTS = {
    "z": (r"z_t=\sigma(W_z x_t+U_z h_{t-1}+b_z)", (0.0, 1.0),
          "update gate: how much of h_{t−1} is kept (the lecture's 1 − z_t)"),
    "r": (r"r_t=\sigma(W_r x_t+U_r h_{t-1}+b_r)", (0.0, 1.0),
          "reset gate: how much of U_n h_{t−1} + b′ₙ the candidate sees"),
    "n": (r"n_t=\tanh\big(W_n x_t+b_n+r_t\odot(U_n h_{t-1}+b'_n)\big)", (-1.0, 1.0),
          "candidate state (the lecture's ĥ_t)"),
    "h": (r"h_t=(1-z_t)\odot n_t+z_t\odot h_{t-1}", (-1.0, 1.0), "hidden state"),
}
PARTS = {"lstm": LSTM_PARTS, "gru": GRU_PARTS}
HIGHWAY = {
    "lstm": r"\frac{\partial c_t}{\partial c_k}\Big|_{\text{direct}}=\prod_{s=k+1}^{t} f_s",
    "gru": (r"\frac{\partial h_t}{\partial h_k}\Big|_{\text{direct}}=\prod_{s=k+1}^{t} z_s\;(\text{ours, torch})"
            r"\;=\;\prod_{s=k+1}^{t}(1-z_s)\;(\text{lecture})"),
}


TRY_THIS = (  # predict, then reveal
    "Before looking: will the LSTM's forget gate be mostly open (near 1) or closed? Pick *f* and check.",
    'Put a quotation in the sidebar sentence (she said, "we can play" and left): use the unit finder to '
    'find a quote unit — does it switch on at the opening quote and off at the closing one?',
    'In *the state as a highway*, start at step 1: which model keeps more of its early state, the LSTM (∏'
    ' f) or the GRU (∏ z here, ∏ (1 − z) in the lecture)?',
)


def read_gates(name: str, text: str) -> Reading:
    """The model reads <eos> + the sentence with its hand-written cell; every gate is kept."""
    return recurrent_reading(name, text, MAX_STEPS)


@reading_cache
def finder(name: str) -> UnitFinder:
    """Units whose memory tracks a feature of the probe sentences (once per model)."""
    bundle = get_model(name).bundle
    return unit_finder(bundle.model, bundle.tokenizer)


def value_range(values: np.ndarray, zrange: tuple[float, float] | None) -> tuple[float, float]:
    """A part's fixed range, or ± its largest magnitude (the cell state is unbounded)."""
    if zrange is not None:
        return zrange
    bound = float(np.abs(values).max()) or 1.0
    return -bound, bound


def scale_caption(zrange: tuple[float, float]) -> str:
    """The colours of the heatmap's scale: diverging for signed values, viridis for gates in [0, 1]."""
    if zrange[0] < 0:
        return f"Colour: orange = negative (down to {zrange[0]:.3g}), purple = positive (up to {zrange[1]:.3g})."
    return "Colour: dark purple = 0 (closed), yellow = 1 (open)."


@figure_cache
def gate_animation(name: str, text: str, part: str, zrange: tuple[float, float]):
    """One gate or state over the sentence, with the step animation."""
    reading = read_gates(name, text)
    return hidden_state_animation(reading.parts[part].T, reading.inputs, reading.top_words, reading.top_probs,
                                  [f"step {t + 1}: read '{w}'" for t, w in enumerate(reading.inputs)],
                                  name=part, zrange=zrange)


@figure_cache
def unit_figure(name: str, text: str, cell: str, unit: int):
    """Every gate and state of one unit, as lines."""
    reading = read_gates(name, text)
    return unit_lines_figure(reading.inputs, {p: reading.parts[p][:, unit] for p in PARTS[cell]},
                             f"unit {unit}: every gate and state")


@figure_cache
def highway_figure(name: str, text: str, cell: str, start: int):
    """How much of the state at ``start`` survives to every later step, per unit; and the reading drawn."""
    reading = read_gates(name, text)
    way = highway(reading, cell, start)
    title = f"how much of the state at step {start + 1} survives"
    return units_heatmap(way.carried, reading.inputs, title, 0.0, 1.0), way


@st.fragment
def gate_view(name: str, text: str, cell: str) -> None:
    """Everything for one model (LSTM or GRU), inside its tab (a fragment: its controls rerun only this tab)."""
    reading = read_gates(name, text)
    if reading.cut:
        st.info(f"The page reads the first {MAX_STEPS} tokens of your sentence.")
    cell_equations(cell)
    parts = PARTS[cell]
    part = st.selectbox("Gate or state", list(parts), key=f"{cell}_gate", format_func=lambda p: f"{p}: {parts[p][2]}")
    eq, bounds, _ = parts[part]
    zrange = value_range(reading.parts[part], bounds)
    st.latex(eq)
    summary = gate_summary(reading.parts[part])
    st.write(f"Mean over units and steps: {summary.mean:.3f}." + (
        f" {summary.open_share:.0%} of the values are above 0.9 (open), {summary.closed_share:.0%} below 0.1 (closed)."
        if zrange == (0.0, 1.0) else ""))
    chart(gate_animation(name, text, part, zrange), key=f"{cell}_animation")
    st.caption(scale_caption(zrange))
    unit_view(name, text, cell, part, zrange)
    highway_view(name, text, cell)


def unit_tokens(reading: Reading, part: str, unit: int, zrange: tuple[float, float]) -> None:
    """The sentence coloured by one unit's value (viridis, like every token colouring in the app)."""
    lo, hi = zrange
    values = reading.parts[part][:, unit]
    st.caption(f"Your sentence coloured by unit {unit}'s {part} (dark purple = {lo:.3g}, yellow = {hi:.3g}); "
               "hover for values.")
    st.html(token_spans(reading.inputs, np.clip((values - lo) / (hi - lo), 0, 1),
                        titles=[f"{w}: {v:.3f}" for w, v in zip(reading.inputs, values, strict=True)]))


@st.fragment
def unit_view(name: str, text: str, cell: str, part: str, zrange: tuple[float, float]) -> None:
    """One unit up close and the unit finder (a fragment: its controls rerun only this part)."""
    reading = read_gates(name, text)
    H = reading.parts["h"].shape[1]
    st.markdown("##### One unit up close")
    finder_key, unit_key = f"{cell}_finder", f"{cell}_unit"
    found = finder(name)
    table = pd.DataFrame({"feature": found.feature, "unit": found.unit, "correlation r": found.r})

    def pick_from_finder() -> None:
        rows = st.session_state[finder_key].selection.rows
        if rows:
            st.session_state[unit_key] = int(table.iloc[rows[0]]["unit"])

    unit = st.number_input(f"Unit (0–{H - 1})", 0, H - 1, value=0, key=unit_key)
    chart(unit_figure(name, text, cell, unit), key=f"{cell}_unit_lines")
    unit_tokens(reading, part, unit, zrange)

    st.markdown("##### Unit finder")
    st.write("The project's own probe sentences go through the model; each row is a unit whose memory "
             f"({'c_t' if cell == 'lstm' else 'h_t'}) correlates with a simple feature of the words. "
             "Click a row to look at that unit above.")
    st.dataframe(table, hide_index=True, width="stretch", on_select=pick_from_finder, selection_mode="single-row",
                 key=finder_key)

    with st.expander("The numbers behind the heatmaps"):
        numbers = pd.DataFrame({f"{p} unit {unit}": reading.parts[p][:, unit] for p in PARTS[cell]})
        numbers.insert(0, "word", reading.inputs)
        table_with_csv(numbers, f"{cell}_unit_{unit}.csv", key=f"{cell}_csv")


@st.fragment
def highway_view(name: str, text: str, cell: str) -> None:
    """How much of the state survives (a fragment: its slider reruns only this part)."""
    reading = read_gates(name, text)
    st.markdown("##### The state as a highway")
    st.latex(HIGHWAY[cell])
    start = st.slider("From step", 1, len(reading.inputs), 1, key=f"{cell}_highway_from") - 1
    figure, way = highway_figure(name, text, cell, start)
    chart(figure, key=f"{cell}_highway")
    st.caption("Colour: dark purple = 0 (nothing left), yellow = 1 (all of it carried).")
    st.write(f"At the last word, {way.over_half:.0%} of the units still carry more than half of what they held at "
             f"step {start + 1}; the median unit carries {way.median:.3f}. A plain RNN has no such path: its old "
             "state only survives through repeated multiplication by U and tanh′ (see Vanishing gradients).")


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
for tab, name in zip(st.tabs([n.upper() for n in names]), names, strict=True):
    with tab:
        gate_view(name, sentence.text, get_model(name).bundle.model.config.cell)
try_this(*TRY_THIS)
show_source(lstm_cell, gru_cell, RecurrentLM.trace, survival, highway, unit_finder, unit_correlations)
