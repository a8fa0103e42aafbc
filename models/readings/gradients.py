"""Readings for the vanishing-gradient page: Jacobian products, word gradients, U's spectrum, clipping runs.

BPTT: ∂h_T/∂h_k = ∏_{j=k+1..T} ∂h_j/∂h_{j−1}; for the Elman RNN ∂h_j/∂h_{j−1} = diag(1 − h_j²) U.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..gradients import ClipRun, ClipRunConfig, input_gradient_norms, jacobian_products, mini_train, scaled_products
from ..inputs import model_input
from ..rnn import RecurrentLM
from ..tokenizer import Tokenizer


@dataclass
class Products:
    """One model's Jacobian products over one sentence."""

    tokens: list[str]  # (T,) what was read, the start <eos> first
    step_norms: np.ndarray  # (T,) ‖∂s_j/∂s_{j−1}‖₂
    product_norms: np.ndarray  # (T,) ‖∂s_T/∂s_{T−d}‖₂ for d = 1..T
    h: np.ndarray  # (T, H) float64 hidden states (tanh′ = 1 − h² for the matrix picture)
    cut: bool


def products(model: RecurrentLM, tokenizer: Tokenizer, text: str, max_steps: int) -> Products:
    """Per-step Jacobian norms and running-product norms, measured with autograd on <eos> + the text."""
    inp = model_input(tokenizer, text, max_steps)
    idx = torch.tensor(inp.ids, device=model.device)
    jp = jacobian_products(model, idx)
    h = model.trace(idx[None]).h[0].cpu().double().numpy()  # (T, H)
    return Products([tokenizer.vocab.itos[i] for i in inp.ids], jp.step_norms, jp.product_norms, h, inp.cut)


@dataclass
class WordGradients:
    """How much each context word still matters to one prediction."""

    tokens: list[str]  # (T,) the context as read, the start <eos> first
    answer: str  # the word predicted after the context
    norms: np.ndarray  # (T,) ‖∂(−log p(answer | context))/∂x_t‖₂
    p: float  # p(answer | context)


def last_word_split(tokenizer: Tokenizer, text: str) -> tuple[str, str]:
    """(the text without its last word, the last word): predict a sentence's last word from the rest."""
    words = tokenizer.tokens(text)
    return " ".join(words[:-1]), (words[-1] if words else "")


def word_gradients(model: RecurrentLM, tokenizer: Tokenizer, context: str, answer: str) -> WordGradients:
    """‖∂(−log p(answer | context))/∂x_t‖ for each context word's embedding x_t, and p(answer)."""
    ids = model_input(tokenizer, context).ids
    target = tokenizer.vocab.stoi.get(answer, tokenizer.vocab.unk_id)
    idx = torch.tensor(ids, device=model.device)
    norms = input_gradient_norms(model, idx, target)
    with torch.no_grad():
        p = torch.softmax(model.last_logits(idx[None])[0], -1)[target].item()
    return WordGradients([tokenizer.vocab.itos[i] for i in ids], answer, norms, p)


@dataclass
class RecurrentMatrix:
    """The Elman RNN's U (torch's weight_hh_l0, the lectures' W_hh) and its eigenvalues."""

    U: np.ndarray  # (H, H) float64
    eigenvalues: np.ndarray  # (H,) complex


def recurrent_matrix(model: RecurrentLM) -> RecurrentMatrix:
    """U and its eigenvalues (once per model: the spectrum of sU is s times this one)."""
    U = model.rnn.weight_hh_l0.detach().cpu().double().numpy()
    return RecurrentMatrix(U, np.linalg.eigvals(U))


@dataclass
class MatrixPicture:
    """sU's spectrum and the Jacobian product it gives with the sentence's real tanh′."""

    eigenvalues: np.ndarray  # (H,) of sU
    radius: float  # spectral radius ρ(sU)
    product_norms: np.ndarray  # (T,) ‖∏ diag(1 − h_j²) sU‖₂ for d = 1..T


def matrix_picture(matrix: RecurrentMatrix, h: np.ndarray, scale: float) -> MatrixPicture:
    """Scale U by s: eigenvalues s·λ, ρ(sU) = s·ρ(U), and the product over the states h (T, H)."""
    eigenvalues = matrix.eigenvalues * scale
    return MatrixPicture(eigenvalues, float(np.abs(eigenvalues).max()), scaled_products(matrix.U, h, scale))


def scalar_powers(w: float, steps: int) -> np.ndarray:
    """h_t = w h_{t−1} ⇒ ∂h_t/∂h_0 = w^t, for t = 1..steps. (steps,)"""
    return float(w) ** np.arange(1, steps + 1, dtype=np.float64)


def clipping_runs(gamma: float, lr: float, progress: Callable[[float], None] | None = None) -> dict[str, ClipRun]:
    """The same seeded mini-training without and with clipping at γ (a fresh private RNN each time)."""
    runs = {}
    for i, (name, g) in enumerate((("no clipping", None), (f"clipping at γ = {gamma:g}", gamma))):
        report = None if progress is None else (lambda f, i=i: progress((i + f) / 2))
        runs[name] = mini_train(ClipRunConfig(lr=lr, gamma=g), progress=report)
    return runs
