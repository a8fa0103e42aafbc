"""The evaluator gives each model its full context and scores every token once."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models.evaluate import chain_rule, evaluate_text, token_nll

from .conftest import V, tiny_models, tiny_tokenizer, tiny_word


def _direct_nll(model, ids: torch.Tensor) -> torch.Tensor:
    logits, _ = model(ids[:-1].unsqueeze(0))
    return F.cross_entropy(logits[0], ids[1:], reduction="none")


def test_fixed_window_and_recurrent_match_one_pass():
    ids = torch.randint(3, V, (2500,))  # longer than one evaluation chunk
    for name in ("ffnn", "gru"):
        model = tiny_models()[name].eval()
        with torch.no_grad():
            assert torch.allclose(token_nll(model, ids), _direct_nll(model, ids), atol=1e-5)


def test_transformer_slides_with_full_context():
    model = tiny_models()["transformer"].eval()  # block 16
    ids = torch.randint(3, V, (60,))
    nll = token_nll(model, ids, stride=1)
    with torch.no_grad():
        for j in (1, 10, 16, 17, 40, 59):  # target ids[j] sees the min(j, 16) tokens before it
            window = ids[max(0, j - 16) : j].unsqueeze(0)
            expect = F.cross_entropy(model(window)[0][0, -1:], ids[j : j + 1])
            assert math.isclose(nll[j - 1].item(), expect.item(), rel_tol=1e-5)
    strided = token_nll(model, ids, stride=4)
    assert strided.shape == nll.shape and torch.isfinite(strided).all()


def test_evaluate_text_reports_perplexity():
    tok = tiny_tokenizer()
    model = tiny_models()["lstm"].eval()
    out = evaluate_text(model, tok, f"{tiny_word(1)} {tiny_word(2)} zzz {tiny_word(3)}")
    assert out["tokens"] == 4 and out["oov_rate"] == 0.25
    assert math.isclose(out["perplexity"], math.exp(out["cross_entropy"]))


def test_chain_rule_multiplies_conditionals():
    tok = tiny_tokenizer()
    model = tiny_models()["transformer"].eval()
    text = " ".join(tiny_word(i) for i in range(5)) + " qqq"
    cr = chain_rule(model, tok, text, append_eos=True)
    assert cr.tokens[-2:] == ["<unk>", "<eos>"] and cr.words[-2] == "qqq"
    assert cr.unknown.tolist() == [False] * 5 + [True, False]
    ids = torch.tensor([[2] + tok.encode(text) + [2]])
    with torch.no_grad():
        logits, _ = model(ids[:, :-1])
    logp = torch.log_softmax(logits[0], -1).gather(1, ids[0, 1:, None])[:, 0]
    assert np.allclose(cr.logp, logp.numpy(), atol=1e-5)
    assert math.isclose(cr.total, float(logp.sum()), rel_tol=1e-5)
    assert math.isclose(cr.perplexity, math.exp(-float(logp.mean())), rel_tol=1e-5)
    with pytest.raises(ValueError):
        chain_rule(model, tok, "   ")
