"""Inside the transformer: softmax(QKᵀ/√d_k + M) V for every layer and head, the mask, positions, residual stream."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from models.readings.ablation import ablate_heads, knock_out_edge, rank_heads
from models.readings.transformer import (
    OpenedQuery,
    Positions,
    Timing,
    TransformerReading,
    causality_check,
    forward_work,
    logit_lens,
    mask_softmax,
    open_query,
    read_positions,
    read_transformer,
    time_forward,
    time_sweep,
)
from models.registry import label
from models.transformer import Block, CausalSelfAttention, LayerProbe, TransformerConfig, TransformerLM
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
from pages.components.classroom import question
from pages.components.loaders import figure_cache, get_model, reading_cache
from pages.components.palette import CATEGORICAL
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
from pages.views.transformer_probes import ablation_section, knockout_section, ranking_section

NAME = "transformer"
COLOUR_NAMES = dict(zip(CATEGORICAL, ("blue", "orange", "green", "pink", "sky blue", "vermilion", "yellow", "black"),
                        strict=True))
TIMED_LENGTHS = (8, 16, 32, 64)


TRY_THIS = (  # predict, then reveal
    'Before looking at layer 1: will some head attend mostly to the start token <eos>? (Many heads park '
    'their attention there when nothing earlier is useful.) Check the first column of the thumbnails.',
    'Find a head whose bright cells sit just left of the diagonal — a "previous token" head. Which layer '
    'is it in?',
    'In the logit lens, at which layer does the true next word first reach the top five?',
)


@reading_cache
def reading_of(text: str) -> TransformerReading:
    """The transformer reads <eos> + the sentence, cut to its block_size positions (cached per text)."""
    bundle = get_model(NAME).bundle
    return read_transformer(bundle.model, bundle.tokenizer, text)


@reading_cache
def query_of(text: str, layer: int, head: int, t: int) -> OpenedQuery:
    return open_query(reading_of(text), layer, head, t)


@reading_cache
def causality_of(text: str) -> tuple[int, float]:
    bundle = get_model(NAME).bundle
    return causality_check(bundle.model, bundle.tokenizer, text)


@reading_cache
def positions_reading(learned: bool) -> Positions:
    return read_positions(get_model(NAME).bundle.model, learned)


@reading_cache
def timings(rnn_name: str, text: str) -> Timing:
    """Forward time of the RNN and the transformer on the sentence, beside the sweep over the timed lengths."""
    tf = get_model(NAME).bundle
    return time_forward(get_model(rnn_name).bundle.model, tf.model, tf.tokenizer, text, TIMED_LENGTHS,
                        sweep_of(rnn_name))


@reading_cache
def sweep_of(rnn_name: str) -> np.ndarray:
    """Forward time of both models at each timed length: once per server and model (it does not depend on the text)."""
    return time_sweep(get_model(rnn_name).bundle.model, get_model(NAME).bundle.model, TIMED_LENGTHS)


@figure_cache
def grid_figure(text: str):
    reading = reading_of(text)
    return attention_grid(reading.attention, reading.tokens)


@figure_cache
def selected_figures(text: str, layer: int, head: int):
    """The selected head large, and its whole layer as edges."""
    reading = reading_of(text)
    return (head_heatmap(reading.attention[layer, head], reading.tokens, layer, head),
            head_edges(reading.attention[layer], reading.tokens, layer))


@figure_cache
def query_figures(text: str, layer: int, head: int, t: int):
    """One query's scores and softmax, and the weighted sum of the values it reads."""
    opened = query_of(text, layer, head, t)
    title = f"query {t + 1}: scores q·k/√d_k and their softmax"
    return (scores_figure(opened.keys, opened.scores, opened.alpha, title),
            weighted_values_figure(opened.weighted, opened.output, opened.keys))


@figure_cache
def mask_of(text: str, layer: int, head: int, masked: bool):
    reading = reading_of(text)
    scores = reading.scores[layer, head]
    return mask_figure(scores, mask_softmax(scores, masked), reading.tokens, masked)


@figure_cache
def stream_figures(text: str):
    reading = reading_of(text)
    return (residual_figure(reading.residual_norm, reading.tokens),
            lens_figure(reading.lens_words, reading.lens_probs, reading.true_rank, reading.tokens))


@figure_cache
def positions_of(kind: str, used: int):
    """The model's learned position vectors, or the sinusoidal ones of Vaswani et al. at the same size."""
    cfg = get_model(NAME).bundle.model.config
    pos = positions_reading(kind == "learned")
    size = f"{cfg.block_size} positions × d_model = {cfg.n_embd}"
    title = (f"this model's learned position vectors ({size})" if pos.learned else
             f"sinusoidal PE(p, 2i) = sin(p/10000^(2i/d_model)), cos for 2i+1 ({size})")
    return positions_figure(pos.vectors, pos.similarity, used, title)


@figure_cache
def parallel_of(rnn_name: str, text: str):
    cfg = get_model(NAME).bundle.model.config
    timing, work = timings(rnn_name, text), forward_work(cfg, TIMED_LENGTHS)
    parts = {"attention QKᵀ, αV: 2·L·T²·d_model": work.attention,
             "projections + FFN: 12·L·T·d_model²": work.projections,
             "output layer: T·d_model·n_vocab": work.output}
    times = {label(rnn_name): timing.rnn_sweep_ms, label(NAME): timing.transformer_sweep_ms}
    return parallel_figure(np.array(TIMED_LENGTHS), cfg.n_layer, parts, times)


def head_label(h: int) -> str:
    return f"head {h + 1} ({COLOUR_NAMES[head_colour(h)]})"


def header(cfg: TransformerConfig) -> None:
    """The lecture's formula with this model's sizes."""
    d_k = cfg.n_embd // cfg.n_head
    st.latex(r"\operatorname{head}_i=\operatorname{softmax}\!\Big(\frac{Q_iK_i^{\top}}{\sqrt{d_k}}+M\Big)V_i,"
             r"\quad Q_i=XW_i^Q,\ K_i=XW_i^K,\ V_i=XW_i^V")
    st.latex(r"\operatorname{MultiHead}(X)=[\operatorname{head}_1;\dots;\operatorname{head}_H]\,W^O")
    st.write(f"Our transformer has L = {cfg.n_layer} layers of H = {cfg.n_head} heads. Each token enters as a vector "
             f"of d_model = {cfg.n_embd} numbers (its embedding plus its position); X holds one such row per token "
             "(after a LayerNorm: see section 5). In every layer each head i projects every token to a query q, a "
             f"key k and a value v of d_k = d_model / H = {d_k} numbers; a token's query is compared with the keys "
             "of the tokens up to it "
             "(q·k/√d_k), a softmax turns the scores into weights α, and the head returns the α-weighted sum of "
             "their values. The heads' outputs are joined (;) and mixed by W^O. All tokens do this at once — there "
             "is no loop over time.")
    bias = " This model's projections also add a bias (Q_i = XW_i^Q + b_i^Q, and so on), which the lecture leaves out."
    st.caption("The lecture writes the same with I for d_k and J for d_model: α_ℓ[k, t₁, t₂] = softmax over t₂ of "
               "Query[k, t₁, I]·Key[k, t₂, I]/√I is head k's weight from token t₁ to token t₂ in layer ℓ, and W⁰ "
               "is W^O." + (bias if cfg.bias else ""))


def heads_part(text: str, reading: TransformerReading, cfg: TransformerConfig) -> tuple[int, int]:
    """The chosen layer and head, large and as edges, with the numbers behind them."""
    c1, c2 = st.columns(2)
    layer = c1.selectbox("Layer", range(cfg.n_layer), format_func=lambda i: f"layer {i + 1}", key="tf_layer")
    head = c2.selectbox("Head", range(cfg.n_head), format_func=head_label, key="tf_head")
    big, edges = selected_figures(text, layer, head)
    left, right = st.columns([1, 1])
    chart(big, key="tf_head_map", where=left)
    chart(edges, key="tf_edges", where=right)
    st.caption("Right: the lecture's view of heads as labelled edges, like a dependency parse: a line joins each "
               "token (right) to every earlier token it reads with α ≥ 0.1, in the colour of its head, thicker for "
               "larger α. Click a head in the legend to hide it.")
    labels = [f"{j + 1}. {t}" for j, t in enumerate(reading.tokens)]
    table = pd.DataFrame(reading.attention[layer, head], columns=labels)
    table.insert(0, "query", labels)
    with st.expander("The numbers behind the large heatmap"):
        table_with_csv(table, f"attention_layer{layer + 1}_head{head + 1}.csv", key="tf_csv")
    return layer, head


def query_part(text: str, reading: TransformerReading, cfg: TransformerConfig, layer: int, head: int) -> None:
    """One query's scores, softmax and weighted sum, written out."""
    st.subheader("2. One query, opened up")
    T, d_k = len(reading.tokens), cfg.n_embd // cfg.n_head
    t = st.slider("Query token", 1, T, min(T, 6), key="tf_query") - 1
    opened = query_of(text, layer, head, t)
    scores_fig, values_fig = query_figures(text, layer, head, t)
    say("Token {t}, <b>{word}</b>, asks with its query q; every token up to it answers with its key k. "
        "Layer {layer}, {head}.", t=t + 1, word=reading.tokens[t], layer=layer + 1, head=head_label(head))
    chart(scores_fig, key="tf_query_scores")
    st.latex(rf"s_j=\frac{{q_{{{t + 1}}}\cdot k_j}}{{\sqrt{{d_k}}}}\ (d_k={d_k}),\quad m=\max_j s_j={opened.top:.2f},"
             rf"\quad \alpha_j=\frac{{\exp(s_j-m)}}{{Z}},\quad Z=\sum_{{j\le {t + 1}}}\exp(s_j-m)={opened.z:.3f}")
    st.caption("Subtracting the largest score m changes nothing (it cancels in the fraction) but keeps exp from "
               "overflowing — torch's softmax does the same.")
    parts = pd.DataFrame({"key": [f"{j + 1}. {w}" for j, w in enumerate(opened.keys)], "q·k": opened.dots,
                          "s = q·k/√d_k": opened.scores, "α": opened.alpha})
    st.dataframe(parts, hide_index=True, width="stretch")
    chart(values_fig, key="tf_values")
    st.caption(f"The head's output for this token is Σ α_j v_j (d_k = {d_k} numbers, bottom row). The {cfg.n_head} "
               f"heads' outputs are joined into d_model = {cfg.n_embd} numbers, mixed by W^O and added to the "
               "residual stream.")


def mask_part(text: str, layer: int, head: int) -> None:
    """The causal mask, on and off."""
    st.subheader("3. The causal mask")
    st.latex(r"M_{t_1 t_2}=\begin{cases}0 & t_2\le t_1\\ -\infty & t_2>t_1\end{cases}"
             r"\quad\Rightarrow\quad \alpha_{t_1 t_2}=0 \text{ for every later token}")
    masked = st.toggle("Apply the causal mask (turn it off to see what the model would read if it could see the "
                       "future)", value=True, key="tf_mask")
    chart(mask_of(text, layer, head, masked), key="tf_mask_map")
    st.write("A language model predicts the next token from the tokens before it. If token t could read token t+1 "
             "it could simply copy the answer, so every score above the diagonal is set to −∞ before the softmax: "
             "exp(−∞) = 0, so those weights are exactly zero and every row still sums to 1. That is why the upper "
             "triangle of every map above is empty.")
    st.write("The mask is part of the model, not a training trick: it applies at inference too. Whenever the model "
             "reads a text — in training, here as it reads your sentence, when it scores a text or reads a prompt "
             "before generating — each position sees only the tokens up to it, exactly as in training, so its "
             "predictions mean the same. (While generating, the newest token has no later tokens to hide.)")


@st.fragment
def heads_section(text: str, reading: TransformerReading, cfg: TransformerConfig) -> None:
    """Everything that follows the chosen layer and head (a fragment: changing them reruns only this)."""
    layer, head = heads_part(text, reading, cfg)
    query_part(text, reading, cfg, layer, head)
    mask_part(text, layer, head)


def grid_section(text: str) -> None:
    st.subheader("1. All heads at a glance")
    st.write("Each thumbnail is one head: row t shows where token t looks (its weights over the tokens up to t). "
             "Pick a layer and a head to draw it large below. Each head keeps its colour on every figure.")
    chart(grid_figure(text), key="tf_grid")


def causality_note(text: str) -> None:
    half, gap = causality_of(text)
    say("Check, on your sentence: the model's predictions after the first {n} tokens, computed from those tokens "
        "alone and inside the whole sentence, differ by at most {gap} (largest logit difference) — the later words "
        "cannot reach them.", n=half, gap=f"{gap:.1e}")


@st.fragment
def positions_section(used: int) -> None:
    """The position vectors (a fragment: switching learned/sinusoidal reruns only this)."""
    st.subheader("4. Positions")
    st.write("Attention itself ignores order: shuffle the keys and the weighted sum is the same. So each token's "
             "input carries a vector for its position. The lecture concatenates the two, h₀(t) = [e(w_t); pos(t)]; "
             "this model, like Vaswani et al. and GPT, adds them: h₀(t) = e(w_t) + pos(t), both d_model long. Our "
             "model learned its position vectors; the original transformer used fixed sines and cosines of many "
             "wavelengths.")
    kind = st.radio("Position vectors", ("learned", "sinusoidal"), horizontal=True, key="tf_positions",
                    format_func=lambda k: {"learned": "this model's (learned)",
                                           "sinusoidal": "sinusoidal (Vaswani et al. 2017)"}[k])
    chart(positions_of(kind, used), key="tf_positions_map")
    st.caption(f"Rows above the dotted line are the {used} positions your sentence uses. Right: neighbouring "
               "positions have similar vectors (the purple band along the diagonal), which lets attention tell near "
               "from far.")


def stream_section(text: str, reading: TransformerReading, cfg: TransformerConfig) -> None:
    """The residual stream, its norm after each block, and the logit lens."""
    st.subheader("5. The residual stream")
    bias = (r"+b_1", r"+b_2") if cfg.bias else ("", "")
    st.latex(rf"x_{{\ell}}' = x_{{\ell-1}} + \operatorname{{MultiHead}}(\operatorname{{LN}}(x_{{\ell-1}})),\qquad "
             rf"x_{{\ell}} = x_{{\ell}}' + W_2\,\operatorname{{GELU}}(W_1 \operatorname{{LN}}(x_{{\ell}}'){bias[0]})"
             rf"{bias[1]},\qquad \hat y = \operatorname{{softmax}}(W_{{out}}\operatorname{{LN}}(x_{{{cfg.n_layer}}}))")
    st.write("Each block adds to each token's vector rather than replacing it (the lecture's residual link "
             "h_{l+1} = h_l + F(h_l)): attention adds what the token read from earlier tokens, and the feed-forward "
             "network (the same two-layer MLP at every position, no mixing between tokens) adds its own "
             "transformation. The vector that flows through is the residual stream; the figure shows its length "
             "after each block.")
    st.caption("Two differences from the lecture's block: this model normalises before each sub-layer (pre-norm, "
               "x + F(LN(x)), as GPT-2 and nanoGPT), where the original transformer normalises after the sum, "
               "LN(x + F(x)); and its feed-forward network uses GELU where the lecture's uses ReLU. W_out is the "
               "token embedding matrix (tied weights).")
    residual, lens = stream_figures(text)
    chart(residual, key="tf_residual")
    st.write("What does the stream already predict halfway up? Apply the model's final LayerNorm and output layer to "
             "the stream after each block (the \"logit lens\"): each cell shows the most probable next token read "
             "from that layer, coloured by its probability; hover for the top five and the rank of the true next "
             "token. Straight after the embedding the guess is mostly the token itself: the output layer shares its "
             "weights with the embedding, and only the blocks turn \"this word\" into \"the next word\".")
    chart(lens, key="tf_lens")
    if reading.median_ranks:
        say("Median rank of the true next token, read after the embedding and after each block: {ranks}.",
            ranks=" → ".join(str(r) for r in reading.median_ranks))


def parallel_numbers(timing: Timing, cfg: TransformerConfig, rnn: str) -> pd.DataFrame:
    """The counts and times behind the parallel-vs-sequential figure, one row per timed length."""
    work = forward_work(cfg, timing.lengths)
    return pd.DataFrame({
        "tokens T": timing.lengths, f"{rnn}: steps in sequence (T)": timing.lengths,
        "transformer: steps in sequence (L)": cfg.n_layer, "attention scores L·H·T²": work.attention_scores,
        "attention multiply-adds": work.attention, "projections + FFN multiply-adds": work.projections,
        "output layer multiply-adds": work.output, "attention share": np.round(work.attention_share, 4),
        f"{rnn} ms": np.round(timing.rnn_sweep_ms, 3), "transformer ms": np.round(timing.transformer_sweep_ms, 3)})


def pace(ratio: float, grew: float) -> str:
    """How a time grew when T grew ×``grew``, in words."""
    if ratio < 0.8 * grew:
        return "less than linearly"
    return "about linearly" if ratio <= 1.5 * grew else "faster than linearly"


def measured_growth(timing: Timing, cfg: TransformerConfig, rnn: str) -> None:
    """What the timings show, and where the T² term is."""
    work, last = forward_work(cfg, timing.lengths), len(timing.lengths) - 1
    grew = timing.lengths[-1] / timing.lengths[0]
    tf_x, rnn_x = timing.growth
    say("What the timings show: from T = {t0} to T = {t1} tokens (×{g}) the transformer's time grew ×{tf} "
        "({tf_pace}) and the {rnn}'s ×{r} ({r_pace}); linear growth would be ×{g}, quadratic ×{g2}. A fixed cost "
        "per call makes short inputs look dear.", t0=timing.lengths[0], t1=timing.lengths[-1], g=f"{grew:g}",
        g2=f"{grew ** 2:g}", tf=f"{tf_x:.1f}", tf_pace=pace(tf_x, grew), rnn=rnn, r=f"{rnn_x:.1f}",
        r_pace=pace(rnn_x, grew))
    say("The T² term is real but small here. Attention compares every query with every key: T² scores per head, "
        "L·H·T² = {scores} scores in all at T = {t1}. Each score and each weighted value costs d_k multiply-adds, "
        "2·L·T²·d_model = {att} in all — only {share} of the pass. The rest grows with T: the projections and FFN "
        "(12·d_model² per token and layer, {proj}) and the output layer (d_model·n_vocab per token, {out}). "
        "Attention would catch up with them only at T ≈ {cross} tokens, far beyond this model's {block} positions; "
        "in large models with long contexts it is the T² term that limits the context.",
        scores=f"{int(work.attention_scores[last]):,}", t1=timing.lengths[-1], att=f"{int(work.attention[last]):,}",
        share=f"{work.attention_share[last]:.1%}", proj=f"{int(work.projections[last]):,}",
        out=f"{int(work.output[last]):,}", cross=f"{work.crossover:,.0f}", block=cfg.block_size)


@st.fragment
def parallel_section(text: str, cfg: TransformerConfig) -> None:
    """Sequential steps, counted work and measured time, RNN vs transformer (a fragment: the RNN choice reruns only
    this)."""
    st.subheader("6. Parallel vs sequential")
    names = available_models(("rnn", "lstm", "gru"))
    if not names:
        st.info("No recurrent model is available to compare with (see Checkpoints in the sidebar).")
        return
    rnn_name = model_select("Compare with", "tf_rnn", names, index=1)
    with st.spinner("Timing both models…"):
        timing, rnn = timings(rnn_name, text), label(rnn_name)
    c1, c2 = st.columns(2)
    c1.metric(f"{rnn}: steps one after another", timing.tokens, help=f"forward pass: {timing.rnn_ms:.2f} ms")
    c2.metric("Transformer: steps one after another (layers)", cfg.n_layer,
              help=f"forward pass: {timing.transformer_ms:.2f} ms")
    say("On your sentence ({n} tokens), measured on this server (once per sentence): the {rnn} takes {r} ms, "
        "the transformer {t} ms.", n=timing.tokens, rnn=rnn, r=f"{timing.rnn_ms:.2f}", t=f"{timing.transformer_ms:.2f}")
    st.write("An RNN must finish h₁ before it can start h₂: T steps, one after another, however many processors "
             "there are. A transformer layer computes every position at once from the layer below — only its "
             "layers run in sequence. That is what makes training on long texts fast on a GPU. On one CPU thread "
             "(this server gives each request one) the work is done in turn anyway, so the measured times follow the "
             "amount of arithmetic (plus a fixed cost per call), not the parallelism.")
    chart(parallel_of(rnn_name, text), key="tf_parallel")
    measured_growth(timing, cfg, rnn)
    with st.expander("The numbers: steps, attention scores, multiply-adds and times"):
        st.dataframe(parallel_numbers(timing, cfg, rnn), hide_index=True, width="stretch")


@st.fragment
def predict_focus(text: str, reading: TransformerReading) -> None:
    """Predict which token the last word reads most in the last layer, then reveal it (a class's guesses are
    collected)."""
    st.subheader("Predict, then reveal: where does the last word look?")
    labels = [f"{j + 1}. {t}" for j, t in enumerate(reading.tokens)]
    guess = st.selectbox(f"In the last layer, averaged over its heads, which token does the last token "
                         f"({labels[-1]}) give the most attention?", range(len(labels)),
                         format_func=labels.__getitem__, key="tf_guess")
    question("tf_focus", labels, guess, text)
    if st.toggle("Reveal", key="tf_reveal"):
        weights = reading.attention[-1].mean(axis=0)[-1]  # (T,) the last query's α, averaged over the heads
        real = int(weights.argmax())
        say("It reads <b>{tok}</b> most (mean α = {a}); your guess got mean α = {got}.", tok=labels[real],
            a=f"{weights[real]:.3f}", got=f"{weights[guess]:.3f}")


st.title("Inside the transformer")
if not available_models((NAME,)):
    st.error("The transformer could not be loaded: see Checkpoints in the sidebar for the rebuild command.")
    st.stop()
config: TransformerConfig = get_model(NAME).bundle.model.config
header(config)
sentence = shared_sentence()
if sentence.empty:
    st.stop()
reading = reading_of(sentence.text)
if reading.cut:
    st.info(f"The transformer sees at most {config.block_size} tokens (it has {config.block_size} positions): the "
            f"page reads the first {config.block_size} of your sentence, counting the start token <eos>.")
grid_section(sentence.text)
heads_section(sentence.text, reading, config)
causality_note(sentence.text)
positions_section(len(reading.tokens))
stream_section(sentence.text, reading, config)
parallel_section(sentence.text, config)
predict_focus(sentence.text, reading)
ablation_section(sentence.text, config.n_layer, config.n_head)
ranking_section(sentence.text)
knockout_section(sentence.text, reading.tokens)
try_this(*TRY_THIS)
show_source(CausalSelfAttention.forward, Block.forward, TransformerLM.trace, read_transformer, open_query, logit_lens,
            forward_work, LayerProbe, ablate_heads, rank_heads, knock_out_edge)
