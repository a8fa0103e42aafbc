"""Decoding and sampling: greedy, temperature, top-k (p̂_i = p_i·1{i ≤ K}/Z), top-p and beam search, live."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import streamlit as st
import torch

from models.registry import label
from models.sampling import (
    BeamResult,
    SamplingConfig,
    Step,
    beam_search,
    next_logits,
    next_token_distribution,
    step_by_step,
)
from models.tradeoff import KINDS, TradeoffPoint, default_settings, sweep
from pages.components.loaders import figure_cache, get_model
from pages.components.sampling_charts import distribution_figure, generation_figure, tradeoff_figure
from pages.components.text import clean_text
from pages.components.tokens import token_spans
from pages.components.widgets import (
    SENTENCE_KEY,
    available_models,
    model_select,
    say,
    show_source,
    table_with_csv,
)

SHOWN = 30  # bars in the distribution figure
PROMPT_TAIL = 12  # words of the prompt shown before each sample (the whole prompt is shown once above)
SCORER = "transformer"  # the best model judges the samples' quality
MODES = {"greedy": "greedy (always the top token)", "sampling": "pure sampling", "top_k": "top-k sampling",
         "top_p": "top-p (nucleus) sampling", "beam": "beam search"}
KNOBS = {"top_k": "k (top-k)", "top_p": "p (top-p)", "temperature": "temperature T"}


def vocabulary(name: str) -> list[str]:
    """The model's tokens by id."""
    return get_model(name).bundle.tokenizer.vocab.itos


def prompt_ids(name: str, text: str) -> list[int]:
    """<eos> + the prompt's ids: a story starts after an end, so an empty prompt starts from <eos> alone."""
    tokenizer = get_model(name).bundle.tokenizer
    return [tokenizer.vocab.eos_id] + tokenizer.encode(text)


@st.cache_data(max_entries=512, show_spinner=False)
def next_distribution(name: str, text: str) -> np.ndarray:
    """The model's next-token logits after the prompt (cached per model and prompt): (V,)."""
    model = get_model(name).bundle.model
    return next_logits(model, torch.tensor([prompt_ids(name, text)])).numpy()[0]


@st.cache_data(max_entries=512, show_spinner="Generating…")
def samples_of(name: str, text: str, cfg: SamplingConfig, seed: int, n_tokens: int, n_samples: int) -> list[list[Step]]:
    """Sample i is drawn with its own generator seeded ``seed + i``: the same seed gives everyone the same text."""
    model = get_model(name).bundle.model
    ids = prompt_ids(name, text)
    return [step_by_step(model, ids, n_tokens, cfg, torch.Generator().manual_seed(seed + i))
            for i in range(n_samples)]


@st.cache_data(max_entries=256, show_spinner="Beam search…")
def beam_of(name: str, text: str, width: int, n_tokens: int) -> BeamResult:
    return beam_search(get_model(name).bundle.model, prompt_ids(name, text), n_tokens, width)


@st.cache_data(max_entries=256, show_spinner="Sampling 8 settings × 20 samples and scoring them (about 2 s)…")
def tradeoff_of(name: str, text: str, kind: str) -> tuple[list[TradeoffPoint], TradeoffPoint]:
    """The sweep over one knob, and greedy decoding as the reference point (20 samples of 20 tokens each)."""
    sampler, scorer = get_model(name).bundle.model, get_model(SCORER).bundle.model
    ids = prompt_ids(name, text)
    points = sweep(sampler, scorer, ids, default_settings(kind))
    greedy = sweep(sampler, scorer, ids, [SamplingConfig(greedy=True)])[0]
    return points, greedy


@figure_cache
def distribution_of(name: str, text: str, cfg: SamplingConfig):
    """The top tokens' probabilities: the model's, after temperature, after truncation; with K and Z."""
    logits = torch.from_numpy(next_distribution(name, text))
    itos = vocabulary(name)
    p = torch.softmax(logits.float(), -1)
    tempered = next_token_distribution(logits, SamplingConfig(temperature=cfg.temperature))
    final = next_token_distribution(logits, cfg)
    top = torch.topk(p, SHOWN).indices
    words = [itos[i] for i in top.tolist()]
    kept = final > 0
    stages = [("1. the model's distribution p", p[top].numpy()),
              (f"2. after temperature T = {cfg.temperature:g}", tempered[top].numpy()),
              (f"3. after truncation and renormalisation: {cfg.label}", final[top].numpy())]
    z = float(tempered[kept].sum())
    return distribution_figure(words, stages, kept[top].numpy()), int(kept.sum()), z, words, final[top].numpy()


def step_titles(steps: list[Step], itos: list[str]) -> list[str]:
    return [f"{itos[s.token]}: rank {s.rank}, p = {s.model_prob:.3f}, sampled from p̂ = {s.sampled_prob:.3f}"
            for s in steps]


def show_sample(prompt: str, steps: list[Step], itos: list[str]) -> None:
    """The prompt in grey, then each generated token coloured by its model probability; outlined if not the top."""
    labels = [itos[s.token] if s.rank == 1 else f"{itos[s.token]} #{s.rank}" for s in steps]
    words = prompt.split()
    shown = ("… " if len(words) > PROMPT_TAIL else "") + " ".join(words[-PROMPT_TAIL:]) if words else "<eos>"
    st.html(f'<span style="color:#666">{html.escape(shown)}</span>'
            + token_spans(labels, [s.model_prob for s in steps], titles=step_titles(steps, itos),
                          flagged=[s.rank > 1 for s in steps]))


st.title("Decoding and sampling")
st.latex(r"\hat p_i=\frac{p_i\cdot \mathbb{1}\{i\le K\}}{Z},\qquad Z=\sum_{j\le K}p_j,"
         r"\qquad p_i \propto \exp(z_i/T)")
st.write("A language model gives a probability for every possible next token. To write text it must pick one, "
         "append it, and ask again — autoregressive generation. How it picks is the decoding rule: always the top "
         "token (greedy), a random draw from the whole distribution (pure sampling), a draw from only the K most "
         "probable (top-k) or from the smallest set holding mass p (top-p), with the distribution first sharpened "
         "or flattened by a temperature T; or keep several candidate texts at once (beam search).")

names = available_models()
if not names:
    st.error("No language model could be loaded: see Checkpoints in the sidebar for the rebuild command.")
    st.stop()
name = model_select("Model", "smp_model", names, index=len(names) - 1)
model = get_model(name).bundle.model
prompt = clean_text(st.session_state.get(SENTENCE_KEY, ""))
if prompt.empty:
    st.info("The prompt (the sidebar sentence) is empty: generation starts from <eos>, the start of a new story.")
else:
    for note in prompt.notes:
        st.info(note)
ids = prompt_ids(name, prompt.text)
tokenizer = get_model(name).bundle.tokenizer
unknown = [w for w, i in zip(tokenizer.tokens(prompt.text), ids[1:], strict=True) if i == tokenizer.vocab.unk_id]
if unknown:
    say("Not in the vocabulary, read as &lt;unk&gt;: <b>{words}</b>", words=", ".join(dict.fromkeys(unknown)))
if model.input_window and len(ids) > model.input_window:
    st.info(f"This model reads only the last {model.input_window} tokens of the prompt.")
say("Prompt: <b>{p}</b> ({n} tokens, counting the start token)", p=prompt.text or "(empty)", n=len(ids))


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
        p = c3.slider("p", 0.0, 1.0, 0.9, 0.01, key="smp_p", help="keep the smallest set whose mass reaches p")
    cfg = SamplingConfig(temperature=temperature, top_k=k, top_p=p)
    fig, kept, z, words, final = distribution_of(name, text, cfg)
    st.plotly_chart(fig, key="smp_distribution", width="stretch")
    V = len(vocabulary(name))
    if cfg.is_greedy:
        st.write("T = 0 is greedy: dividing by T → 0 sends all the probability to the top token.")
    elif cut == "top_k":
        st.latex(rf"K={min(k, V)},\quad Z=\sum_{{j\le {min(k, V)}}}p_j={z:.4f},\quad \hat p_i = p_i/{z:.4f}"
                 rf"\text{{ for }}i\le {min(k, V)},\ 0\text{{ otherwise}}")
        if k >= V:
            st.write(f"K ≥ the vocabulary ({V:,} tokens): nothing is cut, this is pure sampling.")
    elif cut == "top_p":
        st.latex(rf"p={p:g}:\quad K={kept}\text{{ tokens reach mass }}Z={z:.4f}\ge {p:g},"
                 rf"\quad \hat p_i = p_i/{z:.4f}\text{{ for the top }}{kept}")
    else:
        st.latex(rf"\text{{no truncation: all }}{V:,}\text{{ tokens keep their chance}},\ Z=1")
    say("Tokens that can be drawn: <b>{kept}</b> of {V}. Most likely: <b>{w}</b> with p̂ = {p}.", kept=f"{kept:,}",
        V=f"{V:,}", w=words[0], p=f"{final[0]:.3f}")


@st.fragment
def generation(name: str, text: str) -> None:
    """Section 2 (a fragment): step-by-step generation under one decoding rule, several samples side by side."""
    st.subheader("2. Step-by-step generation")
    c1, c2, c3 = st.columns(3)
    mode = c1.selectbox("Decoding", list(MODES), format_func=MODES.get, index=2, key="smp_mode")
    n_tokens = c2.slider("Tokens to generate", 5, 60, 30, key="smp_len")
    seed = c3.number_input("Seed", 0, 1_000_000, 0, key="smp_seed",
                           help="The same seed gives every student the same text.")
    d1, d2, d3 = st.columns(3)
    if mode == "beam":
        width = d1.slider("Beam width B", 1, 8, 3, key="smp_beam")
        show_beam(name, text, width, n_tokens)
        return
    temperature = d1.slider("Temperature", 0.0, 2.0, 1.0, 0.05, key="smp_gen_temp") if mode != "greedy" else 1.0
    k = d2.slider("K", 1, 200, 10, key="smp_gen_k") if mode == "top_k" else None
    p = d2.slider("p", 0.0, 1.0, 0.9, 0.01, key="smp_gen_p") if mode == "top_p" else None
    n_samples = 1 if mode == "greedy" else d3.slider("Samples side by side", 1, 4, 3, key="smp_samples")
    cfg = SamplingConfig(temperature=temperature, top_k=k, top_p=p, greedy=mode == "greedy")
    samples = samples_of(name, text, cfg, int(seed), n_tokens, n_samples)
    itos = vocabulary(name)
    if cfg.is_greedy:
        st.write("Greedy decoding has no randomness: every seed gives this same text." if mode == "greedy" else
                 "Temperature 0 means greedy: every sample is the same.")
    cols = st.columns(n_samples)
    for i, (col, steps) in enumerate(zip(cols, samples, strict=True)):
        with col:
            st.caption(f"sample {i + 1} (seed {int(seed) + i})")
            show_sample(text, steps, itos)
    st.caption("Colour: the model's probability of the token (dark = unlikely, yellow = likely). Outlined, with "
               "its rank (#3 = the model's third choice): tokens that were not the most likely. Hover for numbers.")
    st.plotly_chart(generation_figure([[s.model_prob for s in steps] for steps in samples],
                                      [[s.rank for s in steps] for steps in samples],
                                      [[itos[s.token] for s in steps] for steps in samples]),
                    key="smp_generation", width="stretch")
    rows = [{"sample": i + 1, "step": t + 1, "token": itos[s.token], "rank": s.rank, "p (model)": s.model_prob,
             "p̂ (sampled from)": s.sampled_prob, "tokens kept": s.kept}
            for i, steps in enumerate(samples) for t, s in enumerate(steps)]
    with st.expander("Every step's numbers"):
        table_with_csv(pd.DataFrame(rows), f"{name}_samples.csv", key="smp_csv")


def show_beam(name: str, text: str, width: int, n_tokens: int) -> None:
    """Beam search: the best hypothesis, and the hypotheses kept after every step."""
    result = beam_of(name, text, width, n_tokens)
    itos = vocabulary(name)
    greedy = samples_of(name, text, SamplingConfig(greedy=True), 0, n_tokens, 1)[0]
    best = " ".join(itos[i] for i in result.best.tokens)
    say("Beam {b}: <b>{best}</b> (log p = {lp}); greedy: <b>{g}</b> (log p = {glp}).", b=width, best=best,
        lp=f"{result.best.log_prob:.2f}", g=" ".join(itos[s.token] for s in greedy),
        glp=f"{sum(np.log(s.model_prob) for s in greedy):.2f}")
    st.write("Beam search is not sampling: it searches for the most probable text, so it has no seed and gives "
             "one answer. It tends to find safe, repetitive text — the opposite of the diversity sampling buys.")
    st.plotly_chart(generation_figure([beam_probs(result)], [[1] * len(result.best.tokens)],
                                      [[itos[i] for i in result.best.tokens]]), key="smp_generation", width="stretch")
    history = [{"step": i + 1, "rank": r + 1, "hypothesis": " ".join(itos[t] for t in h.tokens),
                "log p": round(h.log_prob, 3), "ended": h.finished}
               for i, kept in enumerate(result.steps) for r, h in enumerate(kept)]
    st.dataframe(pd.DataFrame(history), hide_index=True, width="stretch")


def beam_probs(result: BeamResult) -> list[float]:
    """p of each token of the best hypothesis, from the running log-probs of its prefixes in the beam history."""
    best = result.best.tokens
    by_prefix = {h.tokens: h.log_prob for kept in result.steps for h in kept}
    logs = [by_prefix[best[: t + 1]] for t in range(len(best))]
    return list(np.exp(np.diff([0.0] + logs)))


@st.fragment
def trade_off(name: str, text: str) -> None:
    """Section 3 (a fragment): quality against diversity across one knob's settings."""
    st.subheader("3. The trade-off, measured")
    kind = st.radio("Sweep", KINDS, format_func=KNOBS.get, horizontal=True, key="smp_knob")
    points, greedy = tradeoff_of(name, text, kind)
    series = {KNOBS[kind]: [(pt.label, pt.distinct_2, pt.mean_log_likelihood) for pt in points]}
    st.plotly_chart(tradeoff_figure(series, (greedy.distinct_2, greedy.mean_log_likelihood),
                                    f"{label(name)} sampling, judged by the transformer"),
                    key="smp_tradeoff", width="stretch")
    st.write("For each setting: 20 samples of 20 tokens after your prompt (seed 0). Up the y-axis: text the "
             "transformer finds likely (fluent, typical). Right on the x-axis: more distinct word pairs across the "
             "samples (varied, less repetitive). Greedy sits top-left: likely but the same every time. Pure sampling "
             "sits bottom-right: varied but often nonsense. The sweet spot is the bend where diversity grows fast "
             "while quality has barely dropped — the lecture's top-40 on GPT-2 aims at it.")
    table = pd.DataFrame([{"setting": pt.label, "mean log p": pt.mean_log_likelihood, "distinct-1": pt.distinct_1,
                           "distinct-2": pt.distinct_2} for pt in [greedy, *points]])
    with st.expander("The numbers"):
        table_with_csv(table, f"{name}_tradeoff_{kind}.csv", key="smp_tradeoff_csv")


live_distribution(name, prompt.text)
generation(name, prompt.text)
trade_off(name, prompt.text)

with st.expander("Try this: predict, then reveal", expanded=True):
    st.write("1. Set T = 0.3, then T = 1.5: before you move the slider, guess whether the top bar gets taller or "
             "shorter. Then check how many tokens a top-p of 0.9 keeps at each.\n"
             "2. Generate with top-k and K = 1: what must it equal? Switch the decoding to greedy and compare.\n"
             "3. In the trade-off chart, which k would you pick? Is it near the lecture's K = 40?")

show_source(next_token_distribution, step_by_step, beam_search)
