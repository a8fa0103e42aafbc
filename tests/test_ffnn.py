"""The window model: each prediction sees exactly the k previous words."""
from __future__ import annotations

import torch

from models.ffnn import FFNNLM, FFNNConfig
from models.tokenizer import EOS_ID

from .conftest import V


def test_window_is_k_previous_words():
    torch.manual_seed(0)
    m = FFNNLM(FFNNConfig(V, k=4, n_embd=8, n_hidden=16, dropout=0.0)).eval()
    idx = torch.randint(3, V, (1, 10))
    tr = m.trace(idx)
    assert tr.windows.shape == (1, 10, 4)
    assert tr.windows[0, 0].tolist() == [EOS_ID] * 3 + [idx[0, 0].item()]
    assert tr.windows[0, 9].tolist() == idx[0, 6:10].tolist()
    assert tr.embeddings.shape == (1, 10, 4, 8) and tr.hidden.shape == (1, 10, 16)
    # A word more than k positions back cannot change the prediction.
    changed = idx.clone()
    changed[0, 2] = (idx[0, 2] - 2) % (V - 3) + 3
    a, _ = m(idx)
    b, _ = m(changed)
    assert torch.allclose(a[0, 6:], b[0, 6:])
    assert not torch.allclose(a[0, 2:6], b[0, 2:6])
