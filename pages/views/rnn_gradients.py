"""Vanishing & exploding gradients: ∂h_T/∂h_k = ∏ ∂h_j/∂h_{j−1}, measured on the real models; clipping, live."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from models.gradients import (
    ClipRunConfig,
    clip_by_norm,
    input_gradient_norms,
    jacobian_products,
    mini_train,
    scaled_products,
)
from models.registry import label
from models.rnn import RecurrentLM
from pages.components.gradient_charts import clipping_figure, eigenvalue_figure, growing_lines_figure
from pages.components.loaders import figure_cache, get_model
from pages.components.tokens import token_spans
from pages.components.widgets import available_models, say, shared_sentence, show_source, table_with_csv

MAX_STEPS = 30  # Jacobians are S × S per step: the page reads at most this many tokens
# Long-range examples written for our vocabulary, in the spirit of "she finally printed her ___ (tickets)".
LONG_RANGE = {
    "ball": "lily had a big red ball . she played in the park with her friends all day . when the sun went "
            "down she went home , but she could not find her",
    "dog": "tom had a little dog named max . every morning they went to the park and played with a stick . "
           "one day it started to rain , so tom ran home with his",
}


@st.cache_data(max_entries=256, show_spinner="Computing Jacobians with autograd…")
def products(name: str, text: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per-step Jacobian norms and running-product norms for one model and sentence."""
    bundle = get_model(name).bundle
    ids = ([bundle.tokenizer.vocab.eos_id] + bundle.tokenizer.encode(text))[:MAX_STEPS]
    jp = jacobian_products(bundle.model, torch.tensor(ids, device=bundle.model.device))
    return jp.step_norms, jp.product_norms, [bundle.tokenizer.vocab.itos[i] for i in ids]


@st.cache_data(max_entries=256, show_spinner=False)
def word_gradients(name: str, context: str, answer: str) -> tuple[list[str], np.ndarray, float]:
    """‖∂(−log p(answer | context))/∂x_t‖ for each context word, and p(answer)."""
    bundle = get_model(name).bundle
    ids = [bundle.tokenizer.vocab.eos_id] + bundle.tokenizer.encode(context)
    target = bundle.tokenizer.vocab.stoi.get(answer, bundle.tokenizer.vocab.unk_id)
    idx = torch.tensor(ids, device=bundle.model.device)
    norms = input_gradient_norms(bundle.model, idx, target)
    with torch.no_grad():
        p = torch.softmax(bundle.model(idx[None])[0][0, -1], -1)[target].item()
    return [bundle.tokenizer.vocab.itos[i] for i in ids], norms, p


@st.cache_data(max_entries=4, show_spinner=False)
def recurrent_weights(name: str) -> tuple[np.ndarray, np.ndarray]:
    """U (= W_hh) of the Elman RNN and its eigenvalues (computed once per server)."""
    U = get_model(name).bundle.model.rnn.weight_hh_l0.detach().cpu().double().numpy()
    return U, np.linalg.eigvals(U)


@st.cache_data(max_entries=256, show_spinner=False)
def elman_states(text: str) -> np.ndarray:
    """The Elman RNN's h_t over the sentence (for tanh′ in the matrix picture)."""
    bundle = get_model("rnn").bundle
    ids = ([bundle.tokenizer.vocab.eos_id] + bundle.tokenizer.encode(text))[:MAX_STEPS]
    return bundle.model.trace(torch.tensor([ids], device=bundle.model.device)).h[0].cpu().double().numpy()


@st.cache_data(max_entries=64, show_spinner=False)
def clip_runs(gamma: float, lr: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The same seeded mini-training without and with clipping (cached per setting)."""
    bar = st.progress(0.0, text="Training a small RNN twice…")
    runs = {}
    for i, (run_label, g) in enumerate((("no clipping", None), (f"clipping at γ = {gamma:g}", gamma))):
        run = mini_train(ClipRunConfig(lr=lr, gamma=g), progress=lambda f, i=i: bar.progress((i + f) / 2))
        runs[run_label] = (run.losses, run.grad_norms)
    bar.empty()
    return runs


@figure_cache
def product_figures(names: tuple[str, ...], text: str):
    """The animated product curves and the per-step factor norms for every model."""
    results = {name: products(name, text) for name in names}
    distance = np.arange(1, len(next(iter(results.values()))[2]) + 1)
    animated = growing_lines_figure(
        distance, {label(n): r[1] for n, r in results.items()},
        "‖∂s_T/∂s_{T−d}‖₂: how much the last state still depends on the state d steps back",
        "distance d = T − k (steps)", "norm of the product (log)", animate=True,
    )
    steps = growing_lines_figure(distance, {label(n): r[0] for n, r in results.items()},
                                 "each factor ‖∂s_j/∂s_{j−1}‖₂", "step j", "norm (log)")
    return animated, steps


@figure_cache
def matrix_figures(text: str, scale: float):
    """Eigenvalues of sU and the product curve with the sentence's tanh′."""
    U, eig = recurrent_weights("rnn")
    radius = float(np.abs(eig).max()) * scale
    curve = scaled_products(U, elman_states(text), scale)
    return eigenvalue_figure(eig * scale, radius), growing_lines_figure(
        np.arange(1, len(curve) + 1), {f"s = {scale:g}": curve}, "‖∏ diag(1 − h_j²) sU‖₂ over your sentence",
        "distance d", "norm (log)"), radius


@figure_cache
def clipping_figure_for(gamma: float, lr: float):
    """Loss and gradient-norm curves of the two runs at this setting."""
    return clipping_figure(clip_runs(gamma, lr), gamma)


st.title("Vanishing and exploding gradients")
st.latex(r"\frac{\partial h_T}{\partial h_k}=\prod_{j=k+1}^{T}\frac{\partial h_j}{\partial h_{j-1}},\qquad"
         r"\frac{\partial h_j}{\partial h_{j-1}}=\operatorname{diag}\big(1-h_j^2\big)\,U \;\text{(Elman RNN)}")
st.write("Backpropagation through time multiplies one Jacobian per step. If the factors are mostly smaller than 1 "
         "the product vanishes and early words stop getting gradient; if they are larger than 1 it explodes. "
         "Everything below is measured with autograd on our trained models and your sentence (norms are spectral "
         "norms ‖·‖₂, the largest singular value; for the LSTM the state is [h; c]).")

names = available_models(("rnn", "lstm", "gru"))
if not names:
    st.error("The recurrent models could not be loaded: see Checkpoints in the sidebar for the rebuild command.")
    st.stop()
sentence = shared_sentence()
if sentence.empty:
    st.stop()

st.subheader("1. The product, one factor at a time")
results = {name: products(name, sentence.text) for name in names}
tokens = next(iter(results.values()))[2]
if len(tokens) < 2:
    st.info("Type at least one word to multiply Jacobians over.")
else:
    distance = np.arange(1, len(tokens) + 1)
    animated, factors = product_figures(tuple(names), sentence.text)
    st.plotly_chart(animated, key="grad_products", width="stretch")
    st.caption(f"Press ▶ to add one factor at a time (T = {len(tokens)} tokens of your sentence, "
               f"up to {MAX_STEPS}).")
    st.plotly_chart(factors, key="grad_steps", width="stretch")
    table = pd.DataFrame({"distance d": distance})
    for n, r in results.items():
        table[f"‖product‖ {n}"] = r[1]
        table[f"‖factor‖ {n}"] = r[0]
    with st.expander("The numbers behind the curves"):
        table_with_csv(table, "jacobian_products.csv", key="grad_csv")

# Each section below is a fragment: moving its slider reruns only that section, not the Jacobians above.
@st.fragment
def which_words_matter(names: list[str], text: str) -> None:
    """Section 2: gradients of the last prediction with respect to every input word."""
    st.subheader("2. Which words still matter")
    st.write("The gradient of the loss at the last position with respect to each input word's embedding: a word whose "
             "gradient has vanished can no longer teach the model anything about the prediction.")
    choice = st.radio("Example", [*LONG_RANGE, "your sentence"], horizontal=True, key="grad_example",
                      format_func=lambda k: f"… her ___ ({k})" if k in LONG_RANGE else k)
    if choice in LONG_RANGE:
        context, answer = LONG_RANGE[choice], choice
        say("“{context} ___” — the answer is <b>{answer}</b>.", context=context, answer=answer)
    else:
        words = get_model(names[0]).bundle.tokenizer.tokens(text)
        context, answer = " ".join(words[:-1]), (words[-1] if words else "")
        say("Predicting your last word (<b>{answer}</b>) from the words before it.", answer=answer)
    if context and answer:
        for n in names:
            toks, norms, p = word_gradients(n, context, answer)
            say("<small>{model}: p({answer}) = {p}; colour = gradient norm relative to the largest (first word "
                "{first}× the largest)</small>", model=label(n), answer=answer, p=f"{p:.4f}",
                first=f"{norms[1] / norms.max():.2g}")
            st.html(token_spans(toks, norms / max(norms.max(), 1e-12),
                                titles=[f"{t}: {v:.3g}" for t, v in zip(toks, norms, strict=True)]))
    else:
        st.info("Type at least two words to see which of them still matter.")


@st.fragment
def scalar_picture() -> None:
    """Section 3: w^t."""
    st.subheader("3. The scalar picture")
    st.latex(r"h_t = w\,h_{t-1}\;\Rightarrow\;\frac{\partial h_t}{\partial h_0}=w^{t}")
    w = st.slider("w", 0.5, 1.5, 0.9, 0.01, key="grad_w")
    t = np.arange(1, 101)
    st.plotly_chart(growing_lines_figure(t, {f"w = {w:g}": w**t.astype(np.float64)}, f"w^t for w = {w:g}", "t",
                                         "w^t (log)"), key="grad_scalar", width="stretch")
    st.write(f"After 100 steps: w¹⁰⁰ = {w**100:.3g}. Below 1 it vanishes, above 1 it explodes; only w = 1 keeps it.")


@st.fragment
def matrix_picture(text: str) -> None:
    """Section 4: the Elman RNN's U scaled by s."""
    st.subheader("4. The matrix picture")
    scale = st.slider("scale s of the Elman RNN's U", 0.5, 2.0, 1.0, 0.05, key="grad_scale")
    eigen_fig, curve_fig, radius = matrix_figures(text, float(scale))
    left, right = st.columns(2)
    left.plotly_chart(eigen_fig, key="grad_eigen", width="stretch")
    right.plotly_chart(curve_fig, key="grad_matrix", width="stretch")
    st.write(f"Spectral radius of sU: ρ = {radius:.3f}. With ρ < 1 repeated products of U shrink; with ρ > 1 "
             "they can grow — but tanh′ = 1 − h² ≤ 1 shrinks every factor, which is why the trained RNN "
             "vanishes rather than explodes. (The curve keeps your sentence's real h_j and scales only U.)")


@st.fragment
def clipping_live() -> None:
    """Section 5: the mini-training run with and without clipping."""
    st.subheader("5. Clipping, live")
    st.latex(r"g \leftarrow \min\Big(1, \frac{\gamma}{\lVert g\rVert}\Big)\, g")
    st.write("A small Elman RNN (16 units, U started with spectral radius 1.5) learns to recall the first of 20 "
             "random tokens — a long dependency. It is trained twice with plain SGD on a private copy, with and "
             "without clipping; watch the gradient spikes and what they do to the loss.")
    c1, c2 = st.columns(2)
    gamma = c1.select_slider("γ (clip threshold)", [0.1, 0.25, 0.5, 1.0, 2.0, 5.0], value=1.0, key="grad_gamma")
    lr = c2.select_slider("learning rate", [0.05, 0.1, 0.25, 0.5, 1.0], value=0.5, key="grad_lr")
    runs = clip_runs(float(gamma), float(lr))
    st.plotly_chart(clipping_figure_for(float(gamma), float(lr)), key="grad_clipping", width="stretch")
    (loss_a, norm_a), (loss_b, _) = runs.values()
    st.write(f"Final loss (mean of the last 20 steps): {loss_a[-20:].mean():.3f} without clipping, "
             f"{loss_b[-20:].mean():.3f} with clipping; chance is ln 4 = {np.log(4):.3f}. Largest gradient norm "
             f"without clipping: {norm_a.max():.3g}.")


which_words_matter(names, sentence.text)
scalar_picture()
if "rnn" in names:
    matrix_picture(sentence.text)
clipping_live()

with st.expander("Try this: predict, then reveal", expanded=True):
    st.write("1. Before pressing ▶ in section 1: which model's curve will fall fastest? Which stays flattest?\n"
             "2. In section 2, which model still gives *lily*/*tom* (the first words) a visible gradient?\n"
             "3. In section 4, find the scale s where the curve stops falling. Is ρ then above or below 1?\n"
             "4. In section 5, set γ = 5: does clipping still help? Why?")

show_source(RecurrentLM.step_jacobians, jacobian_products, input_gradient_norms, scaled_products, clip_by_norm,
            mini_train)
