"""Compare models: the perplexity ladder, every model on the student's sentence, what context buys."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from models.context_curve import POSITIONS, loss_by_position
from models.readings.compare import (
    LECTURE_LADDER,
    RANK_BINS,
    SentenceScores,
    ladder_ratios,
    rank_bin,
    score_sentence,
    token_scores,
)
from models.registry import label
from pages.components.compare_charts import (
    ladder_figure,
    perplexity_params_figure,
    position_figure,
    rank_figure,
    surprisal_figure,
)
from pages.components.loaders import figure_cache, get_model, reading_cache
from pages.components.tokens import token_spans
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

TRY_THIS = (  # predict, then reveal
    "Type a sentence with a name early and a pronoun late (\"lily found a cat . she gave it milk and then "
    "lily\"): which models still expect the name at the end?",
    "Find a token where the n-gram beats the transformer (★ on the n-gram's row). Why can a count win there?",
    "In the loss by position, at which position does each curve stop falling? Compare with each model's window.",
)
RANK_SHADES = {"top-1": 1.0, "top-10": 0.7, "top-100": 0.4, "beyond": 0.05}  # viridis: yellow … dark purple


@reading_cache
def scores_of(names: tuple[str, ...], text: str) -> SentenceScores:
    """Every model scores the sentence with its own forward (cached per model set and text)."""
    return score_sentence({n: (get_model(n).bundle.model, get_model(n).bundle.tokenizer) for n in names}, text)


@figure_cache
def surprisal_of(names: tuple[str, ...], text: str):
    s = scores_of(names, text)
    return surprisal_figure(s.surprisal_bits, [label(n) for n in s.models], s.tokens, s.winners)


@figure_cache
def ranks_of(names: tuple[str, ...], text: str, name: str):
    s = scores_of(names, text)
    m = s.models.index(name)
    return rank_figure(s.ranks[m], s.tokens, [RANK_SHADES[rank_bin(int(r))] for r in s.ranks[m]], label(name))


@figure_cache
def ladder_figures(names: tuple[str, ...]):
    """The two ladders as ratios, and perplexity against parameters, from the manifest."""
    meta = {n: get_model(n).bundle.meta for n in names}
    ours = ladder_ratios({label(n): meta[n]["valid_ppl"] for n in names}, label(names[0]))
    lecture = ladder_ratios(dict(LECTURE_LADDER), LECTURE_LADDER[0][0])
    return (ladder_figure(ours, lecture),
            perplexity_params_figure({n: meta[n]["params"] for n in names}, {n: meta[n]["valid_ppl"] for n in names}))


@figure_cache
def positions_of(names: tuple[str, ...]):
    return position_figure({label(n): np.asarray(get_model(n).bundle.meta["loss_by_position"]["valid"]["nats"])
                            for n in names if "loss_by_position" in get_model(n).bundle.meta})


def ladder_section(names: tuple[str, ...]) -> None:
    """Section 1: the lecture's ladder beside ours, sizes and costs, perplexity against parameters."""
    st.subheader("1. The ladder")
    meta = {n: get_model(n).bundle.meta for n in names}
    lecture = pd.DataFrame({"model (lecture)": [m for m, _ in LECTURE_LADDER],
                            "perplexity": [p for _, p in LECTURE_LADDER],
                            "÷ trigram": [p / LECTURE_LADDER[0][1] for _, p in LECTURE_LADDER]})
    ours = pd.DataFrame({"model (ours)": [label(n) for n in names],
                         "valid perplexity": [meta[n]["valid_ppl"] for n in names],
                         "÷ n-gram": [meta[n]["valid_ppl"] / meta[names[0]]["valid_ppl"] for n in names]})
    left, right = st.columns(2)
    left.dataframe(lecture, hide_index=True, width="stretch")
    right.dataframe(ours, hide_index=True, width="stretch")
    st.caption("The lecture's numbers are word-level perplexities on Penn Treebank (GPT-2's and GPT-3's published "
               "results); ours are on the TinyStories valid split with a 5,502-word vocabulary. Perplexities on "
               "different corpora and vocabularies do not compare, so both ladders are shown as ratios to their own "
               "n-gram.")
    ladder, params = ladder_figures(names)
    chart(ladder, key="cmp_ladder")
    costs = pd.DataFrame({"model": [label(n) for n in names], "parameters": [meta[n]["params"] for n in names],
                          "checkpoint (MB)": [round(meta[n]["bytes"] / 1e6, 1) for n in names],
                          "training (min)": [round(meta[n]["wall_time_s"] / 60, 1) for n in names],
                          "tokens/s in training": [meta[n]["tokens_per_s"] for n in names]})
    st.dataframe(costs, hide_index=True, width="stretch")
    chart(params, key="cmp_params")
    st.write("Deck 004 cites Collins, Sohl-Dickstein and Sussillo (2016): with the same number of parameters, "
             "recurrent cells of different designs reach about the same quality. Our LSTM and GRU have about the "
             "same size and land close together; the transformer has fewer parameters than either and still wins, "
             "because it reads its whole window directly instead of through one state.")


def sentence_section(names: tuple[str, ...], text: str) -> None:
    """Sections 2 and 3: guess which model finds the sentence easiest, then every model's numbers on it."""
    s = scores_of(names, text)
    st.subheader("2. Predict, then reveal")
    st.write("Before you look at the heatmap below: which model finds your sentence easiest (lowest perplexity)?")
    pick = st.radio("My guess", names, format_func=label, horizontal=True, key="cmp_guess")
    if st.toggle("Reveal", key="cmp_reveal"):
        best = int(np.argmin(s.perplexity))
        say("Easiest for <b>{best}</b> (perplexity {ppl}); your guess, {guess}, has perplexity {mine}.",
            best=label(s.models[best]), ppl=f"{s.perplexity[best]:.1f}", guess=label(pick),
            mine=f"{s.perplexity[s.models.index(pick)]:.1f}")
    st.subheader("3. Your sentence under every model")
    if s.cut:
        st.info(f"The page compares the first {len(s.tokens)} tokens of your sentence: the transformer reads at most "
                "64 ids, the start <eos> included.")
    st.latex(r"\text{surprisal}(w_t)=-\log_2 p(w_t\mid w_{<t})\ \text{bits},\qquad "
             r"\mathrm{PPL}=2^{\frac{1}{T}\sum_t \text{surprisal}(w_t)}")
    chart(surprisal_of(names, text), key="cmp_surprisal")
    st.caption("Colour: surprisal in bits, dark purple = expected (0 bits), yellow = surprising. ★ marks the model "
               "that gave the token the highest probability. No <eos> is appended: the sentence is scored as a "
               "text that may go on, exactly as `python -m models.evaluate NAME --text FILE` scores a file.")
    table = pd.DataFrame({"model": [label(n) for n in s.models], "perplexity": s.perplexity,
                          "total bits": s.surprisal_bits.sum(1), "tokens won (★)":
                          [int((s.winners == m).sum()) for m in range(len(s.models))]})
    table_with_csv(table, "perplexity_by_model.csv", key="cmp_csv")
    rank_section(names, text, s)
    disagreement_section(s)


@st.fragment
def rank_section(names: tuple[str, ...], text: str, s: SentenceScores) -> None:
    """The sentence coloured by each token's rank under one model (a fragment: the model choice reruns only this)."""
    name = model_select("Rank of each token under", "cmp_model", list(names), index=len(names) - 1)
    m = s.models.index(name)
    bands = [rank_bin(int(r)) for r in s.ranks[m]]
    chart(ranks_of(names, text, name), key="cmp_ranks")
    st.caption("Tokens coloured by their band — yellow: the model's first choice (top-1); green: top-10; teal: "
               "top-100; dark purple: beyond. Hover for the rank.")
    st.html(token_spans(s.tokens, [RANK_SHADES[b] for b in bands],
                        titles=[f"{t}: rank {int(r):,} ({b})" for t, r, b in zip(s.tokens, s.ranks[m], bands,
                                                                                    strict=True)]))
    counts = {lab: bands.count(lab) for _, lab in RANK_BINS}
    say("{name}: {counts}.", name=label(name), counts=", ".join(f"{v} {k}" for k, v in counts.items()))


def disagreement_section(s: SentenceScores) -> None:
    """The tokens where the models disagree most."""
    st.markdown("##### Where the models disagree most")
    rows = []
    for t in s.disagreements():
        bits = s.surprisal_bits[:, t]
        rows.append({"token": f"{t + 1}. {s.tokens[t]}", "least surprised": label(s.models[int(bits.argmin())]),
                     "bits": float(bits.min()), "most surprised": label(s.models[int(bits.argmax())]),
                     "bits ": float(bits.max()), "spread (bits)": float(bits.max() - bits.min())})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def context_section(names: tuple[str, ...]) -> None:
    """Section 4: the loss at each position of a text read from scratch (measured, from the manifest)."""
    st.subheader("4. What context buys")
    chart(positions_of(names), key="cmp_positions")
    st.write(f"The TinyStories valid split is cut into blocks of {POSITIONS + 1} tokens and every model reads each "
             "block from an empty context, so position t predicts a token from the t tokens before it (measured once, "
             "with `python -m models.context_curve`, and stored in the manifest). The trigram sees at most two "
             "earlier words and the feed-forward model four, so their curves go flat after positions 2 and 4; the "
             "recurrent models and the transformer keep using what came earlier, and their loss keeps falling. "
             "(The curves wiggle together: each position holds different tokens, the same ones for every model.)")


st.title("Compare the models")
st.write("Six language models, one vocabulary, one test text: from counts to a transformer. Which step up the ladder "
         "helps, and why — on held-out text and on your own sentence.")
all_names = tuple(available_models())
if not all_names:
    st.error("No language model could be loaded: see Checkpoints in the sidebar for the command that rebuilds them.")
    st.stop()
ladder_section(all_names)
sentence = shared_sentence()
if sentence.empty:
    st.stop()
if not any(not u for u in scores_of(all_names, sentence.text).unknown):
    st.info("Every word of your sentence is outside the 5,502-word vocabulary, so every model reads only <unk>: "
            "type a sentence with some common words.")
sentence_section(all_names, sentence.text)
context_section(all_names)
try_this(*TRY_THIS)
show_source(score_sentence, token_scores, loss_by_position)
