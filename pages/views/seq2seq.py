"""Seq2seq & attention: α_ij = softmax_j(e_ij), c_i = Σ_j α_ij h_j, on dates and English→French."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from models.dates import parse
from models.registry import SEQ2SEQ_SPECS
from models.seq2seq import AdditiveAttention, BilinearAttention, DotAttention, Seq2Seq, Translation
from pages.components.attention_charts import scores_figure
from pages.components.loaders import get_model
from pages.components.seq2seq_charts import alignment_figure, by_length_figure
from pages.components.text import clean_text
from pages.components.widgets import available_models, say, shared_sentence, show_source, table_with_csv

TASKS = {"fra": "English → French", "dates": "dates → ISO"}
DATE_EXAMPLES = ["saturday 21 nov 2026", "the 3rd of march, 1999", "November 21, 2026", "31.12.1900",
                 "Jul. 4 1976", "2026/11/21", "02/29/2000"]
FRA_EXAMPLES = ["i am happy .", "she is my friend .", "we are going home .", "he is not here .",
                "you are very tall .", "i don't like this book ."]
EQUATIONS = {
    "none": r"c_i = c = [\overrightarrow{h}_T;\overleftarrow{h}_1]\ \text{(no attention: one thought vector)}",
    "dot": r"e_{ij} = s_{i-1}\cdot h_j",
    "bilinear": r"e_{ij} = s_{i-1}^{\top} W h_j",
    "additive": r"e_{ij} = v^{\top}\tanh(W s_{i-1} + U h_j)",
}
LECTURE_SCORES = (1.5, 0.9, 0.3, -0.5)  # the lecture's worked example
LECTURE_WEIGHTS = (0.51, 0.28, 0.14, 0.07)  # as printed on the slide (the exact softmax is 0.50, 0.28, 0.15, 0.07)


@st.cache_data(max_entries=1024, show_spinner=False)
def translate(name: str, text: str, beam: int = 1) -> Translation:
    """Decode one source (cached per model, text and beam width)."""
    return get_model(name).bundle.model.translate(text, beam=beam)


def rows_of(tr: Translation) -> list[str]:
    """Row labels of the alignment: the output tokens, and <eos> when decoding stopped on it."""
    return tr.out_tokens + ["<eos>"] * (tr.attention.shape[0] - len(tr.out_tokens))


def softmax(x: np.ndarray) -> np.ndarray:
    """α_j = exp(e_j) / Σ_k exp(e_k)."""
    z = np.exp(x - x.max())
    return z / z.sum()


st.title("Seq2seq and attention")
st.latex(r"\alpha_{ij}=\frac{\exp(e_{ij})}{\sum_k \exp(e_{ik})},\qquad c_i=\sum_j \alpha_{ij}\,h_j")
st.write("An encoder (a bidirectional GRU) reads the source into one vector h_j per token. Without attention the "
         "decoder only gets the encoder's final state — one vector for the whole sentence, the bottleneck. With "
         "attention, at every output step i it scores every source token (e_ij), turns the scores into weights "
         "α_ij with a softmax, and reads the weighted sum c_i. The heatmap shows α: where the decoder looked.")

c1, c2 = st.columns(2)
task = c1.radio("Task", list(TASKS), format_func=TASKS.get, horizontal=True, key="s2s_task")
names = available_models([n for n, s in SEQ2SEQ_SPECS.items() if s.task == task])
if not names:
    st.error("These models could not be loaded: see Checkpoints in the sidebar for the rebuild command.")
    st.stop()
name = c2.selectbox("Attention", names, key="s2s_model", format_func=lambda n: SEQ2SEQ_SPECS[n].attention)
model: Seq2Seq = get_model(name).bundle.model

examples = FRA_EXAMPLES if task == "fra" else DATE_EXAMPLES
choices = (["the sidebar sentence"] if task == "fra" else []) + examples + ["type my own"]
pick = st.selectbox("Source", choices, key=f"s2s_pick_{task}")
if pick == "the sidebar sentence":
    source = shared_sentence()
elif pick == "type my own":
    source = clean_text(st.text_input("Your source", examples[0], key=f"s2s_own_{task}"), max_chars=200)
    for note in source.notes:
        st.info(note)
else:
    source = clean_text(pick)
if source.empty:
    st.stop()

tr = translate(name, source.text)
for note in tr.notes:
    st.info(note)
st.subheader("1. Translation and alignment")
st.latex(EQUATIONS[SEQ2SEQ_SPECS[name].attention])
say("<b>Output:</b> {out}", out=tr.text or "(nothing)")
if tr.attention.numel():
    rows = rows_of(tr)
    title = ("no attention: every step reads the same vector, so α is empty" if SEQ2SEQ_SPECS[name].attention
             == "none" else f"α for {name}")
    st.plotly_chart(alignment_figure(tr.attention.numpy(), tr.src_tokens, rows, title), key="s2s_alignment",
                    width="stretch")
    table = pd.DataFrame(tr.attention.numpy(), columns=[f"{j + 1}. {t}" for j, t in enumerate(tr.src_tokens)])
    table.insert(0, "output", rows)
    table.insert(1, "p(output)", tr.token_probs)
    with st.expander("The numbers behind the heatmap"):
        table_with_csv(table, f"{name}_attention.csv", key="s2s_csv")

    st.subheader("2. One decoding step, opened up")
    step = st.slider("Output token", 1, len(rows), 1, key="s2s_step") - 1
    e, a = tr.scores[step].numpy(), tr.attention[step].numpy()
    st.plotly_chart(scores_figure(tr.src_tokens, e, a, f"step {step + 1}: producing '{rows[step]}'"),
                    key="s2s_scores", width="stretch")
    h = tr.annotations.numpy()  # (T_in, D)
    context = a @ h
    share = np.linalg.norm(a[:, None] * h, axis=1)  # size of each token's contribution α_j h_j
    parts = pd.DataFrame({"source": tr.src_tokens, "e": e, "α": a, "‖α_j h_j‖": share})
    left, right = st.columns(2)
    with left:
        st.dataframe(parts, hide_index=True, width="stretch")
    with right:
        st.write(f"c_{step + 1} = Σ_j α_j h_j has {h.shape[1]} numbers; the first eight:")
        st.dataframe(pd.DataFrame({"dim": range(8), "c": context[:8]}), hide_index=True, width="stretch")

with st.expander("The lecture's worked example — edit the scores", expanded=False):
    cols = st.columns(4)
    edited = np.array([cols[k].number_input(f"e_{k + 1}", value=v, step=0.1, key=f"s2s_e{k}")
                       for k, v in enumerate(LECTURE_SCORES)])
    weights = softmax(edited)
    st.latex(r"\alpha = \operatorname{softmax}(" + ", ".join(f"{v:.2f}" for v in edited) + r") = ("
             + ", ".join(f"{w:.2f}" for w in weights) + ")")
    if np.allclose(edited, LECTURE_SCORES):
        gap = np.abs(weights - np.array(LECTURE_WEIGHTS)).max()
        st.write(f"The slide prints ({', '.join(f'{w:.2f}' for w in LECTURE_WEIGHTS)}): the exact softmax of its "
                 f"scores differs from it by at most {gap:.3f} — the slide's weights were rounded by hand.")

if tr.attention.numel() and SEQ2SEQ_SPECS[name].attention != "none":
    st.subheader("3. Predict, then reveal")
    target = st.selectbox("Output token", range(len(rows)), key="s2s_guess_row",
                          format_func=lambda i: f"{i + 1}. {rows[i]}")
    guess = st.radio("Which source token will the decoder look at most?", range(len(tr.src_tokens)),
                     format_func=lambda j: f"{j + 1}. {tr.src_tokens[j]!r}", horizontal=True, key="s2s_guess")
    if st.toggle("Reveal", key="s2s_reveal"):
        real = int(tr.attention[target].argmax())
        got = float(tr.attention[target, guess])
        say("The decoder looked most at <b>{pos}. {tok}</b> (α = {a}); your guess got α = {got}, {d} position(s) "
            "away.", pos=real + 1, tok=repr(tr.src_tokens[real]), a=f"{float(tr.attention[target, real]):.3f}",
            got=f"{got:.3f}", d=abs(real - guess))
        parsed = parse(source.text) if task == "dates" else None
        if parsed and target < len(parsed[1]) and parsed[1][target]:
            lo, hi = parsed[1][target]
            say("Gold span for output character {k}: source characters {lo}–{hi} ({span}); the argmax is {where} "
                "it. Over 2,000 fresh dates this model's alignment accuracy is {acc}.", k=target + 1, lo=lo + 1,
                hi=hi, span=repr(source.text[lo:hi]), where="inside" if lo <= real < hi else "outside",
                acc=f"{get_model(name).bundle.meta['metrics']['alignment_accuracy']:.1%}")

if task == "dates":
    st.subheader("4. Score functions side by side")
    cols = st.columns(3)
    for col, kind in zip(cols, ("dot", "bilinear", "additive"), strict=True):
        other = f"dates-{kind}"
        if get_model(other).bundle is None:
            continue
        t2 = translate(other, source.text)
        with col:
            st.latex(EQUATIONS[kind])
            if t2.attention.numel():
                st.plotly_chart(alignment_figure(t2.attention.numpy(), t2.src_tokens, rows_of(t2),
                                                 f"{kind}: {t2.text}", height=360), key=f"s2s_side_{kind}",
                                width="stretch")

st.subheader("5. The bottleneck")
none_name = f"{task}-none"
if get_model(none_name).bundle is not None:
    say("Without attention ({m}): <b>{out}</b>", m=none_name, out=translate(none_name, source.text).text or "(nothing)")
metric = "exact_match" if task == "dates" else "bleu"
series = {}
for n in available_models([n for n, s in SEQ2SEQ_SPECS.items() if s.task == task]):
    by_length = get_model(n).bundle.meta["metrics"]["by_length"]
    series[SEQ2SEQ_SPECS[n].attention] = [by_length[b][metric] for b in by_length]
buckets = list(get_model(name).bundle.meta["metrics"]["by_length"])
st.plotly_chart(by_length_figure(buckets, series, f"{'exact match' if task == 'dates' else 'BLEU'} by source "
                                 "length, measured on held-out data (our Bahdanau et al. 2015, Fig. 2)",
                                 "exact match" if task == "dates" else "BLEU"), key="s2s_by_length", width="stretch")
st.write("The no-attention decoder must squeeze the whole source into one vector; as sources get longer it has "
         "to remember more in the same space, and quality falls. Attention lets every step look back at the "
         "source, so length hurts much less.")

st.subheader("6. Beam search")
beam = st.slider("Beam width", 1, 5, 3, key="s2s_beam")
tb = translate(name, source.text, beam)
say("Beam {b}: <b>{out}</b> (log-prob {lp}); greedy: <b>{greedy}</b> (log-prob {glp}).", b=beam,
    out=tb.text or "(nothing)", lp=f"{tb.log_prob:.3f}", greedy=tr.text or "(nothing)", glp=f"{tr.log_prob:.3f}")
history = [{"step": i + 1, "rank": r + 1, "hypothesis": " ".join(toks), "log-prob": round(lp, 3)}
           for i, step in enumerate(tb.beam_steps) for r, (toks, lp) in enumerate(step)]
st.dataframe(pd.DataFrame(history), hide_index=True, width="stretch")

show_source(Seq2Seq.decode_step, {"dot": DotAttention, "bilinear": BilinearAttention}.get(
    SEQ2SEQ_SPECS[name].attention, AdditiveAttention), Seq2Seq.translate)
