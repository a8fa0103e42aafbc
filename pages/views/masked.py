"""Beyond left to right: a masked LM (BERT) against the causal transformer, the leak test, cloze probes, and
bidirectional and stacked RNNs (decks 001–003)."""
from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import streamlit as st

from models.inputs import ModelInput
from models.readings.leak import Leak, leak
from models.readings.masked import (
    PROBES,
    AttentionPair,
    FillIn,
    Probe,
    attention_pair,
    default_position,
    fill_in,
    read_probe,
    sentence_input,
)
from models.readings.stacked import Directions, Stack, read_directions, read_stack
from models.registry import label
from pages.components.attention_charts import attention_grid, lens_figure
from pages.components.loaders import figure_cache, get_model, reading_cache
from pages.components.masked_charts import directions_figure, fill_figure, leak_figure, stack_figure
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

MLM, CAUSAL, LSTM, STACK = "mlm", "transformer", "lstm", "lstm2"
WORD_ENCODERS = ("fra-additive", "fra-none")  # word-level English encoders: their positions are our words
ENCODERS = (*WORD_ENCODERS, "dates-additive", "dates-none")

TRY_THIS = (
    "Mask a word whose clue comes after it (in the default sentence, *kite* before *wanted to fly*). Which of the "
    "three lists puts the true word higher: the one that reads both sides, or the one that reads only the left?",
    "In section 3, change the last word. Before looking: which bars will be exactly zero?",
    "Write a probe whose answer needs the words after the blank, e.g. `the ___ barked at the cat .` Does the "
    "causal transformer, which never sees *barked*, still guess *dog*?",
)


def _bundle(name: str):
    return get_model(name).bundle


@reading_cache
def read_of(text: str) -> ModelInput:
    """<eos> + the sentence as both transformers read it (cut to block_size)."""
    b = _bundle(MLM)
    return sentence_input(b.model, b.tokenizer, text)


@reading_cache
def fill_of(text: str, position: int) -> FillIn:
    return fill_in(_bundle(MLM).model, _bundle(CAUSAL).model, _bundle(MLM).tokenizer, text, position)


@figure_cache
def fill_fig(text: str, position: int):
    f = fill_of(text, position)
    return fill_figure((("MLM: p(x_i | both sides)", f.mlm_words, f.mlm_probs),
                        ("causal: p(x_i | left only)", f.causal_words, f.causal_probs),
                        ("MLM's 10, rescored by P(sentence)", f.rescored_words, f.rescored_share)), f.target)


@reading_cache
def attention_of(text: str) -> AttentionPair:
    return attention_pair(_bundle(MLM).model, _bundle(CAUSAL).model, _bundle(MLM).tokenizer, text)


@figure_cache
def attention_figs(text: str):
    pair = attention_of(text)
    return attention_grid(pair.mlm, pair.tokens), attention_grid(pair.causal, pair.tokens)


@reading_cache
def leak_of(encoder: str, text: str, changed: int, word: str) -> Leak:
    return leak(_bundle(MLM).model, _bundle(CAUSAL).model, _bundle(LSTM).model, _bundle(encoder).model,
                _bundle(MLM).tokenizer, text, changed, word)


@reading_cache
def probe_of(text: str) -> Probe:
    return read_probe(_bundle(MLM).model, _bundle(CAUSAL).model, _bundle(MLM).tokenizer, text)


@reading_cache
def directions_of(encoder: str, text: str) -> Directions:
    return read_directions(_bundle(encoder).model, text)


@reading_cache
def stack_of(text: str) -> Stack:
    return read_stack(_bundle(STACK).model, _bundle(STACK).tokenizer, text)


def leak_series(lk: Leak) -> tuple[list[str], dict, dict]:
    """The leak's bar labels, output changes and state changes, by model."""
    labels = [f"{i}. {lk.tokens[i]}" for i in lk.positions]
    outputs = {"MLM p(x_i | rest)": lk.mlm, "transformer p(· | x_≤i)": lk.causal}
    states = {"LSTM h_i": lk.lstm, "bi-RNN →h_i": lk.forward, "bi-RNN ←h_i": lk.backward}
    return labels, outputs, states


@figure_cache
def leak_fig(encoder: str, text: str, changed: int, word: str):
    lk = leak_of(encoder, text, changed, word)
    return leak_figure(*leak_series(lk), f"{lk.tokens[changed]} → {lk.new_word}")


@figure_cache
def directions_fig(encoder: str, source: str, j: int):
    d = directions_of(encoder, source)
    return directions_figure(d.forward, d.backward, d.tokens, j)


@figure_cache
def stack_figs(text: str):
    """Each layer's states, and what each layer predicts (the readout)."""
    s = stack_of(text)
    true_rank = np.concatenate([s.true_rank, np.zeros((len(s.layers), 1), dtype=s.true_rank.dtype)], 1)
    return (stack_figure(s.layers, s.tokens),
            lens_figure(s.read_words, s.read_probs, true_rank, s.tokens,
                        rows=[f"layer {ell + 1}" for ell in range(len(s.layers))]))


def text_key(text: str) -> str:
    """A short stable tag of the sentence: boxes prefilled from it start afresh when it changes."""
    return f"{zlib.crc32(text.encode()):08x}"


def numbered(words: list[str]) -> list[str]:
    return [f"{i}. {w}" for i, w in enumerate(words)]


def header() -> None:
    st.latex(r"\text{next token:}\ \log p(\mathbf{x})=\sum_{t=1}^{T}\log p(x_t\mid\mathbf{x}_{<t})"
             r"\qquad\text{masked tokens:}\ \log p(\bar{\mathbf{x}}\mid\hat{\mathbf{x}})="
             r"\sum_{t=1}^{T}\text{mask}_t\log p(x_t\mid\hat{\mathbf{x}})")
    cfg = _bundle(MLM).model.config
    st.write(f"Every model on the other pages reads left to right. Our masked LM is a transformer encoder of the "
             f"same size as our transformer ({cfg.n_layer} layers × {cfg.n_head} heads, d_model = {cfg.n_embd}) "
             "with the causal mask removed, trained like BERT: x̂ is the story with 15 % of its tokens chosen — "
             "80 % of those replaced by <mask>, 10 % by a random word, 10 % left as they are — and mask_t = 1 "
             "exactly at the chosen positions, so it learns to reconstruct them from both sides. It started from the "
             "causal transformer's weights (a warm start: from scratch it learned too little in the half hour this "
             "machine allows). Unlike BERT it has no next-sentence objective and no [CLS]/[SEP] tokens, and it is "
             "70 times smaller than BERT-base.")


@st.fragment
def fill_section(text: str, inp: ModelInput) -> None:
    """1. Mask one word; three ways to fill it (a fragment: masking another word reruns only this)."""
    st.subheader("1. Fill in the blank")
    if len(inp.ids) < 2:
        st.info("There is no word to mask: type a sentence in the sidebar.")
        return
    options = list(range(1, len(inp.ids)))
    first = default_position(inp) or 1
    position = st.selectbox("Word to mask", options, index=first - 1, key="mlm_word",
                            format_func=lambda i: f"{i}. {inp.words[i - 1]}")
    if inp.unknown[position - 1]:
        st.warning(f"“{inp.words[position - 1]}” is not in the vocabulary: every model reads it as <unk>, so none "
                   "can guess it. Pick another word to see real guesses.")
    f = fill_of(text, position)
    shown = " ".join(t if i != position else "[<mask>]" for i, t in enumerate(f.tokens[1:], start=1))
    say("The models read: <code>{s}</code>", s=shown)
    chart(fill_fig(text, position), key="mlm_fill")
    say("The true word <b>{w}</b> is ranked {a} by the MLM (it reads the {r} words after the blank too) and {b} by "
        "the causal transformer, which reads only the {left} tokens before it. Rescoring asks the causal model for "
        "the probability of the whole sentence with each of the MLM's ten candidates, by the chain rule — this "
        "does read the right side, at ten forward passes instead of one.", w=f.target, a=f.mlm_rank,
        r=len(f.right), b=f.causal_rank, left=f.position)
    st.write("The lecture's BERT is the first list: one pass of a bidirectional encoder gives p(x_i | x̂) for the "
             "masked position directly. A left-to-right LM can only fill a blank by trying every candidate in the "
             "sentence (the third list).")
    table = pd.DataFrame({"rank": np.arange(1, len(f.mlm_words) + 1), "MLM": f.mlm_words, "p MLM": f.mlm_probs,
                          "causal": f.causal_words, "p causal": f.causal_probs, "rescored": f.rescored_words,
                          "log P(sentence)": f.rescored_logp, "share of the 10": f.rescored_share})
    with st.expander("The numbers behind the three lists"):
        table_with_csv(table, "fill_in.csv", key="mlm_fill_csv")
    show_source(fill_in)


@st.fragment
def attention_section(text: str) -> None:
    st.subheader("2. Attention without the mask")
    pair = attention_of(text)
    grid_mlm, grid_causal = attention_figs(text)
    left, right = st.columns(2)
    left.markdown("**MLM: full squares** (every token reads every token)")
    chart(grid_mlm, key="mlm_att_mlm", where=left)
    right.markdown("**Causal transformer: triangles** (the mask hides later tokens)")
    chart(grid_causal, key="mlm_att_causal", where=right)
    fwd_mlm, fwd_causal = pair.forward_share
    say("Averaged over every layer, head and query, the MLM puts {m} of its attention on later tokens; the causal "
        "transformer puts {c} there (the mask sets those weights to exactly 0).", m=f"{fwd_mlm:.1%}",
        c=f"{fwd_causal:.1%}")
    with st.expander("The numbers behind one head of each model"):
        c1, c2 = st.columns(2)
        L, H = pair.mlm.shape[:2]
        layer = c1.selectbox("Layer", range(L), format_func=lambda i: f"layer {i + 1}", key="mlm_att_layer")
        head = c2.selectbox("Head", range(H), format_func=lambda i: f"head {i + 1}", key="mlm_att_head")
        labels = [f"{j + 1}. {t}" for j, t in enumerate(pair.tokens)]
        for name, att in (("MLM", pair.mlm), ("causal", pair.causal)):
            table = pd.DataFrame(att[layer, head], columns=labels)
            table.insert(0, f"{name}: query", labels)
            table_with_csv(table, f"{name}_layer{layer + 1}_head{head + 1}.csv", key=f"mlm_att_csv_{name}")


def replacement(text: str, changed: int) -> str:
    """The default new word for position j: the MLM's best guess there that differs from the word."""
    f = fill_of(text, changed)
    return next((w for w in f.mlm_words if w != f.target and w.isalpha()), "the")


@st.fragment
def leak_section(text: str, inp: ModelInput) -> None:
    """3. Change a later word; measure which models' earlier outputs move."""
    st.subheader("3. Why a bidirectional model cannot generate left to right, measured")
    st.write("A left-to-right LM generates token t from the tokens before it, so nothing at position i may depend on "
             "a later token j > i. Change one later word and look at every earlier position.")
    encoders = available_models(WORD_ENCODERS)
    if len(inp.ids) < 3 or not encoders or not available_models((LSTM,)):
        st.info("This needs a sentence of at least two words (and the LSTM and an eng→fra encoder).")
        return
    c1, c2, c3 = st.columns(3)
    options = list(range(2, len(inp.ids)))
    words = [i for i in options if inp.words[i - 1].isalpha() and not inp.unknown[i - 1]]
    last = options.index(words[-1]) if words else len(options) - 1  # the last known word, by default
    changed = c1.selectbox("Later word to change", options, index=last, key="mlm_leak_word",
                           format_func=lambda i: f"{i}. {inp.words[i - 1]}")
    word = c2.text_input("Replace it with", value=replacement(text, changed),
                         key=f"mlm_leak_new_{changed}_{text_key(text)}")
    with c3:
        encoder = model_select("Bidirectional RNN", "mlm_leak_encoder", encoders)
    try:
        lk = leak_of(encoder, text, changed, word)
    except ValueError as err:
        st.warning(str(err))
        return
    labels, outputs, states = leak_series(lk)
    chart(leak_fig(encoder, text, changed, word), key="mlm_leak")
    big = lk.largest
    moved = sum(a != b for a, b in zip(lk.mlm_before, lk.mlm_after, strict=True))
    say("Largest change at any earlier position: MLM {m}, bi-RNN backward half {b} — these read the changed word. "
        "Causal transformer {c}, LSTM {lstm}, bi-RNN forward half {f} — these cannot (zero up to float rounding). "
        "The MLM's top guess changed at {n} of {k} earlier positions.", m=f"{big['mlm']:.3f}",
        b=f"{big['backward']:.3f}", c=f"{big['causal']:.1e}", lstm=f"{big['lstm']:.1e}", f=f"{big['forward']:.1e}",
        n=moved, k=len(lk.positions))
    st.write("So a bidirectional model's guess at i already used the answer at j: it cannot be sampled one token at "
             "a time, because the tokens it conditions on do not exist yet while generating. Deck 003: switching a "
             "uni-RNN to a bi-RNN and changing nothing else cannot give an autoregressive LM.")
    if np.isnan(lk.forward).all() and len(lk.positions):
        st.info(f"The {label(encoder)} encoder reads only its first {_bundle(encoder).model.config.max_src_len} "
                "tokens, so it never saw this word: its bars are empty.")
    table = pd.DataFrame({"position": labels, **outputs, **states, "MLM top before": lk.mlm_before,
                          "MLM top after": lk.mlm_after})
    with st.expander("The numbers behind the bars"):
        table_with_csv(table, "leak.csv", key="mlm_leak_csv")
    show_source(leak)


def probes_table() -> pd.DataFrame:
    rows = []
    for text in PROBES:
        p = probe_of(text)
        rows.append({"probe": text, "MLM top 3": ", ".join(f"{w} {q:.2f}" for w, q in zip(p.mlm_words[:3],
                                                                                           p.mlm_probs[:3],
                                                                                           strict=True)),
                     "causal top 3 (left only)": ", ".join(f"{w} {q:.2f}" for w, q in zip(p.causal_words[:3],
                                                                                          p.causal_probs[:3],
                                                                                          strict=True))})
    return pd.DataFrame(rows)


@st.fragment
def probes_section() -> None:
    st.subheader("4. Language models as knowledge bases")
    st.write("Petroni et al. (2019) asked BERT cloze questions (“Adolphe Adam died in ___.”) and found facts in its "
             "answers. Our MLM read only children's stories, so these probes ask about their world.")
    st.dataframe(probes_table(), hide_index=True, width="stretch")
    own = st.text_input("Your own probe (mark the blank with ___)", value="the ___ barked at the cat .",
                        key="mlm_probe", max_chars=300)
    try:
        p = probe_of(own)
    except ValueError as err:
        st.warning(f"{err}.")
        return
    if p.unknown:
        st.warning("Not in the vocabulary (read as <unk>): " + ", ".join(p.unknown))
    st.dataframe(pd.DataFrame({"MLM": p.mlm_words, "p MLM": p.mlm_probs, "causal (left only)": p.causal_words,
                               "p causal": p.causal_probs}), hide_index=True, width="stretch")
    say("Read as: <code>{s}</code>", s=" ".join(p.words))


@st.fragment
def directions_section(text: str) -> None:
    st.subheader("5. Bidirectional RNN")
    encoders = available_models(ENCODERS)
    if not encoders:
        st.info("No seq2seq encoder is available (see Checkpoints in the sidebar).")
        return
    st.latex(r"\overrightarrow{h}_j=\mathrm{GRU}(x_j,\overrightarrow{h}_{j-1}),\quad "
             r"\overleftarrow{h}_j=\mathrm{GRU}'(x_j,\overleftarrow{h}_{j+1}),\quad "
             r"h_j=[\overrightarrow{h}_j;\overleftarrow{h}_j],\quad c=[\overrightarrow{h}_S;\overleftarrow{h}_1]")
    c1, c2 = st.columns([1, 2])
    with c1:
        encoder = model_select("Encoder", "mlm_enc", encoders)
    source = c2.text_input("Source sentence", value=text if encoder in WORD_ENCODERS else "21 November 2026",
                           key=f"mlm_src_{encoder}_{text_key(text)}", max_chars=300)
    try:
        d = directions_of(encoder, source)
    except ValueError as err:
        st.warning(f"{err}: type a source sentence.")
        return
    for note in d.notes:
        st.info(note)
    j = st.slider("Position j", 1, len(d.tokens), min(len(d.tokens), 3), key="mlm_enc_j") - 1
    chart(directions_fig(encoder, source, j), key="mlm_dirs")
    say("At position {j}, <b>{w}</b>: →h_{j} has read “{left}”; ←h_{j} has read “{right}”. Their concatenation "
        "h_{j} ({n} numbers) is what the attention decoder of the Seq2seq page weighs; the thought vector c joins "
        "the two ends, →h_{S} and ←h_1.", j=j + 1, w=d.tokens[j], left=" ".join(d.tokens[: j + 1]),
        right=" ".join(d.tokens[j:]), n=d.both.shape[1], S=len(d.tokens))
    st.caption("Deck 001: separate models read forwards and backwards, and their outputs at each time point are "
               "concatenated. The colour bar gives each state value (GRU states lie between −1 and 1).")
    with st.expander("The numbers behind the heatmaps"):
        H = d.forward.shape[1]
        table = pd.DataFrame(d.both, columns=[f"→h[{k + 1}]" for k in range(H)] + [f"←h[{k + 1}]" for k in range(H)])
        table.insert(0, "token", numbered(d.tokens))
        table_with_csv(table, "bidirectional_states.csv", key="mlm_dirs_csv")


def stack_section(text: str) -> None:
    st.subheader("6. Stacked RNN")
    if not available_models((STACK,)):
        st.info("The 2-layer LSTM is not available (see Checkpoints in the sidebar).")
        return
    st.latex(r"h^{(1)}_t=\mathrm{LSTM}_1(x_t,h^{(1)}_{t-1}),\quad h^{(2)}_t=\mathrm{LSTM}_2(h^{(1)}_t,h^{(2)}_{t-1}),"
             r"\quad p(x_{t+1}\mid x_{\le t})=\mathrm{softmax}(W h^{(2)}_t+b)")
    s = stack_of(text)
    one, two = _bundle(LSTM).meta if available_models((LSTM,)) else None, _bundle(STACK).meta
    cols = st.columns(3)
    cols[0].metric("2 layers: valid perplexity", f"{two['valid_ppl']:.2f}", help=f"{two['params']:,} parameters")
    if one:
        cols[1].metric("1 layer: valid perplexity", f"{one['valid_ppl']:.2f}", help=f"{one['params']:,} parameters")
    cols[2].metric("hidden size per layer", s.layers.shape[2])
    st.write("Deck 001: the output of a lower level serves as the input to higher levels. Both LSTMs have about "
             "2.5 M parameters (the stack uses 210 hidden units per layer instead of 256) and read the same "
             "stories; their valid perplexities are on the same tokens. Unlike deck 003's stack of GRUs, ours has "
             "no residual link between the layers.")
    if one:
        say("Compare with care: the stack trained {a} steps ({ea} epochs) against the one-layer LSTM's {b} "
            "({eb} epochs).", a=f"{two['steps']:,}", ea=two["epochs"], b=f"{one['steps']:,}", eb=one["epochs"])
    layers_fig, readout_fig = stack_figs(text)
    chart(layers_fig, key="mlm_stack")
    st.write("What does each layer's state predict? Pass it through the output layer, softmax(W h_t^(l) + b), as the "
             "transformer page's logit lens does. Only layer 2 was trained to feed W.")
    chart(readout_fig, key="mlm_readout")
    if s.true_rank.shape[1]:
        say("Mean log p(true next word) read from layer 1 / layer 2: {a}; median rank {r}.",
            a=" / ".join(f"{v:.2f}" for v in s.mean_logp),
            r=" / ".join(str(int(np.median(row))) for row in s.true_rank))
    with st.expander("The numbers behind the readout"):
        table = pd.DataFrame({"after": numbered(s.tokens)[:-1]} |
                             {f"layer {ell + 1} top": [w[0] for w in s.read_words[ell][:-1]]
                              for ell in range(len(s.layers))} |
                             {f"layer {ell + 1} rank of true next": s.true_rank[ell] for ell in range(len(s.layers))})
        table_with_csv(table, "stacked_readout.csv", key="mlm_stack_csv")
    show_source(read_stack)


st.title("Masked LM & bidirectional models")
if not available_models((MLM, CAUSAL)):
    st.error("The masked LM or the transformer could not be loaded: see Checkpoints in the sidebar.")
    st.stop()
header()
try_this(*TRY_THIS)
sentence = shared_sentence()
if sentence.empty:
    st.stop()
reading = read_of(sentence.text)
if reading.cut:
    st.info(f"The transformers have {len(reading.ids)} positions: the page reads the first {len(reading.ids)} tokens "
            "of your sentence, counting the start token <eos>.")
unknown = [w for w, u in zip(reading.words, reading.unknown, strict=True) if u]
if unknown:
    st.info("Not in the vocabulary (read as <unk>): " + ", ".join(dict.fromkeys(unknown)))
fill_section(sentence.text, reading)
attention_section(sentence.text)
leak_section(sentence.text, reading)
probes_section()
directions_section(sentence.text)
stack_section(sentence.text)
