"""Seq2seq & attention: α_ij = softmax_j(e_ij), c_i = Σ_j α_ij h_j, on dates and English→French."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from models.dates import parse
from models.readings.seq2seq import Seq2SeqReading, length_curves, read_translation
from models.registry import SEQ2SEQ_SPECS
from models.seq2seq import AdditiveAttention, BilinearAttention, DotAttention, NoAttention, Seq2Seq, SourceDecoder
from models.vectors import softmax
from pages.components.attention_charts import scores_figure
from pages.components.classroom import question
from pages.components.loaders import figure_cache, get_model
from pages.components.seq2seq_charts import alignment_figure, by_length_figure, context_figure
from pages.components.text import CleanText, clean_text
from pages.components.widgets import available_models, chart, say, shared_sentence, show_source, table_with_csv
from pages.views.seq2seq_probes import (
    beam_tree_part,
    fix_prefix,
    force_attention,
    force_section,
    prefix_section,
    reading_of,
)

TASKS = {"fra": "English → French", "dates": "dates → ISO"}
DATE_EXAMPLES = ["saturday 21 nov 2026", "the 3rd of march, 1999", "November 21, 2026", "31.12.1900",
                 "Jul. 4 1976", "2026/11/21", "02/29/2000"]
FRA_EXAMPLES = ["i am happy .", "she is my friend .", "we are going home .", "he is not here .",
                "you are very tall .", "i don't like this book ."]
THOUGHT = r"c=[\overrightarrow{h}_T;\overleftarrow{h}_1]"
EQUATIONS = {
    "none": THOUGHT + r"\ \text{at every step } i\ \text{(no scores } e\text{, no weights } \alpha\text{)}",
    "dot": r"e_{ij} = s_{i-1}\cdot h_j",
    "bilinear": r"e_{ij} = s_{i-1}^{\top} W h_j",
    "additive": r"e_{ij} = v^{\top}\tanh(W s_{i-1} + U h_j + b)",
}
SCORERS = {"none": NoAttention, "dot": DotAttention, "bilinear": BilinearAttention, "additive": AdditiveAttention}
METRICS = {  # task -> (manifest key, axis name, one-line definition)
    "dates": ("exact_match", "exact match", "Exact match: the share of held-out dates whose whole output equals "
              "the ISO date."),
    "fra": ("bleu", "BLEU", "BLEU (Papineni et al. 2002): the geometric mean of the 1- to 4-gram precisions of "
            "the outputs against the reference translations, times a brevity penalty for outputs shorter than "
            "the references, ×100 (corpus BLEU, sacrebleu)."),
}
LECTURE_SCORES = (1.5, 0.9, 0.3, -0.5)  # the worked example of deck 000 ("Seq2Seq + Attention")
LECTURE_WEIGHTS = (0.51, 0.28, 0.14, 0.07)  # as printed on the slide (the exact softmax is 0.50, 0.28, 0.15, 0.07)
WORKED_MODEL, WORKED_SOURCE = "fra-additive", "i am happy ."  # the same four-token computation in a real model


@figure_cache
def alignment_of(name: str, text: str, height: int = 420):
    r = reading_of(name, text)
    return alignment_figure(r.attention, r.src_tokens, r.rows, f"α for {name}: {r.text}", height=height)


@figure_cache
def step_figures(name: str, text: str, step: int):
    """Step i's scores and weights, and the context c_i they mix."""
    r = reading_of(name, text)
    return (scores_figure(r.src_tokens, r.scores[step], r.attention[step], f"step {step + 1}: producing "
                          f"'{r.rows[step]}'"),
            context_figure(r.contexts[step], f"c_{step + 1} = Σ_j α_{step + 1},j h_j ({r.contexts.shape[1]} numbers)"))


@figure_cache
def thought_figure(name: str, text: str):
    r = reading_of(name, text)
    return context_figure(r.thought, f"c = [→h_T; ←h_1], the encoder's final state: {len(r.thought)} numbers, "
                          "read at every step")


@figure_cache
def by_length_of(task: str, names: tuple[str, ...]):
    metric, axis, _ = METRICS[task]
    buckets, curves = length_curves({SEQ2SEQ_SPECS[n].attention: get_model(n).bundle.meta["metrics"]
                                     for n in names}, metric)
    return by_length_figure(buckets, curves, f"{axis} by source length, measured on held-out data (our Bahdanau et "
                            "al. 2015, Fig. 2)", axis)


def task_models(task: str) -> list[str]:
    """The task's models whose checkpoints loaded, in registry order (none first)."""
    return available_models([n for n, spec in SEQ2SEQ_SPECS.items() if spec.task == task])


def pick_model() -> tuple[str, str]:
    """The task and the model (named by its attention); stops the page when no model of the task loaded."""
    c1, c2 = st.columns(2)
    task = c1.radio("Task", list(TASKS), format_func=TASKS.get, horizontal=True, key="s2s_task")
    names = task_models(task)
    if not names:
        st.error("These models could not be loaded: see Checkpoints in the sidebar for the rebuild command.")
        st.stop()
    if st.session_state.get("s2s_model") not in names:  # a new task: its first model, not the last task's choice
        st.session_state["s2s_model"] = names[0]
    name = c2.selectbox("Attention", names, key="s2s_model", format_func=lambda n: SEQ2SEQ_SPECS[n].attention)
    return task, name


def pick_source(task: str) -> CleanText:
    """An example, the sidebar sentence (English only) or the student's own source; stops on an empty one."""
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
    return source


def translation_section(name: str, text: str, r: Seq2SeqReading) -> None:
    st.subheader("1. Translation and alignment")
    st.latex(EQUATIONS[r.attention_kind])
    say("<b>Output:</b> {out}", out=r.text or "(nothing)")
    if not r.has_attention:
        st.write("This model has no attention: it computes no scores e and no weights α, so there is no alignment "
                 "to draw. Its decoder reads one vector, the encoder's final state, at every step (section 2).")
        return
    chart(alignment_of(name, text), key="s2s_alignment")
    table = pd.DataFrame(r.attention, columns=[f"{j + 1}. {t}" for j, t in enumerate(r.src_tokens)])
    table.insert(0, "output", r.rows)
    table.insert(1, "p(output)", r.token_probs)
    with st.expander("The numbers behind the heatmap"):
        table_with_csv(table, f"{name}_attention.csv", key="s2s_csv")


def thought_section(name: str, text: str, r: Seq2SeqReading) -> None:
    """The context of the no-attention model: the encoder's final state, one vector for every step."""
    st.subheader("2. One decoding step, opened up")
    H = len(r.thought) // 2
    st.latex(THOUGHT + rf"\in\mathbb{{R}}^{{{len(r.thought)}}},\qquad c_1=\dots=c_{{{len(r.rows)}}}=c,"
             r"\qquad s_0=\tanh(W_s\,c),\qquad s_i=\mathrm{GRU}([y_{i-1};c],\,s_{i-1})")
    st.write(f"There is no α here: nothing is scored and nothing is weighted. The context is the encoder's final "
             f"state c = [→h_T; ←h_1]: the forward GRU's state after the last source token ({H} numbers) next to "
             f"the backward GRU's state after the first ({H} numbers), {len(r.thought)} numbers in all. The "
             f"decoder's first state is made from it, s_0 = tanh(W_s c), and it reads this same vector at every one "
             f"of its {len(r.rows)} steps: the whole source has to fit in it (the bottleneck).")
    chart(thought_figure(name, text), key="s2s_context")
    with st.expander("The numbers of c"):
        table_with_csv(pd.DataFrame({"dimension": np.arange(1, len(r.thought) + 1), "c": r.thought}),
                       f"{name}_thought_vector.csv", key="s2s_csv")


@st.fragment
def step_section(name: str, text: str) -> None:
    """Step i: scores e → softmax α → c_i (a fragment: the slider reruns only this part)."""
    r = reading_of(name, text)
    st.subheader("2. One decoding step, opened up")
    st.latex(r"e_{ij}\ \xrightarrow{\ \mathrm{softmax}_j\ }\ \alpha_{ij}\ \longrightarrow\ c_i=\sum_j\alpha_{ij}h_j,"
             r"\qquad s_i=\mathrm{GRU}([y_{i-1};c_i],\,s_{i-1})")
    step = st.slider("Output token", 1, len(r.rows), 1, key="s2s_step") - 1
    scores, context = step_figures(name, text, step)
    chart(scores, key="s2s_scores")
    parts = pd.DataFrame({"source": r.src_tokens, "e": r.scores[step], "α": r.attention[step],
                          "‖α_j h_j‖": r.contributions(step)})
    left, right = st.columns(2)
    left.dataframe(parts, hide_index=True, width="stretch")
    right.write(f"c_{step + 1} = Σ_j α_j h_j has {r.contexts.shape[1]} numbers; the first eight:")
    right.dataframe(pd.DataFrame({"dim": range(1, 9), "c": r.contexts[step, :8]}), hide_index=True, width="stretch")
    chart(context, key="s2s_context")


@st.fragment
def worked_example() -> None:
    """The lecture's four scores beside the same computation in the shipped EN→FR model (a fragment)."""
    with st.expander("The lecture's worked example, beside a real model", expanded=True):
        st.write("On the slide (lecture deck 000, \"Seq2Seq + Attention\") four raw scores e become weights "
                 "α_i¹ = exp(e_i) / Σ exp(e_k), and c₁ = Σ_i α_i¹ h_i. The slide writes α_i¹ for source token i at "
                 "output step 1; this page writes α_1i.")
        if get_model(WORKED_MODEL).bundle is not None:
            real_example()
        cols = st.columns(4)
        edited = np.array([cols[k].number_input(f"e_{k + 1}", value=v, step=0.1, key=f"s2s_e{k}")
                           for k, v in enumerate(LECTURE_SCORES)])
        weights = softmax(edited)
        st.latex(r"\alpha = \operatorname{softmax}(" + ", ".join(f"{v:.2f}" for v in edited) + r") = ("
                 + ", ".join(f"{w:.2f}" for w in weights) + ")")
        if np.allclose(edited, LECTURE_SCORES):
            gap = np.abs(weights - np.array(LECTURE_WEIGHTS)).max()
            st.write(f"The slide prints ({', '.join(f'{w:.2f}' for w in LECTURE_WEIGHTS)}): the exact softmax of "
                     f"its scores differs from it by at most {gap:.3f}, so the slide's weights were rounded by hand.")


def real_example() -> None:
    """fra-additive's first step on "i am happy .": e, α and c₁, next to the slide's numbers."""
    r = reading_of(WORKED_MODEL, WORKED_SOURCE)
    e, a = r.scores[0], r.attention[0]
    say("The same computation in the shipped English→French model ({m}) on <b>{src}</b>, at its first step "
        "(it writes <b>{out}</b>):", m=WORKED_MODEL, src=WORKED_SOURCE, out=r.rows[0])
    table = pd.DataFrame({"i": range(1, len(e) + 1), "source token": r.src_tokens,
                          "slide e": list(LECTURE_SCORES)[: len(e)], "slide α": list(LECTURE_WEIGHTS)[: len(e)],
                          "model e": e, "model e − max e": e - e.max(), "model α": a})
    st.dataframe(table, hide_index=True, width="stretch")
    c = r.weighted_sum(0)
    st.latex(r"c_1=" + " + ".join(rf"{w:.2f}\,h_{{{j + 1}}}" for j, w in enumerate(a))
             + rf"\in\mathbb{{R}}^{{{len(c)}}}")
    st.write(f"The model's scores are large ({e.min():.1f} to {e.max():.1f}) but only their differences matter: "
             f"softmax(e) = softmax(e − max e). c₁ has {len(c)} numbers, the first four "
             f"({', '.join(f'{v:.3f}' for v in c[:4])}); Σ α_i h_i computed from the weights and the annotations "
             f"differs from the c₁ the decoder read by at most {np.abs(c - r.contexts[0]).max():.1e}.")


@st.fragment
def guess_section(name: str, text: str, task: str) -> None:
    """Predict where the decoder looks, then reveal it (a fragment)."""
    r = reading_of(name, text)
    st.subheader("3. Predict, then reveal")
    target = st.selectbox("Output token", range(len(r.rows)), key="s2s_guess_row",
                          format_func=lambda i: f"{i + 1}. {r.rows[i]}")
    guess = st.radio("Which source token will the decoder look at most?", range(len(r.src_tokens)),
                     format_func=lambda j: f"{j + 1}. {r.src_tokens[j]!r}", horizontal=True, key="s2s_guess")
    question("s2s_look", [f"{j + 1}. {t}" for j, t in enumerate(r.src_tokens)], guess, f"{name} {target}")
    if not st.toggle("Reveal", key="s2s_reveal"):
        return
    real = int(r.attention[target].argmax())
    say("The decoder looked most at <b>{pos}. {tok}</b> (α = {a}); your guess got α = {got}, {d} position(s) away.",
        pos=real + 1, tok=repr(r.src_tokens[real]), a=f"{r.attention[target, real]:.3f}",
        got=f"{r.attention[target, guess]:.3f}", d=abs(real - guess))
    parsed = parse(text) if task == "dates" else None
    if parsed and target < len(parsed[1]) and parsed[1][target]:
        lo, hi = parsed[1][target]
        say("Gold span for output character {k}: source characters {lo}–{hi} ({span}); the argmax is {where} it. "
            "Over 2,000 fresh dates this model's alignment accuracy is {acc}.", k=target + 1, lo=lo + 1, hi=hi,
            span=repr(text[lo:hi]), where="inside" if lo <= real < hi else "outside",
            acc=f"{get_model(name).bundle.meta['metrics']['alignment_accuracy']:.1%}")


def side_by_side(text: str) -> None:
    """The three score functions on the same date."""
    st.subheader("4. Score functions side by side")
    for col, kind in zip(st.columns(3), ("dot", "bilinear", "additive"), strict=True):
        other = f"dates-{kind}"
        if get_model(other).bundle is None:
            continue
        with col:
            st.latex(EQUATIONS[kind])
            chart(alignment_of(other, text, 360), key=f"s2s_side_{kind}")


def bottleneck(task: str, text: str) -> None:
    """Quality by source length with and without attention (Bahdanau et al. 2015, Fig. 2)."""
    st.subheader("5. The bottleneck")
    none_name = f"{task}-none"
    if get_model(none_name).bundle is not None:
        say("Without attention ({m}): <b>{out}</b>", m=none_name, out=reading_of(none_name, text).text or "(nothing)")
    chart(by_length_of(task, tuple(task_models(task))), key="s2s_by_length")
    st.caption(METRICS[task][2] + " The curves were measured once, when each model was trained, and are read from its "
               "manifest entry.")
    st.write("The no-attention decoder must squeeze the whole source into one vector; as sources get longer it has "
             "to remember more in the same space, and quality falls. Attention lets every step look back at the "
             "source, so length hurts much less.")


@st.fragment
def beam_section(name: str, text: str) -> None:
    """The hypotheses a beam keeps at every step (a fragment)."""
    st.subheader("6. Beam search")
    beam = st.slider("Beam width", 1, 5, 3, key="s2s_beam")
    greedy, rb = reading_of(name, text), reading_of(name, text, beam)
    say("Beam {b}: <b>{out}</b> (log-prob {lp}); greedy: <b>{greedy}</b> (log-prob {glp}).", b=beam,
        out=rb.text or "(nothing)", lp=f"{rb.log_prob:.3f}", greedy=greedy.text or "(nothing)",
        glp=f"{greedy.log_prob:.3f}")
    beam_tree_part(name, text, beam)
    history = [{"step": i + 1, "rank": rank + 1, "hypothesis": " ".join(rb.tokens_of(h)),
                "log-prob": round(h.log_prob, 3), "ended": h.finished}
               for i, kept in enumerate(rb.beam_steps) for rank, h in enumerate(kept)]
    st.dataframe(pd.DataFrame(history), hide_index=True, width="stretch")


st.title("Seq2seq and attention")
st.latex(r"\alpha_{ij}=\frac{\exp(e_{ij})}{\sum_k \exp(e_{ik})},\qquad c_i=\sum_j \alpha_{ij}\,h_j")
st.write("An encoder (a bidirectional GRU) reads the source into one vector h_j per token. Without attention the "
         "decoder only gets the encoder's final state, one vector for the whole sentence: the bottleneck. With "
         "attention, at every output step i it scores every source token (e_ij), turns the scores into weights "
         "α_ij with a softmax, and reads the weighted sum c_i. The heatmap shows α: where the decoder looked. "
         "Notation: s_{i−1} is the decoder state before step i (the lectures' h^D_{i−1}), h_j the encoder state "
         "of source token j (h^E_j).")
task, name = pick_model()
source = pick_source(task)
reading = reading_of(name, source.text)
for note in reading.notes:
    st.info(note)
if not reading.rows:
    st.stop()
translation_section(name, source.text, reading)
if reading.has_attention:
    step_section(name, source.text)
else:
    thought_section(name, source.text, reading)
worked_example()
if reading.has_attention:
    guess_section(name, source.text, task)
if task == "dates":
    side_by_side(source.text)
bottleneck(task, source.text)
beam_section(name, source.text)
force_section(name, source.text, task)
prefix_section(name, source.text, task)
show_source(read_translation, Seq2Seq.translate, SourceDecoder, Seq2Seq.step, SCORERS[reading.attention_kind],
            force_attention, fix_prefix)
