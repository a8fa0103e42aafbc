"""Inside the transformer: softmax(QKᵀ/√d + M) V for every layer and head, the mask, positions, the residual stream."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from models.readings.transformer import (
    TransformerReading,
    forward_ms,
    future_leak,
    logit_lens,
    position_similarity,
    read_transformer,
    transformer_ids,
)
from models.registry import label
from models.transformer import Block, CausalSelfAttention, TransformerConfig, TransformerLM, sinusoidal_positions
from pages.components.attention_charts import (
    attention_grid,
    head_colour,
    head_edges,
    head_heatmap,
    lens_figure,
    mask_figure,
    parallel_figure,
    positions_figure,
    residual_figure,
    scores_figure,
    weighted_values_figure,
)
from pages.components.loaders import figure_cache, get_model
from pages.components.palette import CATEGORICAL
from pages.components.widgets import (
    available_models,
    model_select,
    say,
    shared_sentence,
    show_source,
    table_with_csv,
)

NAME = "transformer"
COLOUR_NAMES = dict(zip(CATEGORICAL, ("blue", "orange", "green", "pink", "sky blue", "vermilion", "yellow", "black"),
                        strict=True))
TIMED_LENGTHS = (8, 16, 32, 64)


def sentence_ids(text: str) -> tuple[list[int], bool]:
    """<eos> + the sentence's ids, cut to the model's context; and whether it was cut."""
    bundle = get_model(NAME).bundle
    return transformer_ids(bundle.model, [bundle.tokenizer.vocab.eos_id] + bundle.tokenizer.encode(text))


@st.cache_data(max_entries=512, show_spinner=False)
def reading_of(text: str) -> tuple[TransformerReading, bool]:
    """The transformer reads <eos> + the sentence (cached per text); and whether it was cut."""
    bundle = get_model(NAME).bundle
    ids, cut = sentence_ids(text)
    return read_transformer(bundle.model, bundle.tokenizer.vocab.itos, ids), cut


@figure_cache
def grid_figure(text: str):
    reading, _ = reading_of(text)
    return attention_grid(reading.attention, reading.tokens)


@figure_cache
def selected_figures(text: str, layer: int, head: int):
    """The selected head large, and its whole layer as edges."""
    reading, _ = reading_of(text)
    return (head_heatmap(reading.attention[layer, head], reading.tokens, layer, head),
            head_edges(reading.attention[layer], reading.tokens, layer))


@figure_cache
def query_figures(text: str, layer: int, head: int, t: int):
    """One query's scores and softmax, and the weighted sum of the values it reads."""
    reading, _ = reading_of(text)
    d = reading.q.shape[-1]
    keys = reading.tokens[: t + 1]
    scores, alpha = reading.scores[layer, head, t, : t + 1], reading.attention[layer, head, t, : t + 1]
    return (scores_figure(keys, scores, alpha, f"query {t + 1}: scores q·k/√{d} and their softmax"),
            weighted_values_figure(alpha, reading.v[layer, head, : t + 1], keys))


@figure_cache
def mask_of(text: str, layer: int, head: int, masked: bool):
    reading, _ = reading_of(text)
    return mask_figure(reading.scores[layer, head], reading.tokens, masked)


@st.cache_data(max_entries=512, show_spinner=False)
def causality_gap(text: str) -> tuple[int, float]:
    """Predictions for the first half of the sentence read alone vs inside the whole sentence: max difference."""
    ids, _ = sentence_ids(text)
    half = max(1, len(ids) // 2)
    return half, future_leak(get_model(NAME).bundle.model, ids, half)


@figure_cache
def stream_figures(text: str):
    reading, _ = reading_of(text)
    return (residual_figure(reading.residual_norm, reading.tokens),
            lens_figure(reading.lens_words, reading.lens_probs, reading.true_rank, reading.tokens))


@figure_cache
def positions_of(kind: str, used: int):
    """The model's learned position vectors, or the sinusoidal ones of Vaswani et al. at the same size."""
    model: TransformerLM = get_model(NAME).bundle.model
    cfg = model.config
    if kind == "learned" and cfg.positions == "learned":
        pe = model.position_encodings(cfg.block_size).detach().float().cpu().numpy()
        title = f"this model's learned position vectors ({cfg.block_size} × {cfg.n_embd})"
    else:
        pe = sinusoidal_positions(cfg.block_size, cfg.n_embd).numpy()
        title = f"sinusoidal PE(p, 2i) = sin(p/10000^(2i/d)), cos for 2i+1 ({cfg.block_size} × {cfg.n_embd})"
    return positions_figure(pe, position_similarity(pe), used, title)


@st.cache_data(max_entries=256, show_spinner="Timing both models…")
def timings(rnn_name: str, text: str) -> tuple[float, float, dict[str, np.ndarray]]:
    """Forward time of the RNN and the transformer on the sentence, and on the sentence repeated to each length."""
    rnn, tf = get_model(rnn_name).bundle.model, get_model(NAME).bundle.model
    ids, _ = sentence_ids(text)
    ids = ids if len(ids) > 1 else ids * 2
    padded = [(ids * (n // len(ids) + 1))[:n] for n in TIMED_LENGTHS]
    sweep = {label(rnn_name): np.array([forward_ms(rnn, p) for p in padded]),
             label(NAME): np.array([forward_ms(tf, p) for p in padded])}
    return forward_ms(rnn, ids), forward_ms(tf, ids), sweep


def head_label(h: int) -> str:
    return f"head {h + 1} ({COLOUR_NAMES[head_colour(h)]})"


st.title("Inside the transformer")
if not available_models((NAME,)):
    st.error("The transformer could not be loaded: see Checkpoints in the sidebar for the rebuild command.")
    st.stop()
model: TransformerLM = get_model(NAME).bundle.model
cfg = model.config
d = cfg.n_embd // cfg.n_head
st.latex(r"\operatorname{Attention}(Q,K,V)=\operatorname{softmax}\!\Big(\frac{QK^{\top}}{\sqrt{d}}+M\Big)V,"
         r"\qquad Q = XW^Q,\; K = XW^K,\; V = XW^V")
st.write(f"Our transformer has {cfg.n_layer} layers of {cfg.n_head} heads. Each token enters as a vector of "
         f"{cfg.n_embd} numbers (its embedding plus its position). In every layer each head projects every token to a "
         f"query q, a key k and a value v of d = {d} numbers; a token's query is compared with the keys of the tokens "
         "before it (q·k/√d), a softmax turns the scores into weights α, and the head returns the α-weighted sum of "
         "their values. All tokens do this at once — there is no loop over time.")

sentence = shared_sentence()
if sentence.empty:
    st.stop()
reading, cut = reading_of(sentence.text)
T = len(reading.tokens)
if cut:
    st.info(f"The transformer sees at most {cfg.block_size} tokens (it has {cfg.block_size} positions): the page reads "
            f"the first {cfg.block_size} of your sentence, counting the start token <eos>.")


@st.fragment
def heads_section(text: str, reading: TransformerReading, cfg: TransformerConfig) -> None:
    """Everything that follows the chosen layer and head (a fragment: changing them reruns only this)."""
    T = len(reading.tokens)
    d = cfg.n_embd // cfg.n_head
    c1, c2 = st.columns(2)
    layer = c1.selectbox("Layer", range(cfg.n_layer), format_func=lambda i: f"layer {i + 1}", key="tf_layer")
    head = c2.selectbox("Head", range(cfg.n_head), format_func=head_label, key="tf_head")
    big, edges = selected_figures(text, layer, head)
    left, right = st.columns([1, 1])
    left.plotly_chart(big, key="tf_head_map", width="stretch")
    right.plotly_chart(edges, key="tf_edges", width="stretch")
    st.caption("Right: the lecture's view of heads as labelled edges, like a dependency parse: a line joins each "
               "token (right) to every earlier token it reads with α ≥ 0.1, in the colour of its head, thicker for "
               "larger α. Click a head in the legend to hide it.")
    att = reading.attention[layer, head]
    table = pd.DataFrame(att, columns=[f"{j + 1}. {t}" for j, t in enumerate(reading.tokens)])
    table.insert(0, "query", [f"{i + 1}. {t}" for i, t in enumerate(reading.tokens)])
    with st.expander("The numbers behind the large heatmap"):
        table_with_csv(table, f"attention_layer{layer + 1}_head{head + 1}.csv", key="tf_csv")

    st.subheader("2. One query, opened up")
    t = st.slider("Query token", 1, T, min(T, 6), key="tf_query") - 1
    scores, alpha = reading.scores[layer, head, t, : t + 1], att[t, : t + 1]
    keys = reading.tokens[: t + 1]
    scores_fig, values_fig = query_figures(text, layer, head, t)
    say("Token {t}, <b>{word}</b>, asks with its query q; every token up to it answers with its key k. "
        "Layer {layer}, {head}.", t=t + 1, word=reading.tokens[t], layer=layer + 1, head=head_label(head))
    st.plotly_chart(scores_fig, key="tf_query_scores", width="stretch")
    top = float(scores.max())
    z = float(np.exp(scores - top).sum())
    st.latex(rf"s_j=\frac{{q_{{{t + 1}}}\cdot k_j}}{{\sqrt{{{d}}}}},\quad m=\max_j s_j={top:.2f},\quad "
             rf"\alpha_j=\frac{{\exp(s_j-m)}}{{Z}},\quad Z=\sum_{{j\le {t + 1}}}\exp(s_j-m)={z:.3f}")
    st.caption("Subtracting the largest score m changes nothing (it cancels in the fraction) but keeps exp from "
               "overflowing — torch's softmax does the same.")
    q, k = reading.q[layer, head, t], reading.k[layer, head, : t + 1]
    parts = pd.DataFrame({"key": [f"{j + 1}. {w}" for j, w in enumerate(keys)], "q·k": k @ q,
                          f"s = q·k/√{d}": scores, "α": alpha})
    st.dataframe(parts, hide_index=True, width="stretch")
    st.plotly_chart(values_fig, key="tf_values", width="stretch")
    st.caption(f"The head's output for this token is z = Σ α_j v_j ({d} numbers, bottom row). The {cfg.n_head} heads' "
               f"outputs are joined into {cfg.n_embd} numbers, mixed by W^O and added to the residual stream.")

    st.subheader("3. The causal mask")
    st.latex(r"M_{t_1 t_2}=\begin{cases}0 & t_2\le t_1\\ -\infty & t_2>t_1\end{cases}"
             r"\quad\Rightarrow\quad \alpha_{t_1 t_2}=0 \text{ for every later token}")
    masked = st.toggle("Apply the causal mask (turn it off to see what the model would read if it could see the "
                       "future)", value=True, key="tf_mask")
    st.plotly_chart(mask_of(text, layer, head, masked), key="tf_mask_map", width="stretch")
    st.write("A language model predicts the next token from the tokens before it. If token t could read token t+1 "
             "it could simply copy the answer, so during training every score above the diagonal is set to −∞ "
             "before the softmax: exp(−∞) = 0, so those weights are exactly zero and every row still sums to 1. "
             "That is why the upper triangle of every map above is empty.")


st.subheader("1. All heads at a glance")
st.write("Each thumbnail is one head: row t shows where token t looks (its weights over the tokens up to t). "
         "Pick a layer and a head to draw it large below. Each head keeps its colour on every figure.")
st.plotly_chart(grid_figure(sentence.text), key="tf_grid", width="stretch")
heads_section(sentence.text, reading, cfg)
half, gap = causality_gap(sentence.text)
say("Check, on your sentence: the model's predictions after the first {n} tokens, computed from those tokens alone "
    "and inside the whole sentence, differ by at most {gap} (largest logit difference) — the later words cannot "
    "reach them.", n=half, gap=f"{gap:.1e}")


@st.fragment
def positions_section(used: int) -> None:
    """The position vectors (a fragment: switching learned/sinusoidal reruns only this)."""
    st.subheader("4. Positions")
    st.write("Attention itself ignores order: shuffle the keys and the weighted sum is the same. So each token's "
             "input is its embedding plus a vector for its position, h₀(t) = e(w_t) + pos(t) (the lecture writes "
             "the two side by side). Our model learned its position vectors; the original transformer used fixed "
             "sines and cosines of many wavelengths.")
    kind = st.radio("Position vectors", ("learned", "sinusoidal"), horizontal=True, key="tf_positions",
                    format_func=lambda k: {"learned": "this model's (learned)",
                                           "sinusoidal": "sinusoidal (Vaswani et al. 2017)"}[k])
    st.plotly_chart(positions_of(kind, used), key="tf_positions_map", width="stretch")
    st.caption(f"Rows above the dotted line are the {used} positions your sentence uses. Right: neighbouring "
               "positions have similar vectors (the purple band along the diagonal), which lets attention tell near "
               "from far.")


positions_section(T)

st.subheader("5. The residual stream")
st.latex(r"x_{\ell}' = x_{\ell-1} + \operatorname{Attn}(\operatorname{LN}(x_{\ell-1})),\qquad "
         r"x_{\ell} = x_{\ell}' + W_2\,\operatorname{GELU}(W_1 \operatorname{LN}(x_{\ell}'))")
st.write("Each block adds to each token's vector rather than replacing it: attention adds what the token read from "
         "earlier tokens, and the feed-forward network (the same two-layer MLP at every position, no mixing between "
         "tokens) adds its own transformation. The vector that flows through — the residual stream — keeps growing.")
residual, lens = stream_figures(sentence.text)
st.plotly_chart(residual, key="tf_residual", width="stretch")
st.write("What does the stream already predict halfway up? Apply the model's final LayerNorm and output layer to "
         "the stream after each block (the \"logit lens\"): each cell shows the most probable next token read from "
         "that layer, coloured by its probability; hover for the top five and the rank of the true next token. "
         "Straight after the embedding the guess is mostly the token itself: the output layer shares its weights "
         "with the embedding, and only the blocks turn \"this word\" into \"the next word\".")
st.plotly_chart(lens, key="tf_lens", width="stretch")
improved = [int(np.median(reading.true_rank[ell, :-1])) for ell in range(cfg.n_layer + 1)] if T > 1 else []
if improved:
    say("Median rank of the true next token, read after the embedding and after each block: {ranks}.",
        ranks=" → ".join(str(r) for r in improved))


@st.fragment
def parallel_section(text: str, T: int, cfg: TransformerConfig) -> None:
    """Sequential steps and measured time, RNN vs transformer (a fragment: the RNN choice reruns only this)."""
    st.subheader("6. Parallel vs sequential")
    names = available_models(("rnn", "lstm", "gru"))
    if not names:
        st.info("No recurrent model is available to compare with (see Checkpoints in the sidebar).")
        return
    rnn_name = model_select("Compare with", "tf_rnn", names, index=1)
    rnn_ms, tf_ms, sweep = timings(rnn_name, text)
    c1, c2 = st.columns(2)
    c1.metric(f"{label(rnn_name)}: steps one after another", T, help=f"forward pass: {rnn_ms:.2f} ms")
    c2.metric("Transformer: steps one after another (layers)", cfg.n_layer, help=f"forward pass: {tf_ms:.2f} ms")
    say("On your sentence ({n} tokens), measured on this server (once per sentence): the {rnn} takes {r} ms, "
        "the transformer {t} ms.", n=T, rnn=label(rnn_name), r=f"{rnn_ms:.2f}", t=f"{tf_ms:.2f}")
    st.plotly_chart(parallel_figure(np.array(TIMED_LENGTHS), cfg.n_layer, sweep), key="tf_parallel",
                    width="stretch")
    st.write("An RNN must finish h₁ before it can start h₂: T steps, one after another, however many processors "
             "there are. A transformer layer computes every position at once from the layer below — only its "
             "layers run in sequence. That is what makes training on long texts fast on a GPU. On one CPU thread "
             "(this server gives each request one) the work is done in turn anyway, so the measured times mostly "
             "show the amount of arithmetic: attention's grows with T², the RNN's with T.")


parallel_section(sentence.text, T, cfg)

with st.expander("Try this: predict, then reveal", expanded=True):
    st.write("1. Before looking at layer 1: will some head attend mostly to the start token <eos>? (Many heads "
             "park their attention there when nothing earlier is useful.) Check the first column of the thumbnails.\n"
             "2. Find a head whose bright cells sit just left of the diagonal — a \"previous token\" head. Which layer "
             "is it in?\n"
             "3. In the logit lens, at which layer does the true next word first reach the top five?")

show_source(CausalSelfAttention.forward, Block.forward, TransformerLM.trace, read_transformer, logit_lens)
