"""Shared fixtures: tiny configs of every neural model (no corpus needed)."""
from __future__ import annotations

import pytest
import torch

from models.ffnn import FFNNLM, FFNNConfig
from models.rnn import RecurrentLM, RNNConfig
from models.tokenizer import WordTokenizer
from models.transformer import TransformerConfig, TransformerLM

V = 50  # tiny vocabulary


def tiny_models() -> dict[str, torch.nn.Module]:
    """One small, freshly seeded model per neural family, in eval mode."""
    torch.manual_seed(0)
    return {
        "ffnn": FFNNLM(FFNNConfig(V, k=4, n_embd=8, n_hidden=32, dropout=0.0)),
        "rnn": RecurrentLM(RNNConfig(V, "rnn", 8, 16, dropout=0.0)),
        "lstm": RecurrentLM(RNNConfig(V, "lstm", 8, 16, dropout=0.0)),
        "gru": RecurrentLM(RNNConfig(V, "gru", 8, 16, dropout=0.0)),
        "transformer": TransformerLM(TransformerConfig(V, block_size=16, n_layer=2, n_head=4, n_embd=16, dropout=0.0)),
    }


NEURAL = tuple(tiny_models())


def tiny_word(i: int) -> str:
    """The i-th word of the tiny vocabulary (letters only, so each is one token)."""
    return "w" + chr(97 + i // 26) + chr(97 + i % 26)


def tiny_tokenizer() -> WordTokenizer:
    """A word vocabulary of exactly V entries (3 specials + V-3 words)."""
    return WordTokenizer.build(" ".join(f"{tiny_word(i)} " * 3 for i in range(V - 3)))


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)


@pytest.fixture(params=NEURAL)
def neural(request) -> tuple[str, torch.nn.Module]:
    return request.param, tiny_models()[request.param].eval()
