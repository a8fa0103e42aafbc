"""Vanishing and exploding gradients through time, measured on the real recurrent models.

BPTT: ∂h_T/∂h_k = ∏_{j=k+1..T} ∂h_j/∂h_{j−1}. For the Elman RNN each factor is diag(1 − h_j²) U,
so its size is governed by U's spectral radius and by tanh′ ≤ 1. Clipping rescales a gradient
g to min(1, γ/‖g‖)·g (Pascanu et al. 2013).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .rnn import RecurrentLM


@dataclass
class JacobianProducts:
    """Per-step factor norms and the norms of the running product, for one sentence."""

    step_norms: np.ndarray  # (T,) ‖∂s_j/∂s_{j−1}‖₂ (spectral norm), j = 1..T
    product_norms: np.ndarray  # (T,) ‖∂s_T/∂s_{T−d}‖₂ for distance d = 1..T


def spectral_norms(mats: torch.Tensor) -> torch.Tensor:
    """Largest singular value of each matrix in (N, S, S) (float64 out): σ_max(A) = √λ_max(A Aᵀ).

    Each matrix is divided by its Frobenius norm first, so products of many small factors neither
    underflow nor lose precision in float32; the scale is multiplied back at the end. The symmetric
    eigenproblem of the Gram matrix costs about half an SVD, and its top eigenvalue keeps float32's
    relative precision (tested against ``matrix_norm(ord=2)`` to 1e-4).
    """
    scale = torch.linalg.matrix_norm(mats).clamp_min(torch.finfo(mats.dtype).tiny)  # (N,) ‖A‖_F ≥ σ_max
    unit = (mats / scale[:, None, None]).float()  # in the input's precision first: float64 products cannot underflow
    gram = unit @ unit.transpose(-2, -1)  # (N, S, S), symmetric positive semi-definite
    return (torch.linalg.eigvalsh(gram)[:, -1].clamp_min(0).double().sqrt() * scale.double()).cpu()


def running_products(factors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """F_T, F_T F_{T−1}, …, F_T ⋯ F_1 for factors (T, S, S): each product at unit Frobenius norm in float32,
    with its log-scale in float64 ((T, S, S), (T,)), so long products neither underflow nor need float64."""
    T, S = factors.size(0), factors.size(1)
    product = torch.eye(S, dtype=torch.float32, device=factors.device)
    products, logs, log = [], [], 0.0
    for d in range(1, T + 1):  # multiply in one more factor from the end: F_T ⋯ F_{T−d+1}
        product = product @ factors[T - d].float()
        norm = float(torch.linalg.matrix_norm(product))
        if norm == 0.0:  # an exactly zero factor: every longer product is zero too
            products += [torch.zeros(S, S, device=factors.device)] * (T - d + 1)
            logs += [-math.inf] * (T - d + 1)
            break
        product = product / norm
        log += math.log(norm)
        products.append(product)
        logs.append(log)
    return torch.stack(products), torch.tensor(logs, dtype=torch.float64)


def product_norms(factors: torch.Tensor) -> np.ndarray:
    """‖F_T ⋯ F_{T−d+1}‖₂ for d = 1..T. (T,)"""
    products, logs = running_products(factors)
    return (spectral_norms(products) * torch.exp(logs)).cpu().numpy()


def jacobian_products(model: RecurrentLM, idx: torch.Tensor) -> JacobianProducts:
    """Spectral norms of every step's Jacobian and of ∂s_T/∂s_k = J_T ⋯ J_{k+1}, from autograd."""
    jac = model.step_jacobians(idx)  # (T, S, S) on the model's device; J_t = ∂s_t/∂s_{t−1}
    return JacobianProducts(spectral_norms(jac).cpu().numpy(), product_norms(jac))


def scaled_products(U: np.ndarray, states: np.ndarray, scale: float) -> np.ndarray:
    """‖∏_{j} diag(1 − h_j²) (s U)‖₂ for growing distance, using the sentence's real h_j. (T,)"""
    deriv = torch.from_numpy(1.0 - np.asarray(states, dtype=np.float64) ** 2)  # (T, H): tanh′ at each step
    factors = deriv[:, :, None] * (scale * torch.from_numpy(np.asarray(U, dtype=np.float64)))  # (T, H, H)
    return product_norms(factors)


def input_gradient_norms(model: RecurrentLM, idx: torch.Tensor, target: int) -> np.ndarray:
    """‖∂ loss / ∂ x_t‖ for every input word's embedding, loss = −log p(target | whole input). (T,)

    Gradients are taken with ``torch.autograd.grad`` on the embeddings, so the shared model is
    never changed (no ``.backward()``, no parameter gradients).
    """
    with torch.no_grad():
        emb = model.embed(idx.reshape(1, -1))  # (1, T, E)
    emb = emb.detach().requires_grad_(True)
    out, _ = model.rnn(emb)
    loss = F.cross_entropy(model.head(out[:, -1]), torch.tensor([target], device=idx.device))
    (grad,) = torch.autograd.grad(loss, emb)
    return grad[0].norm(dim=-1).cpu().numpy()


def clip_by_norm(grads: list[torch.Tensor], gamma: float) -> tuple[list[torch.Tensor], float]:
    """g ← min(1, γ/‖g‖) · g over all parameters together; returns the clipped grads and ‖g‖ before."""
    norm = float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)))
    factor = min(1.0, gamma / norm) if norm > 0 else 1.0
    return [g * factor for g in grads], norm


@dataclass(frozen=True)
class ClipRunConfig:
    """A small Elman RNN learning to recall the first token of a long sequence."""

    steps: int = 200
    lr: float = 0.5
    gamma: float | None = 1.0  # None: no clipping
    length: int = 20
    hidden: int = 16
    vocab: int = 4
    batch: int = 16
    radius: float = 1.5  # U starts orthogonal × radius: beyond 1, products of factors can explode
    seed: int = 0


@dataclass
class ClipRun:
    """Loss and gradient norm (before clipping) at every step."""

    losses: np.ndarray  # (steps,)
    grad_norms: np.ndarray  # (steps,) ‖g‖₂ before clipping

    @property
    def final_loss(self) -> float:
        """Mean loss of the last 20 steps (one batch's loss is noisy)."""
        return float(self.losses[-20:].mean())


def long_dependency_batch(cfg: ClipRunConfig, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random token sequences; the target is the first token, to be recalled after ``length`` steps."""
    x = torch.randint(cfg.vocab, (cfg.batch, cfg.length), generator=gen)
    return x, x[:, 0]


class _RecallRNN(nn.Module):
    def __init__(self, cfg: ClipRunConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(cfg.vocab, cfg.hidden)
        self.rnn = nn.RNN(cfg.hidden, cfg.hidden, batch_first=True)
        self.head = nn.Linear(cfg.hidden, cfg.vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.embed(x))
        return self.head(out[:, -1])


def mini_train(cfg: ClipRunConfig, progress: Callable[[float], None] | None = None) -> ClipRun:
    """Plain SGD on a private model (never a shared one), with or without clipping; seeded."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = _RecallRNN(cfg)
    with torch.no_grad():
        nn.init.orthogonal_(model.rnn.weight_hh_l0)
        model.rnn.weight_hh_l0.mul_(cfg.radius)
        model.embed.weight.normal_(0.0, 0.5)
    params = list(model.parameters())
    losses, norms = [], []
    for step in range(cfg.steps):
        x, y = long_dependency_batch(cfg, gen)
        loss = F.cross_entropy(model(x), y)
        # γ = ∞ leaves g as it is but still measures ‖g‖.
        grads, norm = clip_by_norm(list(torch.autograd.grad(loss, params)), cfg.gamma or math.inf)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p.sub_(cfg.lr * g)
        losses.append(loss.item())
        norms.append(norm)
        if progress is not None:
            progress((step + 1) / cfg.steps)
    return ClipRun(np.array(losses), np.array(norms))
