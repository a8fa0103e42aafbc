"""Sections of the Seq2seq page that push on the decoder (not a page of its own): the beam search as a tree, forced
attention, a fixed prefix. Each runs the model live on the student's source beside its own output, which it reads
from the page's cached translation (``reading_of``, defined here so both share one cache)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from models.readings.seq2seq import Seq2SeqReading, read_translation
from models.readings.seq2seq_probes import (
    BeamTree,
    DateSweep,
    Forced,
    Prefixed,
    beam_tree,
    date_sweep,
    fix_prefix,
    force_attention,
    gold_char,
)
from models.seq2seq import AttentionEdit, Seq2Seq
from pages.components.loaders import figure_cache, get_model, reading_cache
from pages.components.probe_charts import beam_tree_figure, clickable_cells, date_sweep_figure
from pages.components.seq2seq_charts import alignment_figure
from pages.components.widgets import chart, say

FACTORS = (0.0, 0.1, 0.5, 2.0, 5.0, 10.0, 100.0)  # k in α_ij ∝ k·exp(e_ij)
PREFIX_EXAMPLES = {"fra": "nous", "dates": "19"}


def _model(name: str) -> Seq2Seq:
    return get_model(name).bundle.model


@reading_cache
def reading_of(name: str, text: str, beam: int = 1) -> Seq2SeqReading:
    """One source through one model (cached per model, text and beam width)."""
    return read_translation(_model(name), text, beam)


@reading_cache
def tree_of(name: str, text: str, beam: int) -> BeamTree:
    return beam_tree(reading_of(name, text, beam))


@reading_cache
def forced_of(name: str, text: str, step: int, source: int, scale: float | None) -> Forced:
    return force_attention(_model(name), text, AttentionEdit(step, source, scale), own=reading_of(name, text))


@reading_cache
def sweep_of(name: str, text: str, step: int) -> DateSweep:
    return date_sweep(_model(name), text, step)


@reading_cache
def prefixed_of(name: str, text: str, prefix: str) -> Prefixed:
    return fix_prefix(_model(name), text, prefix, own=reading_of(name, text))


@figure_cache
def tree_figure(name: str, text: str, beam: int):
    r, t = reading_of(name, text, beam), tree_of(name, text, beam)
    return beam_tree_figure(t.labels, t.parents, t.depth, t.log_prob, t.edge_log_p, t.status, t.texts,
                            f"beam {beam}: {r.text} (Σ log p = {r.log_prob:.3f})")


@figure_cache
def own_figure(name: str, text: str):
    """The model's own α, a click on a cell picks what to force (built once per source, not per forcing)."""
    r = reading_of(name, text)
    return clickable_cells(alignment_figure(r.attention, r.src_tokens, r.rows, "the model's own α", 380))


@figure_cache
def forced_figure(name: str, text: str, step: int, source: int, scale: float | None):
    f = forced_of(name, text, step, source, scale)
    return alignment_figure(f.forced.attention, f.forced.src_tokens, f.forced.rows, f"α forced at step {step + 1}",
                            380)


@figure_cache
def sweep_figure(name: str, text: str, step: int):
    s = sweep_of(name, text, step)
    return date_sweep_figure(s.src_tokens, s.written, s.gold, s.span,
                             f"output character {step + 1} with α one-hot at each source character")


@figure_cache
def prefix_figure(name: str, text: str, prefix: str):
    p = prefixed_of(name, text, prefix)
    rows = [f"{t} (fixed)" if i < p.fixed.prefix_len else t for i, t in enumerate(p.fixed.rows)]
    return alignment_figure(p.fixed.attention, p.fixed.src_tokens, rows, f"α with your start: {p.fixed.text}", 380)


def beam_tree_part(name: str, text: str, beam: int) -> None:
    """The tree of the search (inside the beam section's fragment)."""
    tree = tree_of(name, text, beam)
    chart(tree_figure(name, text, beam), key="s2s_beam_tree")
    kept, pruned = tree.status.count("winner") + tree.status.count("kept") - 1, tree.status.count("pruned")
    st.caption(f"Each node is a partial output, each edge the token added, with its log p. Orange: the winning "
               f"output and its prefixes; blue: kept in the beam at that step; grey: ranked but pruned (each live "
               f"hypothesis's {beam} best extensions compete for the {beam} places). {kept} hypotheses kept, "
               f"{pruned} pruned. The table below holds the numbers of the kept ones.")
    if pruned:
        with st.expander("The pruned candidates"):
            nodes = [n for n, s in enumerate(tree.status) if s == "pruned"]
            st.dataframe(pd.DataFrame({"step": [tree.depth[n] for n in nodes],
                                       "candidate": [tree.texts[n] for n in nodes],
                                       "log-prob": [round(float(tree.log_prob[n]), 3) for n in nodes]}),
                         hide_index=True, width="stretch")


def _steps_table(own: Seq2SeqReading, other: Seq2SeqReading, label: str) -> pd.DataFrame:
    """Step by step: the token each run emitted and its probability."""
    n = max(len(own.rows), len(other.rows))
    rows = [list(r.rows) + [""] * (n - len(r.rows)) for r in (own, other)]
    probs = [[round(float(p), 4) for p in r.token_probs] + [None] * (n - len(r.rows)) for r in (own, other)]
    return pd.DataFrame({"step": range(1, n + 1), "model's own": rows[0], "p (own)": probs[0], label: rows[1],
                         f"p ({label})": probs[1], "changed": [a != b for a, b in zip(*rows, strict=True)]})


def _date_verdict(f: Forced, task: str, text: str, name: str) -> None:
    """For a date: was α forced outside the gold span of that output character, and is the character now wrong?"""
    if task != "dates" or f.edit.scale is not None:
        return
    step, gold = f.edit.step, gold_char(text, f.edit.step)
    if gold is None:
        st.info("This source is not a date the generator writes, so there is no gold span to compare with.")
        return
    gold, span = gold
    now = f.forced.rows[step] if step < len(f.forced.rows) else ""
    if span is None:
        say("Output character {k} is the separator <b>{g}</b>: no source span holds it.", k=step + 1, g=gold)
    else:
        lo, hi = span
        inside = lo <= f.edit.source < hi
        say("Output character {k} should be <b>{g}</b>, read from source characters {lo}–{hi} ({span}). You forced "
            "α onto character {j} ({tok}), {where} that span: the decoder now writes <b>{now}</b>, {verdict}.",
            k=step + 1, g=gold, lo=lo + 1, hi=hi, span=repr(text.strip()[lo:hi]), j=f.edit.source + 1,
            tok=repr(f.own.src_tokens[f.edit.source]), where="inside" if inside else "outside", now=now or "nothing",
            verdict="the right digit" if now == gold else "a wrong digit")
    if not st.toggle("Try every source character at this step", key="s2s_force_sweep"):
        return
    sweep = sweep_of(name, text, step)
    if sweep:
        chart(sweep_figure(name, text, step), key="s2s_force_sweep_map")
        wrong_out = sum(1 for j, w in enumerate(sweep.written) if not sweep.inside(j) and w != sweep.gold)
        outside = sum(1 for j in range(len(sweep.written)) if not sweep.inside(j))
        st.caption(f"Blue: the correct character ({sweep.gold!r}); orange: a wrong one. The grey band is the gold "
                   f"span. Forced outside the span, {wrong_out} of {outside} positions give a wrong character.")
        with st.expander("The numbers: the character written for each forced source position"):
            st.dataframe(pd.DataFrame({"source": [f"{j + 1}. {t}" for j, t in enumerate(sweep.src_tokens)],
                                       "in gold span": [sweep.inside(j) for j in range(len(sweep.written))],
                                       "writes": sweep.written}), hide_index=True, width="stretch")


def _label_index(label: object) -> int | None:
    """The 0-based position in an axis label "j. token" (None if the label is not one)."""
    head = str(label).split(".", 1)[0]
    return int(head) - 1 if head.isdigit() else None


def force_clicked_cell() -> None:
    """Clicking a cell of the model's own map picks that step (row) and source token (column) to force."""
    event = st.session_state.get("s2s_force_own")
    points = event.selection.points if event is not None else []
    if not points:
        return
    step, source = _label_index(points[0].get("y")), _label_index(points[0].get("x"))
    if step is not None and source is not None:
        st.session_state["s2s_force_step"], st.session_state["s2s_force_source"] = step + 1, source


@st.fragment
def force_section(name: str, text: str, task: str) -> None:
    """Force α at one step; the decoder continues from the forced context (a fragment)."""
    st.subheader("7. Force the attention")
    own = reading_of(name, text)
    if not own.has_attention:
        st.info("This model has no attention: there is no α to force (its decoder reads the same vector c at every "
                "step). Fixing the prefix and the beam tree still work.")
        return
    st.latex(r"\alpha_{ij}\leftarrow\mathbb{1}[j=j^*]\quad\text{or}\quad \alpha_{ij}\propto k\,\exp(e_{ij}),\qquad "
             r"c_i=\sum_j\alpha_{ij}h_j")
    st.write("Pick a decoding step and a source token (or click a cell of the left map) and override where the "
             "decoder looks: all of α on that token "
             "(one-hot, so c_i = h_j exactly), or that token's weight multiplied by k before the normalisation "
             "(k = 0 blocks it). The decoder then carries on from the changed context, greedily, as before.")
    c1, c2, c3 = st.columns(3)
    step = int(c1.number_input("Step", 1, _model(name).config.max_out_len, 1, key="s2s_force_step")) - 1
    source = c2.selectbox("Source token", range(len(own.src_tokens)), key="s2s_force_source",
                          format_func=lambda j: f"{j + 1}. {own.src_tokens[j]!r}")
    how = c3.radio("How", ("one-hot", "scale"), horizontal=True, key="s2s_force_how",
                   format_func={"one-hot": "all α on it", "scale": "scale its weight"}.get)
    scale = None
    if how == "scale":
        scale = st.select_slider("k", FACTORS, value=10.0, key="s2s_force_scale")
    try:
        f = forced_of(name, text, step, source, scale)
    except ValueError as err:
        st.warning(str(err))
        return
    left, right = st.columns(2)
    chart(own_figure(name, text), key="s2s_force_own", where=left, on_select=force_clicked_cell,
          selection_mode="points")
    chart(forced_figure(name, text, step, source, scale), key="s2s_force_map", where=right)
    first = f.first_change
    if first is None:
        say("The output stays <b>{out}</b>: this step's new context still leads to the same tokens (log-prob {a} → "
            "{b}).", out=f.own.text, a=f"{f.own.log_prob:.3f}", b=f"{f.forced.log_prob:.3f}")
    else:
        say("The output changes from <b>{own}</b> to <b>{new}</b>, first at step {k}; log-prob {a} → {b}.",
            own=f.own.text, new=f.forced.text or "(nothing)", k=first + 1, a=f"{f.own.log_prob:.3f}",
            b=f"{f.forced.log_prob:.3f}")
    st.dataframe(_steps_table(f.own, f.forced, "forced"), hide_index=True, width="stretch")
    _date_verdict(f, task, text, name)


@st.fragment
def prefix_section(name: str, text: str, task: str) -> None:
    """The student writes the first output words; the decoder continues (a fragment)."""
    st.subheader("8. Fix the prefix")
    st.latex(r"\log p(y\mid x)=\underbrace{\sum_{i\le m}\log p(y_i\mid y_{<i},x)}_{\text{your words}}"
             r"+\underbrace{\sum_{i>m}\log p(y_i\mid y_{<i},x)}_{\text{the decoder's}}")
    st.write("Type how the output should start; the decoder reads your words as if it had written them and carries "
             "on greedily. Compare the total log-probability with the model's own choice.")
    typed = st.text_input("First output words" if task == "fra" else "First output characters",
                          PREFIX_EXAMPLES[task], key=f"s2s_prefix_{task}", max_chars=100)
    try:
        p = prefixed_of(name, text, typed)
    except ValueError as err:
        st.warning(str(err))
        return
    say("Model's own: <b>{own}</b> (log-prob {a}). Starting with <b>{pre}</b>: <b>{out}</b>, log-prob {b} = {c} "
        "for your {m} token(s) + {d} for the decoder's continuation.", own=p.own.text, a=f"{p.own.log_prob:.3f}",
        pre=("" if task == "dates" else " ").join(p.prefix),
        out=p.fixed.text, b=f"{p.fixed.log_prob:.3f}", c=f"{p.fixed.prefix_log_prob:.3f}",
        m=len(p.prefix), d=f"{p.continuation_log_prob:.3f}")
    if p.fixed.has_attention:
        chart(prefix_figure(name, text, typed), key="s2s_prefix_map")
        st.caption("Rows marked (fixed) are your words: the decoder read them instead of choosing; its attention "
                   "there shows where it looked while being told what to write.")
    st.dataframe(_steps_table(p.own, p.fixed, "with your start"), hide_index=True, width="stretch")
