"""Seq2seq: attention rows, padding, beam 1 == greedy, overfitting, safe translate on bad input."""
from __future__ import annotations

import pytest
import torch

from models.pairs import batch, encode_pairs
from models.seq2seq import ATTENTIONS, Seq2Seq, Seq2SeqConfig
from models.seq2seq_train import greedy_batch, score_pairs
from models.tokenizer import PAD_ID, CharTokenizer

PAIRS = [("21 nov 2026", "2026-11-21"), ("3.4.1999", "1999-04-03"), ("jul 4 1976", "1976-07-04"),
         ("2001/02/03", "2001-02-03")]


def _model(attention: str, max_src_len: int = 32) -> Seq2Seq:
    torch.manual_seed(0)
    src = CharTokenizer.build("".join(s for s, _ in PAIRS))
    tgt = CharTokenizer.build("0123456789-")
    cfg = Seq2SeqConfig(len(src), len(tgt), attention, n_embd=16, n_hidden=16, dropout=0.0,
                        max_src_len=max_src_len, max_out_len=12)
    return Seq2Seq(cfg, src, tgt).eval()


def _batch(model: Seq2Seq):
    return batch(encode_pairs(PAIRS, model.src_tok, model.tgt_tok, model.config.max_src_len))


@pytest.mark.parametrize("attention", ["dot", "bilinear", "additive"])
def test_attention_rows_sum_to_one_and_ignore_padding(attention):
    model = _model(attention)
    src, _, _ = _batch(model)
    h, mask, thought, s = model.encode(src)
    context, alpha, scores = model.attention(s, model.keys(h), h, mask, thought)
    assert torch.allclose(alpha.sum(-1), torch.ones(len(PAIRS)), atol=1e-6)
    assert torch.all(alpha[src == PAD_ID] == 0)
    assert torch.allclose(context, torch.einsum("bs,bsd->bd", alpha, h), atol=1e-6)


def test_padding_does_not_change_the_encoding():
    model = _model("additive")
    src, _, _ = _batch(model)
    padded = torch.cat([src, torch.full((src.size(0), 5), PAD_ID)], 1)
    a, _, t1, _ = model.encode(src)
    b, _, t2, _ = model.encode(padded)
    assert torch.allclose(a, b[:, : src.size(1)], atol=1e-6) and torch.allclose(t1, t2, atol=1e-6)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_every_variant_overfits_a_tiny_batch(attention):
    model = _model(attention).train()
    src, tgt_in, tgt_out = _batch(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(200):
        _, loss = model(src, tgt_in, tgt_out)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    assert loss.item() < 0.05
    assert [model.translate(s).text for s, _ in PAIRS] == [t for _, t in PAIRS]
    assert score_pairs(model, PAIRS)["exact_match"] == 1.0


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_beam_one_equals_greedy(attention):
    model = _model(attention)
    outs, att = greedy_batch(model, [model.src_tok.encode(s) for s, _ in PAIRS])
    for (source, _), out, a in zip(PAIRS, outs, att, strict=True):
        tr = model.translate(source, beam=1)
        assert tr.out_tokens == [model.tgt_tok.vocab.itos[k] for k in out]
        assert torch.allclose(tr.attention[: len(out)], a[: len(out), : len(source)], atol=1e-5)


def test_beam_search_never_scores_below_greedy():
    model = _model("additive")
    for source, _ in PAIRS:
        assert model.translate(source, beam=4).log_prob >= model.translate(source, beam=1).log_prob - 1e-6


def test_translation_fields():
    model = _model("additive")
    tr = model.translate("21 nov 2026")
    assert tr.src_tokens == list("21 nov 2026")
    assert tr.attention.shape == tr.scores.shape == (len(tr.token_probs), 11)
    assert tr.step_probs.shape == (len(tr.token_probs), len(model.tgt_tok))
    assert torch.allclose(tr.step_probs.sum(-1), torch.ones(len(tr.token_probs)), atol=1e-5)
    none = _model("none").translate("21 nov 2026")
    assert torch.all(none.attention == 0)


@pytest.mark.parametrize("text", ["", "   ", "🙂 ☃ Ω", "9" * 500, "<script>alert(1)</script>"])
def test_translate_never_raises_on_user_text(text):
    model = _model("additive")
    tr = model.translate(text)
    assert isinstance(tr.text, str)
    assert len(tr.src_tokens) <= model.config.max_src_len
    if not text.strip():
        assert tr.out_tokens == [] and "empty" in tr.notes[0]
    if len(text) > model.config.max_src_len:
        assert any("only the first" in n for n in tr.notes)
    if "🙂" in text:
        assert any("<unk>" in n for n in tr.notes)


def test_beam_history_keeps_width_hypotheses_sorted():
    model = _model("additive")
    tr = model.translate("21 nov 2026", beam=3)
    assert tr.beam_steps and all(len(step) <= 3 for step in tr.beam_steps)
    for step in tr.beam_steps:
        scores = [lp for _, lp in step]
        assert scores == sorted(scores, reverse=True)
    assert tr.beam_steps[-1][0][1] == pytest.approx(tr.log_prob)
