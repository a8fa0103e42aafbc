"""N-gram counts: the count table, sparsity, MLE's zeros, add-α, interpolation, Kneser–Ney, generation by order."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from models.ngram_heldout import (
    ALPHA_GRID,
    add_alpha,
    interpolated,
    lecture_to_model,
    mle,
    perplexity,
    token_counts,
)
from models.readings.ngram import (
    Continuation,
    Generated,
    SentenceCounts,
    Sparsity,
    UnseenMass,
    generate_by_order,
    read_continuation,
    read_counts,
    read_sparsity,
    unseen_mass,
)
from pages.components.loaders import figure_cache, get_model, reading_cache
from pages.components.ngram_charts import (
    alpha_curve_figure,
    continuation_figure,
    count_table_figure,
    mixture_figure,
    simplex_figure,
    token_probability_figure,
    unseen_mass_figure,
)
from pages.components.tokens import token_spans
from pages.components.widgets import chart, say, shared_sentence, show_source, table_with_csv, try_this

MODEL = "ngram"
PRESET = "the purple elephant sang opera to the moon ."  # "elephant sang opera" was never seen in training
ORDER_NAMES = {1: "unigram", 2: "bigram", 3: "trigram"}
TRY_THIS = (
    "Before moving α: will add-1 (α = 1) make the held-out perplexity better or worse than α = 0.01? Check the "
    "curve.",
    "Set λ₁ = 1 (trigram only). What happens to the held-out perplexity, and why is it the MLE's problem again?",
    "Type a sentence with a word that appears in a fixed phrase (\"upon\", \"named\"). Is its continuation "
    "probability below its unigram probability?",
    "Generate with seed 0, then 1, 2: does the trigram text read better than the bigram one? How much of it is a "
    "copy of the training text?",
)


def model():
    return get_model(MODEL).bundle


@reading_cache
def counts_of(text: str) -> SentenceCounts:
    bundle = model()
    return read_counts(bundle.model, bundle.tokenizer, text)


@reading_cache
def sparsity_of() -> Sparsity:
    return read_sparsity(model().model)


@reading_cache
def mass_of(word: str) -> UnseenMass:
    bundle = model()
    return unseen_mass(bundle.model, bundle.tokenizer, word, np.logspace(-4, 1, 51))


@reading_cache
def continuation_of(words: tuple[str, ...]) -> Continuation:
    bundle = model()
    return read_continuation(bundle.model, bundle.tokenizer, list(words))


@reading_cache
def samples_of(text: str, estimator: str, seed: int, n_tokens: int) -> list[Generated]:
    bundle = model()
    return generate_by_order(bundle.model, bundle.tokenizer, text, estimator, seed, n_tokens)


def heldout() -> dict:
    """The held-out curves and table stored at training time (``python -m models.train ngram``)."""
    return model().meta.get("heldout", {}).get("valid", {})


def ppl_text(p: np.ndarray) -> str:
    """A perplexity for the page: ∞ with the zero-probability tokens, never NaN."""
    result = perplexity(p)
    return f"{result.value:.1f}" if math.isfinite(result.value) else f"∞ ({result.zero_tokens} tokens with p = 0)"


@figure_cache
def table_figure(text: str):
    c = counts_of(text)
    return count_table_figure(c.table_words, c.bigram_table, c.unigram)


@figure_cache
def alpha_figure(alpha: float):
    found = heldout()
    curves = {f"{ORDER_NAMES[int(n)]} (valid)": v["ppl"] for n, v in found["add_alpha"].items()}
    marks = {f"{ORDER_NAMES[int(n)]} (valid)": v["ppl"][ALPHA_GRID.index(alpha)] for n, v in found["add_alpha"].items()}
    return alpha_curve_figure(found["alpha_grid"], curves, alpha, marks)


@figure_cache
def add_alpha_figure(text: str, alpha: float):
    c = counts_of(text)
    return token_probability_figure(c.tokens, {"MLE": mle(c.counts, 3), f"add-α, α = {alpha:g}":
                                               add_alpha(c.counts, 3, alpha), "Kneser–Ney": c.kn})


@figure_cache
def mixture_of(text: str, lam: tuple[float, float, float]):
    c = counts_of(text).counts
    return mixture_figure(counts_of(text).tokens, mixture_parts(c, lam))


def mixture_parts(c, lam: tuple[float, float, float]) -> dict[str, np.ndarray]:
    """Each order's share λ_k p_k / Σ_seen λ in the interpolated p (they add up to p)."""
    model_l = lecture_to_model(lam)  # unigram first
    seen = c.c_h > 0
    weight = sum(model_l[k] * seen[k] for k in range(3))
    parts = {}
    for k in (2, 1, 0):
        p_k = np.where(seen[k], c.c_hw[k] / np.maximum(c.c_h[k], 1), 0.0)
        parts[f"λ{'₃₂₁'[k]} · {ORDER_NAMES[k + 1]}"] = np.where(weight > 0, model_l[k] * p_k / np.where(
            weight > 0, weight, 1), 0.0)
    return parts


@figure_cache
def unseen_of(word: str, alpha: float):
    mass = mass_of(word)
    return unseen_mass_figure(mass.alphas, mass.mass, alpha, mass.context)


@figure_cache
def continuation_chart(words: tuple[str, ...]):
    k = continuation_of(words)
    return continuation_figure(k.words, k.p_unigram, k.p_continuation)


@figure_cache
def simplex_of(lam: tuple[float, float], tuned: tuple[float, float]):
    found = heldout()["interpolation"]["3"]
    return simplex_figure(np.asarray(found["lambdas"]), found["ppl"], lam, tuned)


def section_counts(text: str) -> SentenceCounts:
    """1. The count table, the counts behind every position, sparsity in numbers."""
    st.header("1. Counts")
    st.latex(r"p(w_i)=\frac{c(w_i)}{N}\qquad p(w_i\mid w_{i-1})=\frac{c(w_{i-1},w_i)}{c(w_{i-1})}")
    c = counts_of(text)
    st.write("Rows: the previous word; columns: the next word; each cell counts how often that pair occurs in the "
             "1.3 million training tokens.")
    if c.table_cut:
        st.info(f"Your sentence has more distinct tokens than the table shows: the first {len(c.table_words)}.")
    chart(table_figure(text), key="ng_table")
    st.caption("Colour: log₁₀ of the count, dark purple = low (a count of 1), yellow = high (the largest); grey "
               "cells were never seen. Beside each row: the word's own count c(w).")
    s = sparsity_of()
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Zero cells in this table", f"{c.zero_share:.0%}")
    m2.metric("Vocabulary V", f"{s.vocab_size:,}")
    m3.metric("Distinct bigrams seen", f"{s.distinct[1]:,}", help=f"of V² = {s.possible[1]:,.0f} possible")
    m4.metric("Distinct trigrams seen", f"{s.distinct[2]:,}", help=f"of V³ = {s.possible[2]:.3g} possible")
    say("The training text has <b>{b}</b> of the V² possible bigrams ({bs}) and <b>{t}</b> of the V³ possible "
        "trigrams ({ts}): almost every n-gram is never seen, so most counts are zero.",
        b=f"{s.distinct[1]:,}", bs=f"{s.seen_share[1]:.2%}", t=f"{s.distinct[2]:,}", ts=f"{s.seen_share[2]:.5%}")
    rows = pd.DataFrame({"position": np.arange(1, len(c.tokens) + 1), "token": c.tokens,
                         "c(w)": c.counts.c_hw[0], "context w₋₂ w₋₁": [" ".join(h) for h in c.contexts],
                         "c(w₋₁ w)": c.counts.c_hw[1], "c(w₋₂ w₋₁ w)": c.counts.c_hw[2]})
    with st.expander("Unigram, bigram and trigram counts behind every position", expanded=False):
        table_with_csv(rows, "ngram_counts.csv", key="ng_counts_csv")
    return c


def mle_rows(c: SentenceCounts, order: int) -> pd.DataFrame:
    p = mle(c.counts, order)
    return pd.DataFrame({"token": c.tokens, "context": [" ".join(h[3 - order :]) for h in c.contexts],
                         "c(context)": c.counts.c_h[order - 1], "c(context, w)": c.counts.c_hw[order - 1],
                         "p_ML": p, "note": ["context never seen: 0/0, read as 1/V" if h == 0 else
                                             "p = 0: never seen after this context" if hw == 0 else ""
                                             for h, hw in zip(c.counts.c_h[order - 1], c.counts.c_hw[order - 1],
                                                              strict=True)]})


def section_mle(c: SentenceCounts) -> None:
    """2. Maximum likelihood and the zero problem, on the sentence and on a preset one."""
    st.header("2. MLE and the zero problem")
    st.latex(r"p_{ML}(w\mid h)=\frac{c(h,w)}{c(h)}\qquad P(\text{sentence})=\prod_t p_{ML}(w_t\mid h_t)")
    order = st.radio("Order", (1, 2, 3), index=2, format_func=ORDER_NAMES.get, horizontal=True, key="ng_mle_order")
    p = mle(c.counts, order)
    say("Perplexity of your sentence under the {o} MLE: <b>{ppl}</b>.", o=ORDER_NAMES[order], ppl=ppl_text(p))
    table_with_csv(mle_rows(c, order), "ngram_mle.csv", key="ng_mle_csv")
    preset = counts_of(PRESET)
    say("A sentence with a surely unseen trigram, <i>{s}</i>: perplexity under the trigram MLE <b>{ppl}</b>. "
        "One zero factor makes P(sentence) = 0, log P = −∞, and the perplexity infinite.",
        s=PRESET, ppl=ppl_text(mle(preset.counts, 3)))
    st.caption("Where the context itself was never seen, c(h) = 0 and c(h, w)/c(h) is 0/0, undefined: the model "
               "then reads it as uniform, 1/V. The first word's context is <eos> <eos>, which never occurs.")


@st.fragment
def section_add_alpha(text: str) -> None:
    """3. Add-α: the slider, the held-out curve, the mass moved to unseen words."""
    st.header("3. Add-α smoothing")
    st.latex(r"p_{\alpha}(w\mid h)=\frac{c(h,w)+\alpha}{c(h)+\alpha V}")
    c = counts_of(text)
    alpha = st.select_slider("α (log scale)", ALPHA_GRID, value=1.0, key="ng_alpha", format_func=lambda a: f"{a:.2g}")
    p = add_alpha(c.counts, 3, alpha)
    m1, m2 = st.columns(2)
    m1.metric("Perplexity of your sentence, add-α trigram", ppl_text(p))
    m2.metric("…and under the trigram MLE", ppl_text(mle(c.counts, 3)))
    chart(add_alpha_figure(text, alpha), key="ng_alpha_tokens")
    found = heldout()
    if found:
        chart(alpha_figure(alpha), key="ng_alpha_curve")
        best = found["add_alpha"]["3"]
        say("On the valid split the trigram's best α is <b>{a}</b> (perplexity {p}); add-1 gives {p1}.",
            a=f"{best['best_alpha']:.2g}", p=f"{best['best_ppl']:.1f}",
            p1=f"{best['ppl'][ALPHA_GRID.index(1.0)]:.1f}")
    else:
        st.warning("The held-out curves are missing from the manifest: rebuild with python -m models.train ngram.")
    words = list(dict.fromkeys(c.tokens))
    seen = {t: n for t, n in zip(c.tokens, c.counts.c_hw[0], strict=True) if n > 0}
    rarest = min(seen, key=seen.get) if seen else words[0]  # add-1's lesson is starkest after a rare context
    word = st.selectbox("Context word h", words, index=words.index(rarest), key="ng_context")
    mass = mass_of(word)
    add1 = mass.mass[np.argmin(np.abs(mass.alphas - 1.0))]
    mine = (mass.vocab_size - mass.types) * alpha / (mass.c_h + alpha * mass.vocab_size)
    say("After <b>{h}</b> (seen {c} times, followed by {k} different words), the {u} words never seen after it get "
        "<b>{add1}</b> of the probability under add-1, and {mine} at α = {a}. Under MLE they get 0.",
        h=mass.context, c=f"{mass.c_h:,}", k=f"{mass.types:,}", u=f"{mass.vocab_size - mass.types:,}",
        add1=f"{add1:.1%}", mine=f"{mine:.2%}", a=f"{alpha:.2g}")
    chart(unseen_of(word, alpha), key="ng_unseen")


@st.fragment
def section_interpolation(text: str) -> None:
    """4. Linear interpolation: λ sliders on the simplex, the per-token mixture, the held-out simplex."""
    st.header("4. Interpolation")
    st.latex(r"p(w_i\mid w_{i-2},w_{i-1})=\lambda_1\,p(w_i\mid w_{i-2},w_{i-1})+\lambda_2\,p(w_i\mid w_{i-1})"
             r"+\lambda_3\,p(w_i),\qquad \lambda_1+\lambda_2+\lambda_3=1")
    c1, c2, c3 = st.columns(3)
    l1 = c1.slider("λ₁ (trigram)", 0.0, 1.0, 0.6, 0.05, key="ng_l1")
    l2 = c2.slider("λ₂ (bigram)", 0.0, 1.0, 0.3, 0.05, key="ng_l2")
    if l1 + l2 > 1:
        l2 = round(1 - l1, 4)
        c2.caption(f"λ₁ + λ₂ may not exceed 1: λ₂ is used as {l2:.2f}.")
    l3 = max(0.0, round(1 - l1 - l2, 4))  # never −0.00
    c3.metric("λ₃ (unigram) = 1 − λ₁ − λ₂", f"{l3:.2f}")
    st.caption("Two sliders and λ₃ = 1 − λ₁ − λ₂ keep the weights on the simplex: every slider position is a valid "
               "mixture, and when λ₁ + λ₂ would pass 1 the bigram weight is cut back rather than all three rescaled.")
    counts = counts_of(text)
    lam = (l1, l2, l3)
    p = interpolated(counts.counts, lecture_to_model(lam))
    say("Perplexity of your sentence with these λ: <b>{ppl}</b>.", ppl=ppl_text(p))
    chart(mixture_of(text, lam), key="ng_mixture")
    st.caption("Each bar is p(w | context) split by where it comes from. Orders whose context was never seen drop "
               "out and the remaining λ are divided by their sum.")
    found = heldout()
    if found:
        tuned = found["interpolation"]["3"]["best_lambdas"]
        chart(simplex_of((l1, l2), (tuned[0], tuned[1])), key="ng_simplex")
        st.caption("Colour: perplexity on the valid split, yellow = low (good), dark purple = high. Blank: λ₁ + λ₂ > 1 "
                   "is off the simplex, or λ₃ = 0 leaves a word with p = 0 (perplexity ∞).")
        say("Tuned on the valid split (a grid in steps of 0.05): λ₁ = <b>{a}</b>, λ₂ = <b>{b}</b>, λ₃ = <b>{c}</b>, "
            "perplexity {p}.", a=f"{tuned[0]:.2f}", b=f"{tuned[1]:.2f}", c=f"{tuned[2]:.2f}",
            p=f"{found['interpolation']['3']['best_ppl']:.1f}")


def section_kneser_ney(c: SentenceCounts) -> None:
    """5. Kneser–Ney's continuation counts on a frequent word with few predecessors."""
    st.header("5. Kneser–Ney")
    st.latex(r"P_{cont}(w)=\frac{N_{1+}(\bullet\,w)}{N_{1+}(\bullet\,\bullet)}\qquad "
             r"p_{KN}(w\mid h)=\frac{\max(c(h,w)-D,0)}{c(h)}+\frac{D\,N_{1+}(h\,\bullet)}{c(h)}\,p_{KN}(w\mid h')")
    words = tuple(t for t in dict.fromkeys(c.tokens) if t.isalpha())[:8]
    k = continuation_of(words)
    say("<b>{w}</b> is frequent (seen {n} times) but follows only <b>{f}</b> different words: its unigram "
        "probability is {pu}, its continuation probability only {pc}. Backing off to the unigram would offer it "
        "after any context; Kneser–Ney's lower order asks how many contexts a word completes.",
        w=k.words[0], n=f"{k.counts[0]:,}", f=f"{k.followers[0]:,}", pu=f"{k.p_unigram[0]:.2e}",
        pc=f"{k.p_continuation[0]:.2e}")
    chart(continuation_chart(words), key="ng_kn")
    st.write(f"Absolute discounts D = n₁/(n₁ + 2n₂): unigram {k.discounts[0]:.3f}, bigram {k.discounts[1]:.3f}, "
             f"trigram {k.discounts[2]:.3f}.")
    table = pd.DataFrame({"word": k.words, "c(w)": k.counts, "p(w) = c(w)/N": k.p_unigram,
                          "N1+(• w)": k.followers, "P_cont(w)": k.p_continuation})
    with st.expander("The numbers"):
        table_with_csv(table, "kneser_ney.csv", key="ng_kn_csv")
    tokens = pd.DataFrame({"token": c.tokens, "p_KN(w | w₋₂ w₋₁)": c.kn, "p_ML": mle(c.counts, 3)})
    say("Your sentence under Kneser–Ney: perplexity <b>{p}</b> (no zeros: every order mixes in the one below).",
        p=ppl_text(c.kn))
    with st.expander("Kneser–Ney per token"):
        table_with_csv(tokens, "kneser_ney_tokens.csv", key="ng_kn_tokens_csv")


@st.fragment
def section_generation(text: str) -> None:
    """6. Samples from the unigram, bigram and trigram models side by side, the copied run marked."""
    st.header("6. Generation by order")
    c1, c2, c3 = st.columns(3)
    estimator = c1.radio("Estimator", ("mle", "kn"), horizontal=True, key="ng_gen_est",
                         format_func={"mle": "MLE", "kn": "Kneser–Ney"}.get)
    seed = int(c2.number_input("Seed", 0, 1_000_000, 0, key="ng_seed"))
    n_tokens = c3.slider("Tokens", 5, 60, 30, key="ng_gen_len")
    samples = samples_of(text, estimator, seed, n_tokens)
    st.caption("Each continues your sentence (pure sampling, the same seed for each order). Outlined: the longest "
               "run of tokens whose trigram (with the two tokens before it) occurs in the training counts.")
    for col, s in zip(st.columns(3), samples, strict=True):
        with col:
            st.subheader(ORDER_NAMES[s.order])
            a, b = s.longest if s.order == 3 else (0, 0)
            flagged = [a <= t < b for t in range(len(s.words))]
            st.html(token_spans(s.words, s.trigram_seen.astype(float), flagged=flagged,
                                titles=["trigram seen" if x else "trigram never seen" for x in s.trigram_seen]))
            if s.order == 3:
                say("Longest run of seen trigrams: <b>{n}</b> of {t} tokens.", n=b - a, t=len(s.words))
    st.caption("Colour: dark purple = 0, the trigram ending at this token never occurs in training; yellow = 1, "
               "it does.")


def section_table() -> None:
    """7. Perplexity on the valid split, orders × estimators, from the manifest."""
    st.header("7. The table")
    found = heldout()
    if not found:
        st.warning("The held-out table is missing from the manifest: rebuild with python -m models.train ngram.")
        return
    names = {"mle": "MLE", "add_alpha": "add-α (best α)", "interpolation": "interpolation (tuned λ)",
             "kneser_ney": "Kneser–Ney"}
    rows = []
    for n, row in found["table"].items():
        cells = {"order": ORDER_NAMES[int(n)]}
        for key, name in names.items():
            v = row[key]
            zero = f"∞ ({v['zero_tokens'] / v['tokens']:.1%} with p = 0)"
            cells[name] = f"{v['ppl']:.2f}" if v["ppl"] is not None else zero
        rows.append(cells)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(f"Perplexity on the {found['tokens']:,} tokens of the valid split, scored at training time by the "
               "evaluator (python -m models.evaluate ngram --smoothing … on the valid text gives the same). Best α "
               "and λ: the grid points of sections 3 and 4. ∞: the share of tokens given p = 0.")


def show_notes(c: SentenceCounts) -> None:
    if c.unknown.any():
        say("Not in the vocabulary, counted as &lt;unk&gt;: <b>{w}</b>",
            w=", ".join(dict.fromkeys(w for w, u in zip(c.words, c.unknown, strict=True) if u)))


st.title("N-gram counts")
st.write("The first language models only count: how often each word follows the one or two words before it. "
         "This page runs the lecture on your sentence with the shipped counts of orders 1–3 (1.3 million tokens of "
         "TinyStories).")
bundle = model()
if bundle is None:
    st.error(get_model(MODEL).error)
    st.stop()
sentence = shared_sentence()
if sentence.empty:
    st.stop()
counts = section_counts(sentence.text)
show_notes(counts)
section_mle(counts)
section_add_alpha(sentence.text)
section_interpolation(sentence.text)
section_kneser_ney(counts)
section_generation(sentence.text)
section_table()
try_this(*TRY_THIS)
show_source(read_counts, token_counts, mle, add_alpha, interpolated, unseen_mass, read_continuation, generate_by_order)
