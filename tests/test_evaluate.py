"""The evaluator gives each model its full context and scores every token once; it also scores seq2seq pairs."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models.dates import gold_spans
from models.evaluate import (
    chain_rule,
    evaluate_text,
    greedy_batch,
    length_bucket,
    score_pairs,
    teacher_forced_loss,
    token_nll,
)
from models.pairs import batch, dates, encode_pairs
from models.seq2seq import Seq2Seq, Seq2SeqConfig

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


def _dates_model(attention: str) -> tuple[Seq2Seq, list[tuple[str, str]]]:
    pairs = dates(n_train=50, n_valid=10, seed=0)
    torch.manual_seed(0)
    config = Seq2SeqConfig(len(pairs.src_tok), len(pairs.tgt_tok), attention, n_embd=8, n_hidden=8, dropout=0.0,
                           max_src_len=32, max_out_len=12)
    return Seq2Seq(config, pairs.src_tok, pairs.tgt_tok).eval(), pairs.valid


def test_length_bucket():
    edges = (1, 4, 6)
    assert [length_bucket(n, edges) for n in (1, 3, 4, 5, 6, 40)] == ["1-3", "1-3", "4-5", "4-5", "6+", "6+"]


def test_teacher_forced_loss_is_the_mean_over_target_tokens():
    model, pairs = _dates_model("additive")
    encoded = encode_pairs(pairs, model.src_tok, model.tgt_tok, 32)
    with torch.no_grad():
        _, loss = model(*batch(encoded))  # mean over the non-padding targets of one batch
    assert math.isclose(teacher_forced_loss(model, encoded, batch_size=3), float(loss), rel_tol=1e-5)


def test_score_pairs_counts_greedy_outputs():
    model, pairs = _dates_model("dot")
    with torch.no_grad():  # an output layer that always says "1": greedy writes twelve 1s and never <eos>
        model.out.weight.zero_()
        model.out.bias.copy_(torch.nn.functional.one_hot(torch.tensor(model.tgt_tok.encode("1")[0]),
                                                         len(model.tgt_tok)).float())
    outs, att = greedy_batch(model, [model.src_tok.encode(s) for s, _ in pairs])
    assert outs == [model.tgt_tok.encode("1" * 12)] * len(pairs) and att.shape[:2] == (len(pairs), 12)
    gold = [(s, "1" * 12 if i % 2 else t) for i, (s, t) in enumerate(pairs)]
    scored = score_pairs(model, gold, edges=(1, 12, 20), batch_size=4)
    assert scored["pairs"] == len(pairs) and scored["exact_match"] == 0.5 and "alignment_accuracy" not in scored
    assert sum(b["pairs"] for b in scored["by_length"].values()) == len(pairs)
    assert 0 <= score_pairs(model, pairs, gold_spans, batch_size=4)["alignment_accuracy"] <= 1


def test_no_attention_gets_no_alignment_accuracy():
    """Without attention there is no α, so no argmax of α to score (dc55476 scored zeros' argmax, position 0)."""
    model, pairs = _dates_model("none")
    assert greedy_batch(model, [model.src_tok.encode(s) for s, _ in pairs])[1] is None
    scored = score_pairs(model, pairs, gold_spans)
    assert "alignment_accuracy" not in scored and scored["pairs"] == len(pairs)
