"""RNN hidden states: h_t = tanh(W x_t + U h_{t−1} + b), read word by word, teacher forcing vs free running."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from models.projection import pca_2d
from models.readings.recurrent import Reading, free_run, read, sentence_ids
from models.registry import label
from models.rnn import RecurrentLM, elman_cell, gru_cell, lstm_cell
from pages.components.loaders import cached_reading, figure_cache, get_model
from pages.components.recurrent_charts import (
    divergence_figure,
    hidden_state_animation,
    trajectory_figure,
    unrolled_figure,
)
from pages.components.widgets import (
    available_models,
    model_select,
    say,
    shared_sentence,
    show_source,
    table_with_csv,
)

MAX_STEPS = 40  # the page reads at most this many tokens (the animation stays light in the browser)
CELL_EQUATIONS = {
    "rnn": r"h_t=\tanh(W x_t + U h_{t-1} + b)",
    "lstm": r"h_t = o_t \odot \tanh(c_t),\quad c_t = f_t \odot c_{t-1} + i_t \odot g_t",
    "gru": r"h_t = (1-z_t)\odot n_t + z_t \odot h_{t-1}",
}


def read_sentence(name: str, text: str) -> tuple[Reading, bool]:
    """The model reads the student's sentence (cached per model and text)."""
    return cached_reading(name, text, MAX_STEPS)


@st.cache_data(max_entries=512, show_spinner=False)
def free_running(name: str, text: str, start: int) -> Reading:
    """From step ``start`` on, the model is fed its own most probable word instead of the true one."""
    bundle = get_model(name).bundle
    ids, _ = sentence_ids(bundle.tokenizer, text, MAX_STEPS)
    return free_run(bundle.model, bundle.tokenizer.vocab.itos, ids, start)


@figure_cache
def reading_figures(name: str, text: str):
    """The unrolled picture and the word-by-word animation for one model and sentence."""
    reading, _ = read_sentence(name, text)
    shown = min(len(reading.inputs), 9)
    cell = get_model(name).bundle.model.config.cell.upper()
    unrolled = unrolled_figure(reading.inputs[:shown], [w[0] for w in reading.top_words[:shown]], cell)
    animation = hidden_state_animation(reading.states.T, reading.inputs, reading.top_words, reading.top_probs,
                                       [caption(reading, t) for t in range(len(reading.inputs))])
    return unrolled, animation


def caption(reading: Reading, t: int) -> str:
    """What the animation says at step t."""
    word = reading.inputs[t]
    if not reading.true_next[t]:
        return f"step {t + 1}: read '{word}' — the sentence ends here"
    return (f"step {t + 1}: read '{word}' — the true next word '{reading.true_next[t]}' ranks "
            f"{reading.true_rank[t]} (p = {reading.true_prob[t]:.3f})")


st.title("RNN hidden states")
names = available_models(("rnn", "lstm", "gru"))
if not names:
    st.error("The recurrent models could not be loaded: see Checkpoints in the sidebar for the rebuild command.")
    st.stop()
name = model_select("Model", "rnn_model", names)
model: RecurrentLM = get_model(name).bundle.model
cfg = model.config
V = cfg.vocab_size
st.latex(CELL_EQUATIONS[cfg.cell] + r",\qquad \hat y_t = \operatorname{softmax}(V h_t + c)")
st.write(
    f"Our {label(name)} reads one word at a time. Each word becomes a vector x_t of {cfg.n_embd} numbers "
    f"(its embedding); the state h_t has {cfg.n_hidden} units and carries everything the model keeps about the "
    f"past; the output layer V ({V:,} × {cfg.n_hidden}) turns h_t into a probability for each of the {V:,} "
    "words. The same weights are used at every step — the picture below is the same cell, unrolled through time."
)
if cfg.cell == "rnn":
    H, E = cfg.n_hidden, cfg.n_embd
    st.latex(rf"W\in\mathbb{{R}}^{{{H}\times{E}}},\; U\in\mathbb{{R}}^{{{H}\times{H}}},\; "
             rf"b\in\mathbb{{R}}^{{{H}}},\; V\in\mathbb{{R}}^{{{V}\times{H}}}")

sentence = shared_sentence()
if sentence.empty:
    st.stop()
reading, cut = read_sentence(name, sentence.text)
if cut:
    st.info(f"The page reads the first {MAX_STEPS} tokens of your sentence.")
T = len(reading.inputs)

st.subheader("Unrolled through time")
unrolled, animation = reading_figures(name, sentence.text)
st.plotly_chart(unrolled, key="rnn_unrolled", width="stretch")
st.caption("Bottom: the word read at each step (step 1 reads <eos>, the start). Top, in orange: the model's most "
           "probable next word.")

st.subheader("The state, word by word")
st.write("Press ▶ to watch the sentence being read: each column is h_t after reading that word (blue negative, "
         "orange positive); on the right, the model's ten most probable next words at that step.")
st.plotly_chart(animation, key="rnn_animation", width="stretch")

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
    else:
        start = st.slider("Free running from step", 1, T - 1, min(T - 1, 3), key="rnn_free_from") - 1
        free = free_running(name, text, start)
        left, right = st.columns(2)
        left.dataframe(pd.DataFrame({"reads": reading.inputs, "predicts": [w[0] for w in reading.top_words]}),
                       hide_index=True, width="stretch")
        right.dataframe(pd.DataFrame({"reads": free.inputs, "predicts": [w[0] for w in free.top_words]}),
                        hide_index=True, width="stretch")
        distance = np.linalg.norm(reading.states - free.states, axis=1)
        st.plotly_chart(divergence_figure([f"{t + 1}" for t in range(T)], distance, start),
                        key="rnn_divergence", width="stretch")


step_detail(reading)
teacher_vs_free(name, sentence.text, reading)

st.subheader("The path of the state")
coords, explained = pca_2d(reading.states)
st.plotly_chart(trajectory_figure(coords, reading.inputs, explained), key="rnn_pca", width="stretch")
st.caption(f"h_t has {cfg.n_hidden} dimensions; these are its two directions of largest variance over your "
           "sentence (PCA), which keep the share of variance shown on the axes.")

# A toggle, not an expander: an expander's content is built on every rerun, and this table has a column per unit.
if st.toggle("Show the numbers behind the heatmap (every h_t, with a CSV download)", key="rnn_numbers"):
    states = pd.DataFrame(reading.states, columns=[f"unit {i}" for i in range(reading.states.shape[1])])
    states.insert(0, "word", reading.inputs)
    table_with_csv(states, f"{name}_hidden_states.csv", key="rnn_csv")

with st.expander("Try this: predict, then reveal", expanded=True):
    st.write("1. Before pressing ▶: at which word will the true next word rank worst? Then play and check.\n"
             "2. Type a sentence that names someone early (\"lily went to the park with her dog and she\"): "
             "does the model still expect \"lily\" or \"her\" at the end? Look at the top 10 of the last step.\n"
             "3. Start free running at step 1: how long before the two columns read different words?")

show_source(RecurrentLM.trace, {"rnn": elman_cell, "lstm": lstm_cell, "gru": gru_cell}[cfg.cell], read, free_run)
