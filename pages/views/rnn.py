"""RNN hidden states: h_t = tanh(W x_t + U h_{t−1} + b), read word by word, teacher forcing vs free running."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from models.projection import pca_2d
from models.readings.recurrent import Reading, drift, free_run, read, read_ids
from models.registry import label
from models.rnn import RecurrentLM, RNNConfig, elman_cell, gru_cell, lstm_cell
from pages.components.loaders import figure_cache, get_model, reading_cache, recurrent_reading
from pages.components.recurrent_charts import (
    divergence_figure,
    hidden_state_animation,
    trajectory_figure,
    unrolled_figure,
)
from pages.components.recurrent_notation import NAMES_NOTE, OUTPUT, cell_equations
from pages.components.widgets import (
    available_models,
    chart,
    model_select,
    say,
    shared_sentence,
    show_source,
    table_with_csv,
    try_this,
)

MAX_STEPS = 40  # the page reads at most this many tokens (the animation stays light in the browser)
CELLS = {"rnn": elman_cell, "lstm": lstm_cell, "gru": gru_cell}


TRY_THIS = (  # predict, then reveal
    'Before pressing ▶: at which word will the true next word rank worst? Then play and check.',
    'Type a sentence that names someone early ("lily went to the park with her dog and she"): does the '
    'model still expect "lily" or "her" at the end? Look at the top 10 of the last step.',
    'Start free running at step 1: how long before the two columns read different words?',
)


def read_sentence(name: str, text: str) -> Reading:
    """The model reads <eos> + the student's sentence, every state kept."""
    return recurrent_reading(name, text, MAX_STEPS)


@reading_cache
def free_running(name: str, text: str, start: int) -> Reading:
    """From step ``start`` on, the model is fed its own most probable word instead of the true one."""
    bundle = get_model(name).bundle
    return free_run(bundle.model, bundle.tokenizer, text, start, MAX_STEPS)


def caption(reading: Reading, t: int) -> str:
    """What the animation says at step t."""
    word = reading.inputs[t]
    if not reading.true_next[t]:
        return f"step {t + 1}: read '{word}' — your text ends here"
    return (f"step {t + 1}: read '{word}' — the true next word '{reading.true_next[t]}' ranks "
            f"{reading.true_rank[t]} (p = {reading.true_prob[t]:.3f})")


@figure_cache
def reading_figures(name: str, text: str):
    """The unrolled picture, the word-by-word animation and the state's path for one model and sentence."""
    reading = read_sentence(name, text)
    shown = min(len(reading.inputs), 9)
    cell = get_model(name).bundle.model.config.cell.upper()
    unrolled = unrolled_figure(reading.inputs[:shown], [w[0] for w in reading.top_words[:shown]], cell)
    animation = hidden_state_animation(reading.states.T, reading.inputs, reading.top_words, reading.top_probs,
                                       [caption(reading, t) for t in range(len(reading.inputs))])
    coords, explained = pca_2d(reading.states)
    return unrolled, animation, trajectory_figure(coords, reading.inputs, explained)


def formulas(name: str, cfg: RNNConfig) -> None:
    """The cell and output equations, the sizes, and how our names map to the lecture's."""
    cell_equations(cfg.cell)
    st.latex(OUTPUT)
    V, H, E = cfg.vocab_size, cfg.n_hidden, cfg.n_embd
    st.write(
        f"Our {label(name)} reads one word at a time. Each word becomes a vector x_t of {E} numbers (its "
        f"embedding); the state h_t has {H} units and carries everything the model keeps about the past; the "
        f"output layer W_out ({V:,} × {H}) turns h_t into a probability for each of the |V| = {V:,} words. The "
        "same weights are used at every step — the picture below is the same cell, unrolled through time."
    )
    if cfg.cell == "rnn":
        st.latex(rf"W\in\mathbb{{R}}^{{{H}\times{E}}},\; U\in\mathbb{{R}}^{{{H}\times{H}}},\; "
                 rf"b\in\mathbb{{R}}^{{{H}}},\; W_{{\text{{out}}}}\in\mathbb{{R}}^{{{V}\times{H}}},\; "
                 rf"b_{{\text{{out}}}}\in\mathbb{{R}}^{{{V}}}")
    st.caption(NAMES_NOTE)


def pictures(name: str, text: str, reading: Reading) -> None:
    """The unrolled cell and the state, word by word."""
    if reading.cut:
        st.info(f"The page reads the first {MAX_STEPS} tokens of your sentence.")
    unrolled, animation, _ = reading_figures(name, text)
    st.subheader("Unrolled through time")
    chart(unrolled, key="rnn_unrolled")
    st.caption("Bottom: the word read at each step (step 1 reads <eos>, the start). Top, in orange: the model's most "
               "probable next word.")
    st.subheader("The state, word by word")
    st.write("Press ▶ to watch the sentence being read: each column is h_t after reading that word (orange = "
             "negative, purple = positive); on the right, the model's ten most probable next words at that step.")
    chart(animation, key="rnn_animation")


@st.fragment
def step_detail(reading: Reading) -> None:
    """One step up close (a fragment: the slider reruns only this part)."""
    T = len(reading.inputs)
    step = st.slider("Look closely at step", 1, T, min(T, 4), key="rnn_step") - 1
    c1, c2 = st.columns([1, 1])
    with c1:
        say("After reading <b>{word}</b> (step {step}):", word=reading.inputs[step], step=step + 1)
        table = pd.DataFrame({"next word": reading.top_words[step], "probability": reading.top_probs[step]})
        st.dataframe(table, hide_index=True, width="stretch")
    with c2:
        if reading.true_next[step]:
            st.metric("True next word", reading.true_next[step])
            st.metric("Its rank", reading.true_rank[step], help=f"p = {reading.true_prob[step]:.4f}")
        else:
            st.write("This is the last step: there is no true next word to compare with.")


@st.fragment
def teacher_vs_free(name: str, text: str, reading: Reading) -> None:
    """Teacher forcing beside free running from a chosen step (a fragment, like the one above)."""
    T = len(reading.inputs)
    st.subheader("Teacher forcing vs free running")
    st.write("In training the model is always fed the **true** previous word (teacher forcing). When it generates, it "
             "is fed its **own** previous prediction (free running). From the step you choose, the right-hand model "
             "reads its own words: watch the words and the states drift apart.")
    if T < 3:
        st.info("Type a longer sentence (three tokens or more) to compare the two.")
        return
    start = st.slider("Free running from step", 1, T - 1, min(T - 1, 3), key="rnn_free_from") - 1
    free = free_running(name, text, start)
    left, right = st.columns(2)
    left.dataframe(pd.DataFrame({"reads": reading.inputs, "predicts": [w[0] for w in reading.top_words]}),
                   hide_index=True, width="stretch")
    right.dataframe(pd.DataFrame({"reads": free.inputs, "predicts": [w[0] for w in free.top_words]}),
                    hide_index=True, width="stretch")
    chart(divergence_figure([f"{t + 1}" for t in range(T)], drift(reading, free), start),
          key="rnn_divergence")


def state_path(name: str, text: str, n_hidden: int) -> None:
    """The state's path in its two main directions."""
    st.subheader("The path of the state")
    chart(reading_figures(name, text)[2], key="rnn_pca")
    st.caption(f"h_t has {n_hidden} dimensions; these are its two directions of largest variance over your sentence "
               "(PCA), which keep the share of variance shown on the axes. Colour = step: dark purple = first, "
               "yellow = last.")


def numbers(name: str, reading: Reading) -> None:
    """Every h_t as a table, on request."""
    # A toggle, not an expander: an expander's content is built on every rerun, and this table has a column per unit.
    if st.toggle("Show the numbers behind the heatmap (every h_t, with a CSV download)", key="rnn_numbers"):
        states = pd.DataFrame(reading.states, columns=[f"unit {i}" for i in range(reading.states.shape[1])])
        states.insert(0, "word", reading.inputs)
        table_with_csv(states, f"{name}_hidden_states.csv", key="rnn_csv")


st.title("RNN hidden states")
names = available_models(("rnn", "lstm", "gru"))
if not names:
    st.error("The recurrent models could not be loaded: see Checkpoints in the sidebar for the rebuild command.")
    st.stop()
name = model_select("Model", "rnn_model", names)
cfg = get_model(name).bundle.model.config
formulas(name, cfg)
sentence = shared_sentence()
if sentence.empty:
    st.stop()
reading = read_sentence(name, sentence.text)
pictures(name, sentence.text, reading)
step_detail(reading)
teacher_vs_free(name, sentence.text, reading)
state_path(name, sentence.text, cfg.n_hidden)
numbers(name, reading)
try_this(*TRY_THIS)
show_source(RecurrentLM.trace, CELLS[cfg.cell], read, read_ids, free_run)
