"""The neural LM and word embeddings: Bengio et al. (2003) opened up, its fixed window, then the embedding space."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from models.ffnn import FFNNLM
from models.readings.embeddings import (
    ANALOGY_FILE,
    AnalogyScore,
    EmbeddingMap,
    PairCosines,
    Ranked,
    UnknownWord,
    analogy,
    embedding_map,
    embedding_table,
    neighbours,
    pair_cosines,
    rank_by_cosine,
    read_analogies,
    score_analogies,
)
from models.readings.ffnn import WindowCost, WindowEdit, WindowWalk, edit_far_word, walk, window_cost
from models.registry import EMBEDDING_NAMES, label
from pages.components.embedding_charts import (
    analogy_ranks_figure,
    cosine_pairs_figure,
    edit_figure,
    map_figure,
    neighbours_figure,
    walk_figure,
    window_cost_figure,
)
from pages.components.loaders import figure_cache, get_model, reading_cache
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

NAME = "ffnn"
COMPARED = ("ffnn", "lstm", "transformer")  # the window model against two that read further back
TABLES = (*EMBEDDING_NAMES, "ffnn", "rnn", "lstm", "gru", "transformer")  # every model with an embedding table
# Simple categories for the map (the page's own lists; words outside the vocabulary are left out).
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("names", ("lily", "tim", "tom", "ben", "sue", "sara", "max", "mia", "anna", "sam", "jack", "lucy", "timmy",
               "spot", "bob", "amy", "jane", "mark", "kitty", "mary")),
    ("colours", ("red", "blue", "green", "yellow", "pink", "purple", "orange", "white", "black", "brown")),
    ("animals", ("dog", "cat", "bird", "fish", "bear", "bunny", "duck", "frog", "rabbit", "lion", "mouse", "cow",
                 "horse", "pig", "puppy", "kitten", "monkey", "owl", "squirrel", "fox")),
    ("past-tense verbs", ("said", "went", "saw", "was", "had", "played", "looked", "ran", "found", "wanted", "asked",
                          "smiled", "felt", "came", "made", "took", "gave", "got", "jumped", "laughed")),
    ("numbers", ("one", "two", "three", "four", "five", "six", "seven", "ten")),
    ("family", ("mom", "dad", "mommy", "daddy", "mother", "father", "sister", "brother", "grandma", "grandpa")),
    ("feelings", ("happy", "sad", "scared", "angry", "excited", "proud", "sorry", "surprised")),
)
CATEGORY_ORDER = tuple(name for name, _ in CATEGORIES)

TRY_THIS = (
    "Before moving the position slider: which of the 10 next words will change when the window slides by one word? "
    "Then check how many of the four words in the window changed.",
    "Edit a word five or more places back. Predict first: will the feed-forward model's bar move at all? The LSTM's?",
    "Pick word2vec, then the transformer, and look up the neighbours of *happy*. Which model puts other feelings "
    "closest?",
    "Try the analogy *king − man + woman*. Before scrolling to the ranks: in which model will *queen* land in the "
    "top 10?",
)


@reading_cache
def walk_of(text: str, position: int) -> WindowWalk:
    """The feed-forward model's prediction of token ``position``, layer by layer (cached per text and position)."""
    bundle = get_model(NAME).bundle
    return walk(bundle.model, bundle.tokenizer, text, position)


@reading_cache
def cost_of() -> WindowCost:
    return window_cost(get_model(NAME).bundle.model)


@reading_cache
def edit_of(text: str, index: int, replacement: str, names: tuple[str, ...]) -> WindowEdit:
    """Every compared model's next-word prediction before and after one word of the sentence is replaced."""
    bundle = get_model(NAME).bundle
    models = {n: get_model(n).bundle.model for n in names}
    return edit_far_word(models, bundle.tokenizer, text, index, replacement)


def table_of(name: str) -> np.ndarray:
    """The model's embedding table (a view of its weights: not cached, not copied)."""
    return embedding_table(get_model(name).bundle.model)


@reading_cache
def pairs_of(name: str, tokens: tuple[str, ...]) -> PairCosines:
    return pair_cosines(table_of(name), get_model(name).bundle.tokenizer.vocab.stoi, list(tokens))


@reading_cache
def map_of(name: str, tokens: tuple[str, ...]) -> EmbeddingMap:
    return embedding_map(table_of(name), get_model(name).bundle.tokenizer.vocab.itos, list(tokens), CATEGORIES)


@reading_cache
def neighbours_of(name: str, word: str, k: int) -> Ranked:
    vocab = get_model(name).bundle.tokenizer.vocab
    return neighbours(table_of(name), vocab.itos, vocab.stoi, word, k)


@reading_cache
def analogy_of(name: str, a: str, b: str, c: str, expected: str | None) -> Ranked:
    vocab = get_model(name).bundle.tokenizer.vocab
    return analogy(table_of(name), vocab.itos, vocab.stoi, a, b, c, 10, expected)


@reading_cache
def list_score_of(name: str) -> AnalogyScore:
    """Top-1 and top-5 accuracy of the model's table on the project's analogy list (assets/analogies.txt)."""
    return score_analogies(table_of(name), get_model(name).bundle.tokenizer.vocab.stoi, read_analogies(ANALOGY_FILE))


@figure_cache
def walk_figure_of(text: str, position: int):
    w = walk_of(text, position)
    return walk_figure(w.context, w.rows, w.hidden, w.top_words, w.top_probs)


@figure_cache
def cost_figure_of():
    cost = cost_of()
    return window_cost_figure(cost.ks, cost.first_layer, cost.one_hot_layer, cost.rest, cost.k)


@figure_cache
def edit_figure_of(text: str, index: int, replacement: str, names: tuple[str, ...]):
    edit = edit_of(text, index, replacement, names)
    return edit_figure([label(n) for n in edit.names], edit.max_change)


@figure_cache
def pairs_figure_of(name: str, tokens: tuple[str, ...]):
    pairs = pairs_of(name, tokens)
    return cosine_pairs_figure(pairs.words, pairs.one_hot, pairs.embedded, label(name))


@figure_cache
def neighbours_figure_of(name: str, word: str, k: int):
    r = neighbours_of(name, word, k)
    return neighbours_figure(r.words, r.cosines, f"{label(name)}: nearest to '{word.strip().lower()}'")


@figure_cache
def analogy_figure_of(names: tuple[str, ...], a: str, b: str, c: str, expected: str):
    ranks = [analogy_of(n, a, b, c, expected).expected_rank for n in names]
    return analogy_ranks_figure([label(n) for n in names], ranks, expected.strip().lower())


@figure_cache
def map_figure_of(name: str, tokens: tuple[str, ...]):
    m = map_of(name, tokens)
    return map_figure(m.words, m.xy, m.category, m.in_sentence, CATEGORY_ORDER, m.explained, label(name))


def header() -> None:
    st.title("The neural LM and word embeddings")
    st.latex(r"x=[C(w_{t-4});\dots;C(w_{t-1})]\in\mathbb{R}^{kd},\quad h=\tanh(xW_1+b_1),\quad "
             r"\hat y=\operatorname{softmax}(hW_2+b_2)")
    st.latex(r"W_1\in\mathbb{R}^{kd\times H},\ W_2\in\mathbb{R}^{H\times V}")
    st.write("Bengio et al. (2003) replaced counts by vectors. Each of the k = 4 previous words is a one-hot vector "
             "of length V; multiplying it by the embedding table C picks one row, the word's embedding of d numbers. "
             "The k embeddings are joined into x, a tanh layer turns x into h, and a softmax over the whole "
             "vocabulary gives the next word. Words that appear in similar places get similar rows of C, so what "
             "the model learns about one word carries over to its neighbours — no sparsity problem.")


@st.fragment
def walk_section(text: str) -> None:
    """1. One prediction followed through the network (a fragment: the slider reruns only this)."""
    st.subheader("1. One prediction, step by step")
    n = max(1, len(get_model(NAME).bundle.tokenizer.tokens(text)))
    position = st.slider("Predict the word after word number", 0, n, n, key="ffnn_position",
                         help="0 predicts the first word (after the start token <eos>); the last value predicts "
                              "the word after your sentence.") + 1
    w = walk_of(text, position)
    cfg = get_model(NAME).bundle.model.config
    one_hot = pd.DataFrame({"word": [f"w(t−{cfg.k - i})" for i in range(cfg.k)], "token": w.context,
                            "index of the single 1": w.one_hot, "length of the one-hot vector": w.vocab_size})
    st.dataframe(one_hot, hide_index=True, width="stretch")
    say("The window: <b>{ctx}</b>. Each one-hot vector has V = {V} entries, all 0 but one. The rows of C they "
        "pick are joined into x: {k} × {d} = {kd} numbers; W₁ ({kd} × {H}) maps x to the {H} hidden units.",
        ctx=" ".join(w.context), V=f"{w.vocab_size:,}", k=cfg.k, d=cfg.n_embd, kd=cfg.k * cfg.n_embd, H=cfg.n_hidden)
    chart(walk_figure_of(text, position), key="ffnn_walk")
    if w.target is not None:
        say("The word that really comes next, <b>{word}</b>, gets p = {p} (rank {rank} of {V}).", word=w.target,
            p=f"{w.target_prob:.4f}", rank=f"{w.target_rank:,}", V=f"{w.vocab_size:,}")
    with st.expander("The numbers: x, h and the top 10"):
        st.dataframe(pd.DataFrame({"x (first 16 of " + str(len(w.x)) + ")": w.x[:16]}).T, width="stretch")
        st.dataframe(pd.DataFrame({"h = tanh(x W₁ + b₁), first 16 units": w.hidden[:16]}).T, width="stretch")
        table_with_csv(pd.DataFrame({"word": w.top_words, "p": w.top_probs}), "ffnn_top10.csv", key="ffnn_csv")


def window_cost_part() -> None:
    cost = cost_of()
    chart(cost_figure_of(), key="ffnn_cost")
    i = int(np.flatnonzero(cost.ks == cost.k)[0]) if cost.k in cost.ks else 0
    st.write(f"Only W₁ grows with the window: k·d·H = {cost.k} · d · H = {int(cost.first_layer[i]):,} weights now; "
             f"doubling k doubles it. Fed one-hot vectors directly (the lecture's W₁ ∈ ℝ^(kV×H)) it would be "
             f"k·V·H = {int(cost.one_hot_layer[i]):,}. The rest of the model (C, b₁, W₂, b₂) is {cost.rest:,} "
             "weights whatever k is. And a wider window is still a window: the words before it never count.")


@st.fragment
def window_section(text: str) -> None:
    """2. The fixed window: an edit far back moves the LSTM and the transformer, never the feed-forward model."""
    st.subheader("2. The fixed window")
    names = available_models(COMPARED)
    tokens = get_model(NAME).bundle.tokenizer.tokens(text)
    k = get_model(NAME).bundle.model.config.k
    far = [i for i in range(1, len(tokens) + 1) if len(tokens) + 1 - i > k]  # ids index: ≥ k+1 places back
    if not far:
        st.info(f"Your sentence has {len(tokens)} words: type one with more than {k} to edit a word outside the "
                "window.")
    else:
        c1, c2 = st.columns(2)
        index = c1.selectbox("Word to change (outside the window)", far, key="ffnn_edit_at",
                             format_func=lambda i: f"{i}. {tokens[i - 1]} ({len(tokens) + 1 - i} places back)")
        replacement = c2.text_input("Replace it by", "dragon", key="ffnn_edit_word", max_chars=30)
        try:
            edit = edit_of(text, index, replacement, tuple(names))
        except UnknownWord as err:
            st.warning(str(err))
        else:
            edit_result(edit, edit_figure_of(text, index, replacement, tuple(names)))
    window_cost_part()


def edit_result(edit: WindowEdit, figure) -> None:
    say("Predicting the word after <b>{end}</b>, with word {i} (<b>{old}</b>, {d} places back) replaced by "
        "<b>{new}</b>:", end=" ".join(edit.tokens[-4:]), i=edit.index, old=edit.tokens[edit.index], d=edit.distance,
        new=edit.edited[edit.index])
    chart(figure, key="ffnn_edit")
    st.dataframe(pd.DataFrame({
        "model": [label(n) for n in edit.names], "first choice before": edit.top_before,
        "its p before": edit.p_before, "its p after": edit.p_after, "first choice after": edit.top_after,
        "max |Δ log p|": edit.max_change}), hide_index=True, width="stretch")
    k = get_model(NAME).bundle.model.config.k
    st.caption(f"The feed-forward model reads only the last {k} words, so its next-word distribution is the same to "
               "the last bit: Δ = 0 exactly. The LSTM carries a state through every word and the transformer attends "
               "to every word within its positions (the last 64 tokens), so the edit reaches both.")


@st.fragment
def embedding_sections(text: str) -> None:
    """3–5: the picked model's embeddings (a fragment: the picker and the words rerun only this)."""
    st.header("Embeddings")
    names = available_models(TABLES)
    if not names:
        st.info("No model with an embedding table could be loaded (see Checkpoints in the sidebar).")
        return
    name = model_select("Model whose embedding table to explore", "emb_model", names)
    tokens = tuple(get_model(name).bundle.tokenizer.tokens(text))
    onehot_section(name, tokens)
    map_section(name, tokens)
    neighbours_section(name, names, tokens)
    analogy_section(name, names)


def onehot_section(name: str, tokens: tuple[str, ...]) -> None:
    st.subheader("3. One-hot vs distributed")
    st.latex(r"\cos(x,y)=\frac{x\cdot y}{\lVert x\rVert\,\lVert y\rVert},\qquad "
             r"\cos(\text{onehot}(a),\text{onehot}(b))=0\ \text{for}\ a\neq b")
    pairs = pairs_of(name, tokens)
    if len(pairs.words) < 2:
        st.info("Type a sentence with at least two different known words to compare them.")
        return
    chart(pairs_figure_of(name, tokens), key="emb_pairs")
    i, j = np.unravel_index(np.argmax(pairs.embedded - 2 * np.eye(len(pairs.words))), pairs.embedded.shape)
    say("Two different one-hot vectors never share a 1, so every pair of words is equally unrelated: cosine 0. The "
        "embeddings of {model} are not: among your words, <b>{a}</b> and <b>{b}</b> are the closest pair "
        "(cosine {c}).", model=label(name), a=pairs.words[i], b=pairs.words[j], c=f"{pairs.embedded[i, j]:.2f}")


def map_section(name: str, tokens: tuple[str, ...]) -> None:
    st.subheader("4. The embedding space")
    chart(map_figure_of(name, tokens), key="emb_map")
    st.caption("The 500 most frequent words (and the page's category words and your sentence's words) projected on "
               "the first two principal axes of the unit-length embeddings (PCA). The axes keep only a small share "
               "of the variance: two words far apart here can still be close in all d dimensions — the "
               "neighbours below are measured in all of them. Ringed and labelled: your sentence.")


def neighbours_section(name: str, names: list[str], tokens: tuple[str, ...]) -> None:
    known = [t for t in tokens if t in get_model(name).bundle.tokenizer.vocab.stoi and t.isalpha()]
    c1, c2 = st.columns([3, 1])
    word = c1.text_input("Nearest neighbours of", known[-1] if known else "happy", key="emb_word", max_chars=30)
    k = c2.slider("How many", 5, 20, 10, key="emb_k")
    try:
        ranked = {n: neighbours_of(n, word, k) for n in names}
    except UnknownWord as err:
        st.warning(str(err))
        return
    chart(neighbours_figure_of(name, word, k), key="emb_neighbours")
    st.write("The same word's neighbours in every model, side by side (cosine in brackets):")
    st.dataframe(pd.DataFrame({label(n): [f"{w} ({c:.2f})" for w, c in zip(r.words, r.cosines, strict=True)]
                               for n, r in ranked.items()}), hide_index=True, width="stretch")


def analogy_section(name: str, names: list[str]) -> None:
    st.subheader("5. Analogies, honestly")
    st.latex(r"\hat d=\arg\max_{w\notin\{a,b,c\}}\cos\big(w,\ \hat a-\hat b+\hat c\big)\qquad"
             r"(\hat v = v/\lVert v\rVert)")
    cols = st.columns(4)
    a = cols[0].text_input("a", "king", key="emb_a", max_chars=30)
    b = cols[1].text_input("− b", "man", key="emb_b", max_chars=30)
    c = cols[2].text_input("+ c", "woman", key="emb_c", max_chars=30)
    d = cols[3].text_input("expected answer", "queen", key="emb_d", max_chars=30)
    try:
        results = {n: analogy_of(n, a, b, c, d.strip() or None) for n in names}
    except UnknownWord as err:
        st.warning(str(err))
        return
    r = results[name]
    say("{model}: {a} − {b} + {c} = <b>{top}</b>. The three input words are left out of the ranking (otherwise the "
        "answer is nearly always one of them).", model=label(name), a=a, b=b, c=c, top=r.words[0])
    st.dataframe(pd.DataFrame({"rank": range(1, len(r.words) + 1), "word": r.words, "cosine": r.cosines}),
                 hide_index=True, width="stretch")
    if r.expected is not None:
        say("<b>{d}</b> lands at rank {rank} of {V} candidates in {model}.", d=r.expected, rank=f"{r.expected_rank:,}",
            V=f"{len(get_model(name).bundle.tokenizer.vocab) - 3 - 3:,}", model=label(name))
        chart(analogy_figure_of(tuple(results), a, b, c, d.strip()), key="emb_analogy")
    scores = {n: list_score_of(n) for n in names}
    with st.expander("Every model on our whole analogy list", expanded=True):
        st.dataframe(pd.DataFrame({"model": [label(n) for n in scores], "analogies": [x.n for x in scores.values()],
                                   "top-1": [x.top1 for x in scores.values()],
                                   "top-5": [x.top5 for x in scores.values()]}), hide_index=True, width="stretch")
        st.caption(f"{scores[names[0]].n} analogies of common words in five groups (he : she, singular : plural, "
                   "present : past, adjective : comparative, verb : -ing), every ordered pair of pairs within a group, "
                   "written for this project: a line a b c d counts when d is the first (top-1) or among the first "
                   "five (top-5) of b − a + c.")
    st.caption("Small models trained on children's stories often miss: the figure shows where the answer lands in "
               "every model, however far down, rather than examples picked because they work. The transformer's table "
               "is also its output layer (tied weights), so it is trained twice over: as input and as the vector "
               "each next word is scored against. "
               "python -m models.embeddings NAME --analogies assets/analogies.txt scores a whole list.")


header()
if not available_models((NAME,)):
    st.error("The feed-forward model could not be loaded: see Checkpoints in the sidebar for the rebuild command.")
    st.stop()
sentence = shared_sentence()
if sentence.empty:
    st.stop()
walk_section(sentence.text)
window_section(sentence.text)
embedding_sections(sentence.text)
try_this(*TRY_THIS)
show_source(FFNNLM.forward, walk, edit_far_word, window_cost, neighbours, analogy, rank_by_cosine, embedding_map,
            score_analogies)
