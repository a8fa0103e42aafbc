"""Vanishing & exploding gradients: ∂h_T/∂h_k = ∏ ∂h_j/∂h_{j−1}, measured on the real models; clipping, live."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from models.gradients import (
    ClipRun,
    clip_by_norm,
    input_gradient_norms,
    jacobian_products,
    mini_train,
    scaled_products,
)
from models.readings import gradients as readings
from models.registry import label
from models.rnn import RecurrentLM
from pages.components.gradient_charts import clipping_figure, eigenvalue_figure, growing_lines_figure
from pages.components.loaders import figure_cache, get_model, reading_cache, recurrent_reading
from pages.components.on_demand import asked
from pages.components.tokens import token_spans
from pages.components.widgets import (
    available_models,
    chart,
    say,
    shared_sentence,
    show_source,
    table_with_csv,
    try_this,
)

MAX_STEPS = 30  # Jacobians are S × S per step: the page reads at most this many tokens
# Long-range examples written for our vocabulary, in the spirit of "she finally printed her ___ (tickets)".
LONG_RANGE = {
    "ball": "lily had a big red ball . she played in the park with her friends all day . when the sun went "
            "down she went home , but she could not find her",
    "dog": "tom had a little dog named max . every morning they went to the park and played with a stick . "
           "one day it started to rain , so tom ran home with his",
}


TRY_THIS = (  # predict, then reveal
    "Before pressing ▶ in section 1: which model's curve will fall fastest? Which stays flattest?",
    'In section 2, which model still gives *lily*/*tom* (the first words) a visible gradient?',
    'In section 4, find the scale s where the curve stops falling. Is ρ then above or below 1?',
    'In section 5, set γ = 5: does clipping still help? Why?',
)


@reading_cache
def products(name: str, text: str) -> readings.Products:
    """Per-step Jacobian norms and running-product norms for one model and sentence."""
    bundle = get_model(name).bundle
    return readings.products(bundle.model, bundle.tokenizer, text, MAX_STEPS)


@reading_cache
def word_gradients(name: str, context: str, answer: str) -> readings.WordGradients:
    """How much each context word matters to p(answer | context)."""
    bundle = get_model(name).bundle
    return readings.word_gradients(bundle.model, bundle.tokenizer, context, answer)


@reading_cache
def recurrent_matrix() -> readings.RecurrentMatrix:
    """The Elman RNN's U and its eigenvalues (once per server)."""
    return readings.recurrent_matrix(get_model("rnn").bundle.model)


@reading_cache
def clip_runs(gamma: float, lr: float) -> dict[str, ClipRun]:
    """The same seeded mini-training without and with clipping (cached per setting, with a progress bar)."""
    bar = st.progress(0.0, text="Training a small RNN twice…")
    runs = readings.clipping_runs(gamma, lr, progress=lambda f: bar.progress(f))
    bar.empty()
    return runs


@figure_cache
def product_figures(names: tuple[str, ...], text: str):
    """The animated product curves and the per-step factor norms for every model."""
    results = {name: products(name, text) for name in names}
    distance = np.arange(1, len(next(iter(results.values())).tokens) + 1)
    animated = growing_lines_figure(
        distance, {label(n): r.product_norms for n, r in results.items()},
        "‖∂s_T/∂s_{T−d}‖₂: how much the last state still depends on the state d steps back",
        "distance d = T − k (steps)", "norm of the product (log)", animate=True,
    )
    steps = growing_lines_figure(distance, {label(n): r.step_norms for n, r in results.items()},
                                 "each factor ‖∂s_j/∂s_{j−1}‖₂", "step j", "norm (log)")
    return animated, steps


@figure_cache
def matrix_figures(text: str, scale: float):
    """Eigenvalues of sU and the product curve with the sentence's tanh′ (its states from the shared RNN reading,
    so this section needs no Jacobians)."""
    picture = readings.matrix_picture(recurrent_matrix(), recurrent_reading("rnn", text, MAX_STEPS).states, scale)
    distance = np.arange(1, len(picture.product_norms) + 1)
    curve = growing_lines_figure(distance, {f"s = {scale:g}": picture.product_norms},
                                 "‖∏ diag(1 − h_j²) sU‖₂ over your sentence", "distance d", "norm (log)")
    return eigenvalue_figure(picture.eigenvalues, picture.radius), curve, picture.radius


@figure_cache
def scalar_figure(w: float):
    """w^t for t = 1..100 (built once per w for the whole server)."""
    return growing_lines_figure(np.arange(1, 101), {f"w = {w:g}": readings.scalar_powers(w, 100)},
                                f"w^t for w = {w:g}", "t", "w^t (log)")


@figure_cache
def clipping_figure_for(gamma: float, lr: float):
    """Loss and gradient-norm curves of the two runs at this setting."""
    return clipping_figure({k: (r.losses, r.grad_norms) for k, r in clip_runs(gamma, lr).items()}, gamma)


def introduction() -> None:
    """The BPTT product and what the page measures."""
    st.latex(r"\frac{\partial h_T}{\partial h_k}=\prod_{j=k+1}^{T}\frac{\partial h_j}{\partial h_{j-1}},\qquad"
             r"\frac{\partial h_j}{\partial h_{j-1}}=\operatorname{diag}\big(1-h_j^2\big)\,U \;\text{(Elman RNN)}")
    st.write("Backpropagation through time multiplies one Jacobian per step. If the factors are mostly smaller than "
             "1 the product vanishes and early words stop getting gradient; if they are larger than 1 it explodes. "
             "Everything below is measured with autograd on our trained models and your sentence (norms are "
             "spectral norms ‖·‖₂, the largest singular value; for the LSTM the state s is [h; c], for the others "
             "s = h). U is the lecture's W_hh, the recurrent matrix (torch's weight_hh_l0).")


@st.fragment
def product_section(names: list[str], text: str) -> None:
    """Section 1 (a fragment, behind a button): the running product of step Jacobians for every model."""
    st.subheader("1. The product, one factor at a time")
    if not asked("Measure the Jacobians of " + ", ".join(label(n) for n in names), "grad_measure", (tuple(names), text),
                 f"Autograd gives every step's Jacobian ∂s_j/∂s_{{j−1}} (up to {MAX_STEPS} steps; 512 × 512 for the "
                 "LSTM's [h; c]) and the norms of all their running products: about a second on a CPU the first "
                 "time for a sentence (then kept for everyone on this server), so it waits for you."):
        return
    with st.spinner("Computing Jacobians with autograd…"):  # shown only when they are not cached yet
        results = {name: products(name, text) for name in names}
    T = len(next(iter(results.values())).tokens)
    if T < 2:
        st.info("Type at least one word to multiply Jacobians over.")
        return
    animated, factors = product_figures(tuple(names), text)
    chart(animated, key="grad_products")
    st.caption(f"Press ▶ to add one factor at a time (T = {T} tokens of your sentence, up to {MAX_STEPS}).")
    chart(factors, key="grad_steps")
    table = pd.DataFrame({"distance d": np.arange(1, T + 1)})
    for n, r in results.items():
        table[f"‖product‖ {n}"] = r.product_norms
        table[f"‖factor‖ {n}"] = r.step_norms
    with st.expander("The numbers behind the curves"):
        table_with_csv(table, "jacobian_products.csv", key="grad_csv")


# Each section below is a fragment too: moving its slider reruns only that section, not the Jacobians above.
@st.fragment
def which_words_matter(names: list[str], text: str) -> None:
    """Section 2: gradients of the last prediction with respect to every input word."""
    st.subheader("2. Which words still matter")
    st.write("The gradient of the loss at the last position with respect to each input word's embedding x_t: a word "
             "whose gradient has vanished can no longer teach the model anything about the prediction.")
    choice = st.radio("Example", [*LONG_RANGE, "your sentence"], horizontal=True, key="grad_example",
                      format_func=lambda k: f"… her ___ ({k})" if k in LONG_RANGE else k)
    if choice in LONG_RANGE:
        context, answer = LONG_RANGE[choice], choice
        say("“{context} ___” — the answer is <b>{answer}</b>.", context=context, answer=answer)
    else:
        context, answer = readings.last_word_split(get_model(names[0]).bundle.tokenizer, text)
        say("Predicting your last word (<b>{answer}</b>) from the words before it.", answer=answer)
    if not (context and answer):
        st.info("Type at least two words to see which of them still matter.")
        return
    for n in names:
        grads = word_gradients(n, context, answer)
        shade = grads.norms / max(grads.norms.max(), 1e-12)
        say("<small>{model}: p({answer}) = {p}; colour = gradient norm relative to the largest (dark purple = none, "
            "yellow = the largest; the first word gets {first}× the largest)</small>", model=label(n), answer=answer,
            p=f"{grads.p:.4f}", first=f"{shade[1]:.2g}")
        st.html(token_spans(grads.tokens, shade,
                            titles=[f"{t}: {v:.3g}" for t, v in zip(grads.tokens, grads.norms, strict=True)]))


@st.fragment
def scalar_picture() -> None:
    """Section 3: w^t."""
    st.subheader("3. The scalar picture")
    st.latex(r"h_t = w\,h_{t-1}\;\Rightarrow\;\frac{\partial h_t}{\partial h_0}=w^{t}")
    st.write("The lecture's simplification (deck 003): drop tanh, so h_t = W_hh h_{t−1} + W_ih x_t and "
             "∂L_t/∂h_1 = ∂L_t/∂h_t · W_hh^{t−1}; then think of W_hh as one number w.")
    w = st.slider("w", 0.5, 1.5, 0.9, 0.01, key="grad_w")
    powers = readings.scalar_powers(w, 100)
    chart(scalar_figure(float(w)), key="grad_scalar")
    st.write(f"After 100 steps: w¹⁰⁰ = {powers[-1]:.3g}. Below 1 it vanishes, above 1 it explodes; only w = 1 keeps "
             "it.")


@st.fragment
def matrix_picture(text: str) -> None:
    """Section 4: the Elman RNN's U scaled by s."""
    st.subheader("4. The matrix picture")
    st.latex(r"\Big\lVert\prod_{j=T-d+1}^{T}\operatorname{diag}\big(1-h_j^2\big)\,sU\Big\rVert_2,"
             r"\qquad \rho(sU)=s\,\rho(U)")
    scale = st.slider("scale s of the Elman RNN's U", 0.5, 2.0, 1.0, 0.05, key="grad_scale")
    eigen_fig, curve_fig, radius = matrix_figures(text, float(scale))
    left, right = st.columns(2)
    chart(eigen_fig, key="grad_eigen", where=left)
    chart(curve_fig, key="grad_matrix", where=right)
    st.write(f"Spectral radius of sU: ρ = {radius:.3f}. With ρ < 1 the powers (sU)ⁿ shrink; with ρ > 1 they grow. "
             "But tanh′ = 1 − h² ≤ 1 can only shrink each factor, which is why a trained RNN's product tends to "
             "vanish rather than explode. (The curve keeps your sentence's real h_j and scales only U; at s = 1 it "
             "is section 1's Elman RNN curve.)")


@st.fragment
def clipping_live() -> None:
    """Section 5: the mini-training run with and without clipping."""
    st.subheader("5. Clipping, live")
    st.latex(r"\operatorname{clip}(\nabla L)=\min\Big\{1,\frac{\gamma}{\lVert\nabla L\rVert_2}\Big\}\,\nabla L")
    st.write("The gradient of all parameters together is rescaled when its norm passes γ (torch's "
             "clip_grad_norm_). A small Elman RNN (16 units, U started with spectral radius 1.5) learns to recall "
             "the first of 20 random tokens — a long dependency. It is trained twice with plain SGD on a private "
             "copy, with and without clipping; watch the gradient spikes and what they do to the loss.")
    c1, c2 = st.columns(2)
    gamma = c1.select_slider("γ (clip threshold)", [0.1, 0.25, 0.5, 1.0, 2.0, 5.0], value=1.0, key="grad_gamma")
    lr = c2.select_slider("learning rate", [0.05, 0.1, 0.25, 0.5, 1.0], value=0.5, key="grad_lr")
    free, clipped = clip_runs(float(gamma), float(lr)).values()
    chart(clipping_figure_for(float(gamma), float(lr)), key="grad_clipping")
    st.write(f"Final loss (mean of the last 20 steps): {free.final_loss:.3f} without clipping, "
             f"{clipped.final_loss:.3f} with clipping; chance is ln 4 = {np.log(4):.3f}. Largest gradient norm "
             f"without clipping: {free.grad_norms.max():.3g}.")


st.title("Vanishing and exploding gradients")
introduction()
names = available_models(("rnn", "lstm", "gru"))
if not names:
    st.error("The recurrent models could not be loaded: see Checkpoints in the sidebar for the rebuild command.")
    st.stop()
sentence = shared_sentence()
if sentence.empty:
    st.stop()
product_section(names, sentence.text)
which_words_matter(names, sentence.text)
scalar_picture()
if "rnn" in names:
    matrix_picture(sentence.text)
clipping_live()
try_this(*TRY_THIS)
show_source(RecurrentLM.step_jacobians, jacobian_products, input_gradient_norms, readings.matrix_picture,
            scaled_products, clip_by_norm, mini_train)
