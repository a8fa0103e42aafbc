"""Sections of the Transformer page that push on the attention (not a page of its own): switch heads off, rank
all heads by what the sentence's loss loses without each, cut one attention edge."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from models.readings.ablation import (
    MODES,
    Change,
    HeadRanking,
    Knockout,
    ablate_heads,
    knock_out_edge,
    rank_heads,
)
from pages.components.loaders import figure_cache, get_model, reading_cache
from pages.components.probe_charts import change_figure, head_grid_figure, prediction_figure
from pages.components.widgets import chart, say, table_with_csv

NAME = "transformer"
ALL_HEADS_NOTE = ("Every head is switched off: no token could read any other, so there is nothing left to compare. "
                  "Leave at least one head on.")


def _bundle():
    return get_model(NAME).bundle


@reading_cache
def ablation_of(text: str, heads: tuple[tuple[int, int], ...], mode: str) -> Change:
    b = _bundle()
    return ablate_heads(b.model, b.tokenizer, text, heads, mode)


@reading_cache
def ranking_of(text: str, mode: str) -> HeadRanking:
    b = _bundle()
    return rank_heads(b.model, b.tokenizer, text, mode)


@reading_cache
def knockout_of(text: str, query: int, key: int) -> Knockout:
    b = _bundle()
    return knock_out_edge(b.model, b.tokenizer, text, query, key)


@figure_cache
def ablation_figure(text: str, heads: tuple[tuple[int, int], ...], mode: str):
    c = ablation_of(text, heads, mode)
    return change_figure(c.tokens, c.kl, c.flipped, c.top_before, c.top_after,
                         f"{len(heads)} head(s) off ({MODES[mode]}): change of every next-token distribution")


@figure_cache
def grid_of(text: str, mode: str):
    return head_grid_figure(ranking_of(text, mode).increase, f"loss increase with each head off ({MODES[mode]})")


@figure_cache
def knockout_figures(text: str, query: int, key: int):
    k = knockout_of(text, query, key)
    c = k.change
    return (prediction_figure(k.words, k.probs_before, k.probs_after,
                              f"after {query + 1}. {c.tokens[query]}: next-token guesses with and without the edge"),
            change_figure(c.tokens, c.kl, c.flipped, c.top_before, c.top_after,
                          f"edge {query + 1} → {key + 1} cut: change at every position"))


def head_name(pair: tuple[int, int]) -> str:
    return f"layer {pair[0] + 1} · head {pair[1] + 1}"


def change_table(c: Change) -> pd.DataFrame:
    """Position by position: the model's own prediction and the changed one."""
    return pd.DataFrame({"position": [f"{t + 1}. {w}" for t, w in enumerate(c.tokens)], "true next": c.true_next,
                         "top (own)": c.top_before, "p (own)": np.round(c.p_top_before, 4),
                         "top (changed)": c.top_after, "p (changed)": np.round(c.p_top_after, 4),
                         "p(true next) own": np.round(c.p_true_before, 4),
                         "p(true next) changed": np.round(c.p_true_after, 4), "KL (nats)": np.round(c.kl, 5)})


def flips(c: Change) -> str:
    """The changed top predictions, named."""
    return "; ".join(f"after {t + 1}. {c.tokens[t]}: {c.top_before[t]} → {c.top_after[t]}" for t in c.flipped)


def mode_choice(key: str) -> str:
    return st.radio("Switched off means", list(MODES), format_func=MODES.get, horizontal=True, key=key)


@st.fragment
def ablation_section(text: str, n_layer: int, n_head: int) -> None:
    """Switch heads off and watch every prediction (a fragment)."""
    st.subheader("7. Switch heads off")
    st.latex(r"\text{output zeroed: } \operatorname{head}_i = 0 \qquad\text{or}\qquad \text{uniform attention: } "
             r"\alpha_{t_1 t_2}=\tfrac{1}{t_1}\ (t_2\le t_1),\quad \operatorname{head}_i=\alpha V_i")
    st.write("Pick heads to switch off. Either their output is zeroed before W^O mixes the heads, or they keep "
             "reading but spread their attention evenly over every token they may see (what they attend to stops "
             "mattering, their values still flow). For every position the bar is KL(p ‖ p′), how far the changed "
             "next-token distribution p′ moved from the model's own p; orange bars are positions whose most "
             "probable next token changed, named above the bar.")
    pairs = [(ell, h) for ell in range(n_layer) for h in range(n_head)]
    heads = st.multiselect("Heads to switch off", pairs, default=[(0, 0)], format_func=head_name,
                           key="tf_ablate_heads")
    mode = mode_choice("tf_ablate_mode")
    if not heads:
        st.info("Pick at least one head to switch off.")
        return
    if len(heads) == len(pairs):
        st.warning(ALL_HEADS_NOTE)
        return
    chosen = tuple(sorted(heads))
    c = ablation_of(text, chosen, mode)
    chart(ablation_figure(text, chosen, mode), key="tf_ablate_map")
    say("Switched off ({mode}): {heads}. The sentence's loss goes from {a} to {b} nats per token; the largest change "
        "is after <b>{pos}</b> (KL = {kl} nats). Top prediction changed at {n} of {t} positions{named}.",
        mode=MODES[mode], heads=", ".join(head_name(p) for p in chosen), a=f"{c.loss_before:.4f}",
        b=f"{c.loss_after:.4f}", pos=f"{int(c.kl.argmax()) + 1}. {c.tokens[int(c.kl.argmax())]}",
        kl=f"{c.kl.max():.4f}", n=len(c.flipped), t=len(c.tokens), named=f": {flips(c)}" if c.flipped else "")
    with st.expander("The numbers behind the bars"):
        table_with_csv(change_table(c), "head_ablation.csv", key="tf_ablate_csv")


@st.fragment
def ranking_section(text: str) -> None:
    """Every head off in turn, ranked by the loss increase (a fragment: one batched pass)."""
    st.subheader("8. Which heads matter for this sentence")
    st.latex(r"\Delta_{\ell,i}=\mathcal{L}(\text{head } i \text{ of layer } \ell \text{ off})-\mathcal{L},\qquad "
             r"\mathcal{L}=-\frac{1}{T-1}\sum_t\log p(x_{t+1}\mid x_{\le t})")
    mode = mode_choice("tf_rank_mode")
    try:
        r = ranking_of(text, mode)
    except ValueError as err:
        st.warning(str(err))
        return
    chart(grid_of(text, mode), key="tf_rank_map")
    order = r.order()
    top = order[0]
    say("With every head on the loss is {base} nats per token. Switching off <b>{head}</b> costs most: +{gain} nats. "
        "{n} of {all} heads raise the loss when switched off; the others lower it a little on this sentence.",
        base=f"{r.base_loss:.4f}", head=head_name(top), gain=f"{r.increase[top]:.4f}",
        n=int((r.increase > 0).sum()), all=r.increase.size)
    st.caption("Orange = the loss rises when the head is off (the head helped on this sentence), blue = it falls, "
               "white = no change. All 16 ablations run as one batch of 17 copies of the sentence.")
    ranked = pd.DataFrame({"rank": range(1, len(order) + 1), "head": [head_name(p) for p in order],
                           "loss with it off": [round(float(r.loss[p]), 5) for p in order],
                           "increase": [round(float(r.increase[p]), 5) for p in order]})
    with st.expander("The numbers behind the grid, ranked"):
        table_with_csv(ranked, "head_ranking.csv", key="tf_rank_csv")


@st.fragment
def knockout_section(text: str, tokens: list[str]) -> None:
    """Cut one attention edge in every layer and head (a fragment)."""
    st.subheader("9. Cut one attention edge")
    st.latex(r"S_{t_1 t_2}\leftarrow-\infty\ \text{ in every layer and head}\quad\Rightarrow\quad "
             r"\alpha_{t_1 t_2}=0")
    st.write("Stop one token from reading another: the score from query t₁ to key t₂ gets −∞ before the softmax, "
             "as the causal mask does for later tokens, so the other keys share its weight. See how the query's own "
             "next-token guess moves (and the positions after it, which read the query's changed vector).")
    T = len(tokens)
    if T < 2:
        st.info("The sentence needs at least one word after the start token.")
        return
    labels = [f"{t + 1}. {w}" for t, w in enumerate(tokens)]
    c1, c2 = st.columns(2)
    query = c1.selectbox("Query (reads)", range(1, T), index=T - 2, format_func=labels.__getitem__,
                         key="tf_edge_query")
    key = c2.selectbox("Key (is no longer read)", range(T), format_func=labels.__getitem__, key="tf_edge_key")
    k = knockout_of(text, query, key)
    c = k.change
    if key > query:
        say("Key {k} comes after query {q}: the causal mask already gives that score −∞, so cutting it changes "
            "nothing — the largest KL over all positions is {kl}.", k=labels[key], q=labels[query],
            kl=f"{c.kl.max():.1e}")
    else:
        same = c.top_after[query] == c.top_before[query]
        verdict = ("still predicts <b>{after}</b>, now with p = {pa} (was {pb})" if same
                   else "predicts <b>{after}</b> (p = {pa}) instead of <b>{before}</b> (p = {pb})")
        say("Without reading <b>{k}</b>, position <b>{q}</b> " + verdict + "; KL there = {kl} nats, largest "
            "anywhere {kmax} nats.", k=labels[key],
            q=labels[query], after=c.top_after[query], pa=f"{c.p_top_after[query]:.3f}",
            before=c.top_before[query], pb=f"{c.p_top_before[query]:.3f}", kl=f"{c.kl[query]:.4f}",
            kmax=f"{c.kl.max():.4f}")
    guesses, change = knockout_figures(text, query, key)
    left, right = st.columns(2)
    chart(guesses, key="tf_edge_guess", where=left)
    chart(change, key="tf_edge_change", where=right)
    with st.expander("The numbers behind the bars"):
        st.dataframe(pd.DataFrame({"next token": k.words, "p (own)": np.round(k.probs_before, 4),
                                   "p (edge cut)": np.round(k.probs_after, 4)}), hide_index=True, width="stretch")
        table_with_csv(change_table(c), "edge_knockout.csv", key="tf_edge_csv")
