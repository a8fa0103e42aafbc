"""Gradients through time: products of step Jacobians, word gradients, clipping, the mini-training."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.gradients import (
    ClipRunConfig,
    clip_by_norm,
    input_gradient_norms,
    jacobian_products,
    mini_train,
    scaled_products,
    spectral_norms,
)
from models.rnn import RecurrentLM, RNNConfig

from .conftest import V


def _model(cell: str) -> RecurrentLM:
    torch.manual_seed(5)
    return RecurrentLM(RNNConfig(V, cell, 8, 6, dropout=0.0)).eval().requires_grad_(False)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_product_norms_equal_autograd_directly(cell):
    model = _model(cell)
    idx = torch.randint(3, V, (9,))
    jp = jacobian_products(model, idx)
    emb = model.embed(idx[None])[0]
    tr = model.trace(idx[None])
    H = 6
    for k in (0, 3, 7):  # ∂s_8/∂s_k directly, by running the hand-written cell from s_k
        s_k = torch.cat([tr.h[0, k], tr.c[0, k]]) if cell == "lstm" else tr.h[0, k]

        def run_from(s, k=k):
            state = (s[:H][None], s[H:][None]) if cell == "lstm" else s[None]
            for t in range(k + 1, 9):
                state, _ = model.cell_step(emb[t : t + 1], state)
            return torch.cat([state[0], state[1]], -1)[0] if cell == "lstm" else state[0]

        direct = torch.autograd.functional.jacobian(run_from, s_k)
        assert jp.product_norms[8 - k - 1] == pytest.approx(torch.linalg.matrix_norm(direct, 2).item(), rel=1e-4)


def test_spectral_norms_match_svd():
    mats = torch.randn(5, 12, 12, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    mats[2] *= 1e-30  # tiny products must not underflow
    assert torch.allclose(spectral_norms(mats), torch.linalg.matrix_norm(mats, ord=2), rtol=1e-4)


def test_scaled_products_is_the_elman_jacobian_at_scale_one():
    model = _model("rnn")
    idx = torch.randint(3, V, (7,))
    U = model.rnn.weight_hh_l0.double().numpy()
    h = model.trace(idx[None]).h[0].double().numpy()
    assert np.allclose(scaled_products(U, h, 1.0), jacobian_products(model, idx).product_norms, rtol=1e-4)
    assert np.all(scaled_products(U, h, 3.0) > scaled_products(U, h, 1.0))


def test_input_gradients_never_touch_the_model():
    model = _model("gru")
    idx = torch.randint(3, V, (10,))
    norms = input_gradient_norms(model, idx, 7)
    assert norms.shape == (10,) and np.all(norms >= 0) and norms[-1] > 0
    assert all(p.grad is None and not p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("gamma", [0.01, 0.5, 3.0, 100.0])
def test_clipping_never_exceeds_gamma_and_matches_torch(gamma):
    gen = torch.Generator().manual_seed(2)
    grads = [torch.randn(4, 5, generator=gen) * 10, torch.randn(7, generator=gen)]
    clipped, before = clip_by_norm(grads, gamma)
    after = float(torch.sqrt(sum((g**2).sum() for g in clipped)))
    assert after <= gamma * (1 + 1e-6)
    assert before == pytest.approx(float(torch.sqrt(sum((g**2).sum() for g in grads))))
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_norm_(params, gamma)
    for p, c in zip(params, clipped, strict=True):
        assert torch.allclose(p.grad, c, atol=1e-6)


def test_mini_training_is_seeded_fast_and_clipping_helps():
    cfg = ClipRunConfig(steps=200)
    a, b = mini_train(cfg), mini_train(cfg)
    assert np.array_equal(a.losses, b.losses) and np.array_equal(a.grad_norms, b.grad_norms)
    free = mini_train(ClipRunConfig(steps=200, gamma=None))
    assert a.losses[-20:].mean() < free.losses[-20:].mean()
    assert free.grad_norms.max() > 5 * cfg.gamma  # spikes that clipping tames
