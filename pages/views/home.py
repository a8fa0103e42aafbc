"""Home: the chain rule P(w₁..w_T) = ∏ p(w_t | w_<t), live on the student's sentence."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from models.evaluate import ChainRule, chain_rule, token_nll
from models.inputs import model_input
from models.registry import label
from pages.components.catalog import CATALOG, ROOT
from pages.components.chain_charts import chain_rule_figure
from pages.components.classroom import question
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
)


@reading_cache
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


EOS_EXPLAINED = (
    "<eos> is the end-of-story marker: in our training text (TinyStories) every story ends with it, so the model "
    "learned what comes after one story ends — the first word of the next. That is why the first word of your "
    "sentence is predicted right after an <eos>: to the model, your text is a new story. Appending <eos> also scores "
    "how likely the story is to end where your text ends; the lecture's <EOS> does the same job for sentences, so "
    "that the probabilities of texts of every length add up to one."
)


def explain() -> None:
    """The chain rule and perplexity as the lecture writes them, and what the page shows."""
    st.title("The chain rule, live")
    st.latex(r"P(w_1,\dots,w_T)=\prod_{t=1}^{T} p(w_t \mid w_1,\dots,w_{t-1})"
             r"\qquad \mathrm{PPL}=\exp\Big(-\tfrac{1}{T}\sum_{t=1}^{T}\log p(w_t\mid w_{<t})\Big)")
    st.write(
        "A language model gives every next word a probability. Multiply them along the sentence and you get the "
        "probability of the whole sentence. The bars show each factor; the line below shows the running product, "
        "which shrinks with every word — that is why we work with logs. The surprise of a word is −log p; "
        "perplexity is the exponential of the average surprise per word: as unsure as choosing uniformly among "
        "that many words."
    )
    st.caption(EOS_EXPLAINED)


def controls(names: list[str]) -> tuple[str, str, bool, bool]:
    """The model, the model to compare with, whether the story ends here, and the bar scale."""
    c1, c2, c3 = st.columns([2, 2, 2])
    with c1:
        main = model_select("Model", "home_model", names, index=names.index("lstm") if "lstm" in names else 0)
    with c2:
        other = model_select("Compare with", "home_compare", [n for n in names if n != main], extra=["none"])
    with c3:
        append_eos = st.toggle("End the story: append <eos>", value=True,
                               key="home_eos", help=EOS_EXPLAINED)
        log_bars = st.toggle("Log scale for the bars", value=False, key="home_log")
    return main, other, append_eos, log_bars


def metrics(main: ChainRule, other: ChainRule | None, other_name: str) -> None:
    """Tokens, log P, perplexity and unknown words of the main model (perplexity against the other)."""
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Tokens scored", len(main.tokens))
    m2.metric("log P(sentence)", f"{main.total:.2f} nats", help=f"= {main.total / np.log(2):.2f} bits")
    m3.metric("Perplexity", f"{main.perplexity:.1f}", help="exp(average surprise) = exp(−log P / tokens)",
              delta=None if other is None else f"{main.perplexity - other.perplexity:+.1f} vs {other_name}",
              delta_color="inverse")
    m4.metric("Unknown words", int(main.unknown.sum()), help="Words outside the 5,502-word vocabulary become <unk>.")


def token_strip(name: str, result: ChainRule) -> None:
    """The sentence as the model sees it, each token coloured by its probability."""
    st.caption(f"What {label(name)} sees — colour: p(wₜ | earlier words), dark purple = surprising, yellow = "
               "expected; an orange outline marks an unknown word (<unk>). Hover for the numbers.")
    probs = np.exp(result.logp)
    st.html(token_spans(
        result.tokens, np.clip(probs / max(probs.max(), 1e-9), 0, 1),
        titles=[f"{w} → {t}: p = {p:.4f}" for w, t, p in zip(result.words, result.tokens, probs, strict=True)],
        flagged=result.unknown,
    ))


def numbers(results: dict[str, ChainRule]) -> None:
    """The numbers behind the chart, with a CSV."""
    first = next(iter(results.values()))
    table = pd.DataFrame({"position": np.arange(1, len(first.tokens) + 1), "typed": first.words,
                          "token": first.tokens})
    for n, r in results.items():
        table[f"p ({n})"] = np.exp(r.logp)
        table[f"log p ({n})"] = r.logp
        table[f"log P so far ({n})"] = r.cumulative
    with st.expander("The numbers behind the chart"):
        table_with_csv(table, "chain_rule.csv", key="home_csv")


def predict_then_reveal(result: ChainRule) -> None:
    """Guess the most surprising token, then reveal it."""
    with st.expander("Try this: predict, then reveal", expanded=True):
        st.write("Before you look at the chart: which token of your sentence does the model find **most surprising**?")
        labels = [f"{i + 1}. {t}" for i, t in enumerate(result.words)]
        probs = np.exp(result.logp)
        guess = st.selectbox("My guess", range(len(labels)), format_func=lambda i: labels[i], key="home_guess")
        question("home_surprise", labels, guess)
        if st.toggle("Reveal", key="home_reveal"):
            order = np.argsort(result.logp)  # most surprising first
            worst = int(order[0])
            rank = int(np.where(order == guess)[0][0]) + 1
            say("The most surprising is <b>{worst}</b> (p = {p}). Your guess ranks {rank} of {n} (p = {pg}).",
                worst=labels[worst], p=f"{probs[worst]:.4f}", rank=rank, n=len(labels), pg=f"{probs[guess]:.4f}")
        st.write("Then: switch the model to the n-gram and back. Which words does the LSTM find easier, and why? "
                 "Switch off *append <eos>*: how much did the end of the story cost?")


def course_map() -> None:
    """Every page in lecture order (built ones as links)."""
    st.subheader("Course map")
    st.write("The pages follow the lecture, from counting words to transformers.")
    for i, page in enumerate(CATALOG, start=1):
        if page.built:
            st.page_link(str(ROOT / page.path), label=f"{i}. {page.title} — {page.topic}", icon=page.icon)
        else:
            st.write(f"{i}. {page.title} — {page.topic} *(coming)*")


explain()
names = available_models()
if not names:
    st.error("No language model could be loaded: see Checkpoints in the sidebar for the command that rebuilds them.")
    st.stop()
main, other, append_eos, log_bars = controls(names)
sentence = shared_sentence()
if sentence.empty:
    st.stop()
results = {n: score(n, sentence.text, append_eos) for n in (main, other) if n != "none"}
metrics(results[main], results.get(other), other)
token_strip(main, results[main])
chart(chain_figure(tuple(results), sentence.text, append_eos, log_bars), key="home_chart")
numbers(results)
predict_then_reveal(results[main])
show_source(chain_rule, token_nll, model_input)
course_map()
