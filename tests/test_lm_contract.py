"""The contract every neural LM shares: shapes, initial loss, overfitting, causality, trace == forward."""
from __future__ import annotations

import math

import torch

from .conftest import V


def test_shapes_and_loss(neural):
    _, model = neural
    idx = torch.randint(3, V, (2, 12))
    logits, loss = model(idx)
    assert logits.shape == (2, 12, V)
    assert loss is None
    _, loss = model(idx, idx)
    assert loss.ndim == 0 and torch.isfinite(loss)


def test_initial_loss_is_log_vocab(neural):
    _, model = neural
    idx = torch.randint(3, V, (8, 12))
    _, loss = model(idx, torch.randint(3, V, (8, 12)))
    assert abs(loss.item() - math.log(V)) < 0.35


def test_can_overfit_one_batch(neural):
    _, model = neural
    model.train()
    idx = torch.randint(3, V, (4, 12))
    targets = torch.randint(3, V, (4, 12))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        _, loss = model(idx, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2


def test_causal(neural):
    _, model = neural
    idx = torch.randint(3, V, (1, 12))
    changed = idx.clone()
    t = 6
    changed[0, t + 1] = (idx[0, t + 1] + 1 - 3) % (V - 3) + 3
    a, _ = model(idx)
    b, _ = model(changed)
    assert torch.allclose(a[:, : t + 1], b[:, : t + 1], atol=1e-6)
    assert not torch.allclose(a[:, t + 1 :], b[:, t + 1 :])


def test_trace_matches_forward(neural):
    _, model = neural
    idx = torch.randint(3, V, (2, 12))
    logits, _ = model(idx)
    assert torch.allclose(model.trace(idx).logits, logits, atol=1e-5)


def test_trace_never_mutates(neural):
    _, model = neural
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [p.requires_grad for p in model.parameters()]
    model.trace(torch.randint(3, V, (1, 10)))
    assert not model.training
    assert [p.requires_grad for p in model.parameters()] == grads
    assert all(p.grad is None for p in model.parameters())
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
