"""Decoding and sampling: greedy, temperature, top-k (q̂_i = q_i·1{i ≤ K}/Z), top-p and beam search, live."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import streamlit as st

from models.readings.sampling import (
    BeamReading,
    NextToken,
    Sample,
    TradeOff,
    Truncation,
    draw_samples,
    read_beam,
    read_next_token,
    read_trade_off,
    truncate,
)
from models.registry import label
from models.sampling import SamplingConfig, beam_search, next_token_distribution, samples_step_by_step
from models.tradeoff import KINDS
from models.vectors import softmax
from pages.components.classroom import question
from pages.components.loaders import figure_cache, get_model, reading_cache
from pages.components.on_demand import asked
from pages.components.sampling_charts import distribution_figure, generation_figure, tradeoff_figure
from pages.components.text import clean_text
from pages.components.tokens import token_spans
from pages.components.widgets import (
    SENTENCE_KEY,
    available_models,
    chart,
    model_select,
    say,
    show_source,
    table_with_csv,
    try_this,
)

PROMPT_TAIL = 12  # words of the prompt shown before each sample (the whole prompt is shown once above)
SCORER = "transformer"  # the best model judges the samples' quality
MODES = {"greedy": "greedy (always the top token)", "sampling": "pure sampling", "top_k": "top-k sampling",
         "top_p": "top-p (nucleus) sampling", "beam": "beam search"}
KNOBS = {"top_k": "K (top-k)", "top_p": "P (top-p)", "temperature": "temperature T"}
EMPTY_PROMPT = "The prompt (the sidebar sentence) is empty: generation starts from <eos>, the start of a new story."


TRY_THIS = (  # predict, then reveal
    'Set T = 0.3, then T = 1.5: before you move the slider, guess whether the top bar gets taller or '
    'shorter. Then check how many tokens a top-p of P = 0.9 keeps at each.',
    'Generate with top-k and K = 1: what must it equal? Switch the decoding to greedy and compare.',
    "In the trade-off chart, which K would you pick? Is it near the lecture's K = 40?",
)


def vocabulary(name: str) -> list[str]:
    """The model's tokens by id."""
    return get_model(name).bundle.tokenizer.vocab.itos


@reading_cache
def next_of(name: str, text: str) -> NextToken:
    """The model's next-token logits after <eos> + the prompt (cached per model and prompt)."""
    bundle = get_model(name).bundle
    return read_next_token(bundle.model, bundle.tokenizer, text)


@reading_cache
def stages_of(name: str, text: str, cfg: SamplingConfig) -> Truncation:
    return truncate(next_of(name, text), vocabulary(name), cfg)


@reading_cache
def samples_of(name: str, text: str, cfg: SamplingConfig, seed: int, n_tokens: int, n_samples: int) -> list[Sample]:
    bundle = get_model(name).bundle
    return draw_samples(bundle.model, bundle.tokenizer, text, cfg, seed, n_tokens, n_samples)


@reading_cache
def beam_of(name: str, text: str, width: int, n_tokens: int) -> BeamReading:
    bundle = get_model(name).bundle
    return read_beam(bundle.model, bundle.tokenizer, text, width, n_tokens)


@reading_cache
def tradeoff_of(name: str, text: str, kind: str) -> TradeOff:
    bundle = get_model(name).bundle
    return read_trade_off(bundle.model, get_model(SCORER).bundle.model, bundle.tokenizer, text, kind)


@figure_cache
def distribution_of(name: str, text: str, cfg: SamplingConfig):
    """The top tokens' probabilities: the model's p, the tempered q, the truncated q̂."""
    t = stages_of(name, text, cfg)
    stages = [("1. the model's distribution p = softmax(z)", t.p),
              (f"2. after temperature: q = softmax(z/T), T = {cfg.temperature:g}", t.q),
              (f"3. truncated and divided by Z: q̂ ({cfg.label})", t.q_hat)]
    return distribution_figure(t.words, stages, t.kept_shown)


@figure_cache
def generation_of(name: str, text: str, cfg: SamplingConfig, seed: int, n_tokens: int, n_samples: int):
    samples = samples_of(name, text, cfg, seed, n_tokens, n_samples)
    return generation_figure([s.model_prob for s in samples], [s.rank for s in samples], [s.words for s in samples])


@figure_cache
def tradeoff_chart(name: str, text: str, kind: str):
    sweep = tradeoff_of(name, text, kind)
    series = {KNOBS[kind]: [(pt.label, pt.distinct_2, pt.mean_log_likelihood) for pt in sweep.points]}
    return tradeoff_figure(series, (sweep.greedy.distinct_2, sweep.greedy.mean_log_likelihood),
                           f"{label(name)} sampling, judged by the transformer")


def header() -> None:
    """The lecture's decoding rules, with one name per distribution."""
    st.latex(r"p=\operatorname{softmax}(z),\qquad q_i=\frac{\exp(z_i/T)}{\sum_j \exp(z_j/T)}\ \ (T=1:\ q=p),"
             r"\qquad q_1\ge q_2\ge\dots\ge q_{|V|}")
    st.latex(r"\hat q_i=\frac{q_i\cdot \mathbb{1}\{i\le K\}}{Z},\qquad Z=\sum_{j\le K}q_j,"
             r"\qquad\text{top-}p\text{: }K=\min\Big\{k:\sum_{j\le k}q_j\ge P\Big\}")
    st.write("A language model gives a probability for every possible next token. To write text it must pick one, "
             "append it, and ask again — autoregressive generation. How it picks is the decoding rule: always the top "
             "token (greedy), a random draw from the whole distribution (pure sampling), a draw from only the K most "
             "probable (top-k) or from the smallest set holding mass P (top-p), with the distribution first sharpened "
             "or flattened by a temperature T; or keep several candidate texts at once (beam search).")
    st.caption("z: the model's scores (logits); p: its distribution; q: the distribution after temperature, which "
               "the truncation acts on; q̂: what is sampled from. The lecture's top-k, p̂_i = p_i·1{i ≤ K}/Z with "
               "p₁ ≥ p₂ ≥ …, is the case T = 1. Dividing by T > 0 keeps the order, so q ranks the tokens as p does. "
               "Top-p's threshold is written P so that p stays a probability.")


def prompt_notes(nxt: NextToken, text: str) -> None:
    """What the model reads of the prompt: unknown words, the window, the start token."""
    if nxt.unknown:
        say("Not in the vocabulary, read as &lt;unk&gt;: <b>{words}</b>", words=", ".join(nxt.unknown))
    if nxt.windowed:
        st.info(f"This model reads only the last {nxt.window} tokens of the prompt.")
    say("Prompt: <b>{p}</b> ({n}, counting the start token &lt;eos&gt;)", p=text or "(empty)",
        n="1 token" if nxt.n_ids == 1 else f"{nxt.n_ids} tokens")


def truncation_line(t: Truncation, cfg: SamplingConfig, cut: str) -> None:
    """K and Z as the code computed them, in the header's notation."""
    if cfg.is_greedy:
        st.write("T = 0 is greedy: dividing by T → 0 sends all the probability to the top token.")
        return
    tempered = rf"q=\operatorname{{softmax}}(z/T),\ T={cfg.temperature:g}"
    if cut == "top_k":
        st.latex(rf"K={t.kept},\quad Z=\sum_{{j\le {t.kept}}}q_j={t.z:.4f}\quad({tempered}),\quad"
                 rf"\hat q_i = q_i/{t.z:.4f}\text{{ for }}i\le {t.kept},\ 0\text{{ otherwise}}")
        if t.kept >= t.vocab:
            st.write(f"K ≥ the vocabulary ({t.vocab:,} tokens): nothing is cut, this is pure sampling.")
    elif cut == "top_p":
        st.latex(rf"P={cfg.top_p:g}:\quad K={t.kept}\text{{ tokens reach }}Z=\sum_{{j\le {t.kept}}}q_j={t.z:.4f}"
                 rf"\ge P\quad({tempered}),\quad \hat q_i = q_i/{t.z:.4f}\text{{ for }}i\le {t.kept}")
    else:
        st.latex(rf"\text{{no truncation: all }}{t.vocab:,}\text{{ tokens keep their chance}},\ K=|V|,\ Z=1"
                 rf"\quad({tempered})")
    if cut != "none" and cfg.temperature != 1:
        st.caption(f"Z sums q, the tempered distribution: the model's own p of the same {t.kept:,} tokens sums to "
                   f"{t.z_model:.4f}. The two agree only at T = 1.")


@st.fragment
def live_distribution(name: str, text: str) -> None:
    """Section 1 (a fragment: its sliders rerun only this part)."""
    st.subheader("1. The distribution, live")
    c1, c2, c3 = st.columns(3)
    temperature = c1.slider("Temperature T", 0.0, 2.0, 1.0, 0.05, key="smp_temp",
                            help="T < 1 sharpens the distribution, T > 1 flattens it; T = 0 is greedy.")
    cut = c2.radio("Truncation", ("none", "top_k", "top_p"), index=1, horizontal=True, key="smp_cut",
                   format_func={"none": "none", "top_k": "top-k", "top_p": "top-p"}.get)
    k = p = None
    if cut == "top_k":
        k = c3.slider("K", 1, 200, 10, key="smp_k", help="keep the K most probable tokens")
    elif cut == "top_p":
        p = c3.slider("P", 0.0, 1.0, 0.9, 0.01, key="smp_p", help="keep the smallest set whose mass reaches P")
    cfg = SamplingConfig(temperature=temperature, top_k=k, top_p=p)
    chart(distribution_of(name, text, cfg), key="smp_distribution")
    t = stages_of(name, text, cfg)
    truncation_line(t, cfg, cut)
    say("Tokens that can be drawn: <b>{kept}</b> of {V}. Most likely: <b>{w}</b> with q̂ = {q}.", kept=f"{t.kept:,}",
        V=f"{t.vocab:,}", w=t.words[0], q=f"{t.q_hat[0]:.3f}")


def step_titles(sample: Sample) -> list[str]:
    return [f"{w}: rank {r}, p = {p:.3f}, sampled from q̂ = {q:.3f}"
            for w, r, p, q in zip(sample.words, sample.rank, sample.model_prob, sample.sampled_prob, strict=True)]


def show_sample(prompt: str, sample: Sample) -> None:
    """The prompt in grey, then each generated token coloured by its model probability; outlined if not the top."""
    labels = [w if r == 1 else f"{w} #{r}" for w, r in zip(sample.words, sample.rank, strict=True)]
    words = prompt.split()
    shown = ("… " if len(words) > PROMPT_TAIL else "") + " ".join(words[-PROMPT_TAIL:]) if words else "<eos>"
    st.html(f'<span style="color:#666">{html.escape(shown)}</span>'
            + token_spans(labels, sample.model_prob, titles=step_titles(sample), flagged=sample.rank > 1))


def sample_table(samples: list[Sample]) -> pd.DataFrame:
    return pd.DataFrame([{"sample": i + 1, "step": t + 1, "token": w, "rank": int(s.rank[t]),
                          "p (model)": float(s.model_prob[t]), "q̂ (sampled from)": float(s.sampled_prob[t]),
                          "tokens kept": int(s.kept[t])}
                         for i, s in enumerate(samples) for t, w in enumerate(s.words)])


@st.fragment
def generation(name: str, text: str) -> None:
    """Section 2 (a fragment): step-by-step generation under one decoding rule, several samples side by side."""
    st.subheader("2. Step-by-step generation")
    c1, c2, c3 = st.columns(3)
    mode = c1.selectbox("Decoding", list(MODES), format_func=MODES.get, index=2, key="smp_mode")
    n_tokens = c2.slider("Tokens to generate", 5, 60, 30, key="smp_len")
    seed = int(c3.number_input("Seed", 0, 1_000_000, 0, key="smp_seed",
                               help="The same seed gives every student the same text."))
    d1, d2, d3 = st.columns(3)
    if mode == "beam":
        show_beam(name, text, d1.slider("Beam width B", 1, 8, 3, key="smp_beam"), n_tokens)
        return
    temperature = d1.slider("Temperature", 0.0, 2.0, 1.0, 0.05, key="smp_gen_temp") if mode != "greedy" else 1.0
    k = d2.slider("K", 1, 200, 10, key="smp_gen_k") if mode == "top_k" else None
    p = d2.slider("P", 0.0, 1.0, 0.9, 0.01, key="smp_gen_p") if mode == "top_p" else None
    n_samples = 1 if mode == "greedy" else d3.slider("Samples side by side", 1, 4, 3, key="smp_samples")
    cfg = SamplingConfig(temperature=temperature, top_k=k, top_p=p, greedy=mode == "greedy")
    with st.spinner("Generating…"):
        samples = samples_of(name, text, cfg, seed, n_tokens, n_samples)
    if cfg.is_greedy:
        st.write("Greedy decoding has no randomness: every seed gives this same text." if mode == "greedy" else
                 "Temperature 0 means greedy: every sample is the same.")
    for i, (col, sample) in enumerate(zip(st.columns(n_samples), samples, strict=True)):
        with col:
            st.caption(f"sample {i + 1} (seed {seed + i})")
            show_sample(text, sample)
    st.caption("Colour: the model's probability p of the token (dark = unlikely, yellow = likely). Outlined, with "
               "its rank (#3 = the model's third choice): tokens that were not the most likely. Hover for numbers.")
    chart(generation_of(name, text, cfg, seed, n_tokens, n_samples), key="smp_generation")
    with st.expander("Every step's numbers"):
        table_with_csv(sample_table(samples), f"{name}_samples.csv", key="smp_csv")


def show_beam(name: str, text: str, width: int, n_tokens: int) -> None:
    """Beam search: the best hypothesis, and the hypotheses kept after every step."""
    with st.spinner("Beam search…"):
        beam = beam_of(name, text, width, n_tokens)
    st.latex(r"\text{keep the }B\text{ prefixes with the largest }\log p(y_{1..t})=\sum_{s\le t}\log p(y_s\mid"
             r"\text{prompt},y_{<s})")
    say("Beam {b}: <b>{best}</b> (log p = {lp}); greedy: <b>{g}</b> (log p = {glp}).", b=width,
        best=" ".join(beam.best), lp=f"{beam.log_prob:.2f}", g=" ".join(beam.greedy.words),
        glp=f"{beam.greedy_log_prob:.2f}")
    st.write("Beam search is not sampling: it searches for the most probable text, so it has no seed and gives "
             "one answer. It tends to find safe, repetitive text — the opposite of the diversity sampling buys.")
    chart(generation_figure([beam.token_probs], [[1] * len(beam.best)], [beam.best]),
          key="smp_generation")
    history = [{"step": h.step, "rank": h.rank, "hypothesis": " ".join(h.words), "log p": round(h.log_prob, 3),
                "ended": h.ended} for h in beam.history]
    st.dataframe(pd.DataFrame(history), hide_index=True, width="stretch")


CONFIDENCE = ("under 10%", "10–30%", "30–60%", "over 60%")
CONFIDENCE_EDGES = (0.1, 0.3, 0.6)


@st.fragment
def predict_confidence(name: str, text: str) -> None:
    """Predict how sure the model is of the next word, then reveal it (a class's guesses are collected)."""
    st.subheader("Predict, then reveal: how sure is the model?")
    guess = st.radio("How much probability will the model give its most likely next word?", range(len(CONFIDENCE)),
                     format_func=CONFIDENCE.__getitem__, horizontal=True, key="smp_guess")
    question("smp_confidence", CONFIDENCE, guess, f"{name} {text}")
    if st.toggle("Reveal", key="smp_reveal"):
        p = softmax(next_of(name, text).logits)
        top = int(p.argmax())
        real = int(np.searchsorted(CONFIDENCE_EDGES, p[top]))
        say("The most likely next word is <b>{w}</b> with p = {p}: <b>{bin}</b>. {verdict}", w=vocabulary(name)[top],
            p=f"{p[top]:.3f}", bin=CONFIDENCE[real], verdict="Your guess was right." if real == guess else
            f"Your guess was off by {abs(real - guess)} bin(s).")


@st.fragment
def trade_off(name: str, text: str) -> None:
    """Section 3 (a fragment): quality against diversity across one knob's settings."""
    st.subheader("3. The trade-off, measured")
    kind = st.radio("Sweep", KINDS, format_func=KNOBS.get, horizontal=True, key="smp_knob")
    if not asked(f"Measure the trade-off over {KNOBS[kind]}", "smp_measure", (name, text, kind),
                 "8 settings × 20 samples of 20 tokens after your prompt, each scored by the transformer: about "
                 "1–2 s on a CPU the first time (then kept for everyone on this server), so it waits for you."):
        return
    with st.spinner("Sampling 8 settings × 20 samples and scoring them…"):
        sweep = tradeoff_of(name, text, kind)
    chart(tradeoff_chart(name, text, kind), key="smp_tradeoff")
    st.write("For each setting: 20 samples of 20 tokens after your prompt (seed 0). Up the y-axis: text the "
             "transformer finds likely (fluent, typical). Right on the x-axis: more distinct word pairs across the "
             "samples (varied, less repetitive). Greedy sits top-left: likely but the same every time. Pure sampling "
             "sits bottom-right: varied but often nonsense. The sweet spot is the bend where diversity grows fast "
             "while quality has barely dropped — the lecture's top-40 on GPT-2 aims at it.")
    table = pd.DataFrame([{"setting": pt.label, "mean log p": pt.mean_log_likelihood, "distinct-1": pt.distinct_1,
                           "distinct-2": pt.distinct_2} for pt in [sweep.greedy, *sweep.points]])
    with st.expander("The numbers"):
        table_with_csv(table, f"{name}_tradeoff_{kind}.csv", key="smp_tradeoff_csv")


st.title("Decoding and sampling")
header()
names = available_models()
if not names:
    st.error("No language model could be loaded: see Checkpoints in the sidebar for the rebuild command.")
    st.stop()
model_name = model_select("Model", "smp_model", names, index=len(names) - 1)
prompt = clean_text(st.session_state.get(SENTENCE_KEY, ""))
for note in [EMPTY_PROMPT] if prompt.empty else prompt.notes:
    st.info(note)
prompt_notes(next_of(model_name, prompt.text), prompt.text)
live_distribution(model_name, prompt.text)
generation(model_name, prompt.text)
trade_off(model_name, prompt.text)
predict_confidence(model_name, prompt.text)
try_this(*TRY_THIS)
show_source(read_next_token, truncate, next_token_distribution, samples_step_by_step, beam_search)
