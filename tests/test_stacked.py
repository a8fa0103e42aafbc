"""The stacked (2-layer) LSTM: the hand-written trace against torch's nn.LSTM(num_layers=2), layer by layer."""
from __future__ import annotations

import torch
from torch import nn

from models.rnn import RecurrentLM, RNNConfig

from .conftest import V


def tiny_stack() -> RecurrentLM:
    torch.manual_seed(5)
    return RecurrentLM(RNNConfig(V, "lstm", 8, 16, dropout=0.0, n_layer=2)).eval()


def test_traced_stack_equals_torch_two_layer_lstm():
    model = tiny_stack()
    idx = torch.randint(3, V, (3, 11))
    reference = nn.LSTM(8, 16, num_layers=2, batch_first=True)
    reference.load_state_dict(model.rnn.state_dict())  # the same weights, in a fresh torch module
    with torch.no_grad():
        out, (h_n, c_n) = reference(model.embed(idx))  # (B, T, H), (L, B, H)
    tr = model.trace(idx)
    assert tr.layers.shape == (3, 2, 11, 16) and tr.cells.shape == (3, 2, 11, 16)
    assert torch.allclose(tr.h, out, atol=1e-5) and torch.allclose(tr.layers[:, 1], out, atol=1e-5)
    for layer in range(2):
        assert torch.allclose(tr.layers[:, layer, -1], h_n[layer], atol=1e-5)
        assert torch.allclose(tr.cells[:, layer, -1], c_n[layer], atol=1e-5)
    assert torch.allclose(tr.logits, model(idx)[0], atol=1e-5)


def test_layer_two_reads_layer_one():
    """Layer 2's input is layer 1's output: replaying layer 2 on the traced layer-1 states gives layer 2's states."""
    model = tiny_stack()
    idx = torch.randint(3, V, (2, 9))
    tr = model.trace(idx)
    bottom = nn.LSTM(8, 16, batch_first=True)
    bottom.load_state_dict({k: v for k, v in model.rnn.state_dict().items() if k.endswith("_l0")})
    with torch.no_grad():
        first, _ = bottom(model.embed(idx))
    assert torch.allclose(tr.layers[:, 0], first, atol=1e-5)  # layer 1 reads the embeddings
    h2, c2, gates = model.trace_layer(tr.layers[:, 0], 1)
    assert torch.allclose(h2, tr.layers[:, 1], atol=1e-6) and torch.allclose(c2, tr.cells[:, 1], atol=1e-6)
    assert set(gates) == {"i", "f", "g", "o"}
    shuffled, _, _ = model.trace_layer(tr.layers[:, 0].flip(1), 1)
    assert not torch.allclose(shuffled, tr.layers[:, 1], atol=1e-3)  # another input gives other states


def test_stack_decodes_incrementally():
    model = tiny_stack()
    idx = torch.randint(3, V, (2, 8))
    full, _ = model(idx)
    logits, cache = model.begin(idx[:, :5])
    assert torch.allclose(logits, full[:, 4], atol=1e-5)
    for t in range(5, 8):
        logits, cache = model.extend(cache, idx[:, t])
        assert torch.allclose(logits, full[:, t], atol=1e-5)
    assert cache[0].shape == (2, 2, 16)  # (L, B, H)
    swapped = model.reorder(cache, torch.tensor([1, 0]))
    assert torch.equal(swapped[0][:, 0], cache[0][:, 1])
