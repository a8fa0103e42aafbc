"""Transformer internals: attention rows, causal mask, residual stream, positions."""
from __future__ import annotations

import pytest
import torch

from models.transformer import TransformerConfig, TransformerLM, sinusoidal_positions

from .conftest import V


def _model(**kw) -> TransformerLM:
    torch.manual_seed(0)
    return TransformerLM(TransformerConfig(V, block_size=16, n_layer=2, n_head=4, n_embd=16, dropout=0.0, **kw)).eval()


def test_trace_shapes_and_attention_rows():
    tr = _model().trace(torch.randint(3, V, (1, 10)))
    assert tr.attention.shape == (1, 2, 4, 10, 10)
    assert tr.q.shape == tr.k.shape == tr.v.shape == (1, 2, 4, 10, 4)
    assert tr.residual.shape == (1, 3, 10, 16)
    assert torch.allclose(tr.attention.sum(-1), torch.ones(1, 2, 4, 10), atol=1e-6)
    upper = torch.ones(10, 10, dtype=torch.bool).triu(1)
    assert torch.all(tr.attention[..., upper] == 0)


def test_attention_is_softmax_of_scaled_scores():
    tr = _model().trace(torch.randint(3, V, (1, 6)))
    q, k = tr.q[0, 0, 1], tr.k[0, 0, 1]  # layer 0, head 1: (T, hd)
    scores = q @ k.T / 2.0  # √d_k = √4
    scores = scores.masked_fill(~torch.ones(6, 6, dtype=torch.bool).tril(), float("-inf"))
    assert torch.allclose(tr.attention[0, 0, 1], torch.softmax(scores, -1), atol=1e-6)


def test_sinusoidal_positions():
    m = _model(positions="sinusoidal")
    logits, _ = m(torch.randint(3, V, (1, 8)))
    assert torch.allclose(m.trace(torch.randint(3, V, (1, 8))).positions, sinusoidal_positions(8, 16))
    pe = sinusoidal_positions(4, 16)
    assert pe[0, 0] == 0 and pe[0, 1] == 1
    assert logits.shape == (1, 8, V)


def test_tied_weights_and_too_long_input():
    m = _model()
    assert m.head.weight is m.tok.weight
    with pytest.raises(ValueError, match="longer than the context"):
        m(torch.randint(3, V, (1, 17)))


def test_bias_free_variant_matches_its_trace():
    m = _model(bias=False)
    assert all(not n.endswith(".bias") for n, _ in m.named_parameters())
    idx = torch.randint(3, V, (2, 9))
    assert torch.allclose(m.trace(idx).logits, m(idx)[0], atol=1e-5)
