"""Home: the chain rule P(w₁..w_T) = ∏ p(w_t | w_<t), live on the student's sentence."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from models.evaluate import ChainRule, chain_rule, token_nll
from models.registry import label
from pages.components.catalog import CATALOG, ROOT
from pages.components.chain_charts import chain_rule_figure
from pages.components.loaders import figure_cache, get_model
from pages.components.tokens import token_spans
from pages.components.widgets import (
    available_models,
    model_select,
    say,
    shared_sentence,
    show_source,
    table_with_csv,
)


@st.cache_data(max_entries=1024, show_spinner=False)
def score(name: str, text: str, append_eos: bool) -> ChainRule:
    """The chain rule for one model and text (cached: many students share sentences)."""
    bundle = get_model(name).bundle
    return chain_rule(bundle.model, bundle.tokenizer, text, append_eos)


@figure_cache
def chain_figure(names: tuple[str, ...], text: str, append_eos: bool, log_bars: bool):
    """The bars and running product for these models (built once per input for the whole server)."""
    results = {n: score(n, text, append_eos) for n in names}
    first = results[names[0]]
    return chain_rule_figure(first.tokens, {n: r.logp for n, r in results.items()}, first.unknown, log_bars)


st.title("The chain rule, live")
st.latex(r"P(w_1,\dots,w_T)=\prod_{t=1}^{T} p(w_t \mid w_1,\dots,w_{t-1})"
         r"\qquad \mathrm{PPL}=\exp\Big(-\tfrac{1}{T}\sum_{t=1}^{T}\log p(w_t\mid w_{<t})\Big)")
st.write(
    "A language model gives every next word a probability. Multiply them along the sentence and you get "
    "the probability of the whole sentence. The bars show each factor; the line below shows the running "
    "product, which shrinks with every word — that is why we work with logs and with perplexity, the "
    "average surprise per word. The first word is predicted right after an end of story (<eos>)."
)

names = available_models()
if not names:
    st.error("No language model could be loaded: see Checkpoints in the sidebar for the command that rebuilds them.")
    st.stop()
c1, c2, c3 = st.columns([2, 2, 2])
with c1:
    main = model_select("Model", "home_model", names, index=names.index("lstm") if "lstm" in names else 0)
with c2:
    other = model_select("Compare with", "home_compare", [n for n in names if n != main], extra=["none"])
with c3:
    append_eos = st.toggle("The sentence ends here (append <eos>)", value=True, key="home_eos")
    log_bars = st.toggle("Log scale for the bars", value=False, key="home_log")

sentence = shared_sentence()
if sentence.empty:
    st.stop()

results = {main: score(main, sentence.text, append_eos)}
if other != "none":
    results[other] = score(other, sentence.text, append_eos)
first = results[main]

m1, m2, m3, m4 = st.columns(4)
m1.metric("Tokens scored", len(first.tokens))
m2.metric("log P(sentence)", f"{first.total:.2f} nats", help=f"= {first.total / np.log(2):.2f} bits")
m3.metric("Perplexity", f"{first.perplexity:.1f}",
          delta=None if other == "none" else f"{first.perplexity - results[other].perplexity:+.1f} vs {other}",
          delta_color="inverse")
m4.metric("Unknown words", int(first.unknown.sum()), help="Words outside the 5,502-word vocabulary become <unk>.")

st.caption(f"What {label(main)} sees — colour: p(wₜ | earlier words), dark = surprising; "
           "an orange outline marks an unknown word (<unk>). Hover for the numbers.")
probs = np.exp(first.logp)
st.html(token_spans(
    first.tokens, np.clip(probs / max(probs.max(), 1e-9), 0, 1),
    titles=[f"{w} → {t}: p = {p:.4f}" for w, t, p in zip(first.words, first.tokens, probs, strict=True)],
    flagged=first.unknown,
))

st.plotly_chart(chain_figure(tuple(results), sentence.text, append_eos, log_bars), key="home_chart", width="stretch")

table = pd.DataFrame({"position": np.arange(1, len(first.tokens) + 1), "typed": first.words, "token": first.tokens})
for n, r in results.items():
    table[f"p ({n})"] = np.exp(r.logp)
    table[f"log p ({n})"] = r.logp
    table[f"log P so far ({n})"] = r.cumulative
with st.expander("The numbers behind the chart"):
    table_with_csv(table, "chain_rule.csv", key="home_csv")

with st.expander("Try this: predict, then reveal", expanded=True):
    st.write("Before you look at the chart: which token of your sentence does the model find **most surprising**?")
    labels = [f"{i + 1}. {t}" for i, t in enumerate(first.words)]
    guess = st.selectbox("My guess", range(len(labels)), format_func=lambda i: labels[i], key="home_guess")
    if st.toggle("Reveal", key="home_reveal"):
        order = np.argsort(first.logp)  # most surprising first
        worst = int(order[0])
        rank = int(np.where(order == guess)[0][0]) + 1
        say("The most surprising is <b>{worst}</b> (p = {p}). Your guess ranks {rank} of {n} (p = {pg}).",
            worst=labels[worst], p=f"{probs[worst]:.4f}", rank=rank, n=len(labels), pg=f"{probs[guess]:.4f}")
    st.write("Then: switch the model to the n-gram and back. Which words does the LSTM find easier, and why? "
             "Untick *append <eos>*: how much did the end of the sentence cost?")

show_source(chain_rule, token_nll)

st.subheader("Course map")
st.write("The pages follow the lecture, from counting words to transformers.")
for i, page in enumerate(CATALOG, start=1):
    if page.built:
        st.page_link(str(ROOT / page.path), label=f"{i}. {page.title} — {page.topic}", icon=page.icon)
    else:
        st.write(f"{i}. {page.title} — {page.topic} *(coming)*")
