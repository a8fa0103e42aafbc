"""Hand-written Elman, LSTM and GRU cells against torch's modules; per-step Jacobians."""
from __future__ import annotations

import pytest
import torch

from models.rnn import RecurrentLM, RNNConfig

from .conftest import V


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_hand_cells_match_torch(cell):
    torch.manual_seed(1)
    model = RecurrentLM(RNNConfig(V, cell, 8, 16, dropout=0.0)).eval()
    idx = torch.randint(3, V, (3, 20))
    with torch.no_grad():
        out, state = model.rnn(model.embed(idx))  # torch's fused module, (B, T, H)
    tr = model.trace(idx)
    assert torch.allclose(tr.h, out, atol=1e-5)
    if cell == "lstm":
        assert torch.allclose(tr.c[:, -1], state[1][0], atol=1e-5)
        assert set(tr.gates) == {"i", "f", "g", "o"}
    if cell == "gru":
        assert set(tr.gates) == {"r", "z", "n"}
    for g in tr.gates.values():
        assert g.shape == (3, 20, 16)


def test_lstm_cell_equation():
    """c_t = f ⊙ c_{t−1} + i ⊙ g and h_t = o ⊙ tanh(c_t), read back from the trace."""
    torch.manual_seed(2)
    model = RecurrentLM(RNNConfig(V, "lstm", 8, 16, dropout=0.0)).eval()
    tr = model.trace(torch.randint(3, V, (1, 9)))
    g = tr.gates
    c_prev = torch.cat([torch.zeros_like(tr.c[:, :1]), tr.c[:, :-1]], 1)
    assert torch.allclose(tr.c, g["f"] * c_prev + g["i"] * g["g"], atol=1e-6)
    assert torch.allclose(tr.h, g["o"] * torch.tanh(tr.c), atol=1e-6)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_step_jacobians_match_autograd(cell):
    torch.manual_seed(3)
    model = RecurrentLM(RNNConfig(V, cell, 8, 6, dropout=0.0)).eval()
    idx = torch.randint(3, V, (1, 7))
    jac = model.step_jacobians(idx)
    S = 12 if cell == "lstm" else 6
    assert jac.shape == (7, S, S)
    # The product of per-step Jacobians equals autograd's ∂s_T/∂s_k computed directly.
    emb = model.embed(idx)[0].detach()
    k = 2

    def run_from(s_k: torch.Tensor) -> torch.Tensor:
        s = (s_k[:6].unsqueeze(0), s_k[6:].unsqueeze(0)) if cell == "lstm" else s_k.unsqueeze(0)
        for t in range(k + 1, 7):
            s, _ = model.cell_step(emb[t : t + 1], s)
        return torch.cat([s[0], s[1]], -1)[0] if cell == "lstm" else s[0]

    tr = model.trace(idx)
    s_k = torch.cat([tr.h[0, k], tr.c[0, k]]) if cell == "lstm" else tr.h[0, k]
    direct = torch.autograd.functional.jacobian(run_from, s_k)
    product = torch.eye(S)
    for t in range(k + 1, 7):
        product = jac[t] @ product
    assert torch.allclose(product, direct, atol=1e-5)
    assert all(p.grad is None for p in model.parameters())


def test_state_carry_equals_one_pass():
    torch.manual_seed(4)
    model = RecurrentLM(RNNConfig(V, "gru", 8, 16, dropout=0.0)).eval()
    idx = torch.randint(3, V, (1, 20))
    with torch.no_grad():
        whole, _ = model.run(idx)
        a, state = model.run(idx[:, :8])
        b, _ = model.run(idx[:, 8:], state)
    assert torch.allclose(whole, torch.cat([a, b], 1), atol=1e-5)
