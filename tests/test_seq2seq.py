"""Seq2seq: attention rows, padding, beam 1 == greedy, overfitting, safe translate on bad input, the reading."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.evaluate import score_pairs
from models.pairs import batch, encode_pairs
from models.readings.seq2seq import read_translation
from models.sampling import Hypothesis
from models.seq2seq import ATTENTIONS, Seq2Seq, Seq2SeqConfig, SourceDecoder
from models.tokenizer import EOS_ID, PAD_ID, CharTokenizer

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


@torch.no_grad()
def greedy(model: Seq2Seq, text: str) -> tuple[list[int], float]:
    """The definition of greedy decoding, one source, one argmax a step: the ids (with <eos>) and Σ log p."""
    ids, _ = model.source_ids(text)
    h, mask, thought, s = model.encode(torch.tensor([ids]))
    keys, y, out, log_p = model.keys(h), torch.tensor([EOS_ID]), [], 0.0
    for _ in range(model.config.max_out_len):
        logits, s, _, _ = model.decode_step(y, s, h, keys, mask, thought)
        y = logits.argmax(-1)
        out.append(int(y))
        log_p += float(torch.log_softmax(logits[0].double(), -1)[y])
        if out[-1] == EOS_ID:
            break
    return out, log_p


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_beam_one_equals_greedy(attention):
    model = _model(attention)
    for source, _ in PAIRS:
        ids, log_p = greedy(model, source)
        tr = model.translate(source, beam=1)
        assert tr.out_tokens == [model.tgt_tok.vocab.itos[k] for k in ids if k != EOS_ID]
        assert tr.log_prob == pytest.approx(log_p, abs=1e-5)
        assert [h.tokens for h in tr.beam_steps[-1]] == [tuple(ids)]


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_source_decoder_follows_the_decoding_contract(attention):
    """begin / extend / reorder of one source give the logits of the teacher-forced forward pass."""
    model = _model(attention)
    src, tgt_in, _ = _batch(model)
    src, tgt_in = src[:1, : len(PAIRS[0][0])], tgt_in[:1]
    with torch.no_grad():
        expected, _ = model(src, tgt_in)  # (1, T, V)
    decoder = SourceDecoder(model, *model.encode(src))
    logits, state = decoder.begin(tgt_in[:, :1])
    got = [logits]
    state = decoder.reorder(state, torch.tensor([0, 0]))  # two copies of one hypothesis
    for i in range(1, tgt_in.size(1)):
        logits, state = decoder.extend(state, tgt_in[0, i].repeat(2))
        assert torch.allclose(logits[0], logits[1])
        got.append(logits[:1])
    assert torch.allclose(torch.stack(got, 1), expected, atol=1e-5)


def test_no_attention_returns_no_distribution():
    model = _model("none")
    src, _, _ = _batch(model)
    h, mask, thought, s = model.encode(src)
    context, alpha, scores = model.attention(s, model.keys(h), h, mask, thought)
    assert alpha is None and scores is None and torch.equal(context, thought)
    tr = model.translate("21 nov 2026")
    assert tr.attention is None and tr.scores is None
    assert torch.allclose(tr.contexts, tr.thought.expand_as(tr.contexts))  # c_i = c at every step
    assert torch.allclose(tr.thought, model.encode(torch.tensor([model.source_ids("21 nov 2026")[0]]))[2][0])


def test_beam_search_never_scores_below_greedy():
    model = _model("additive")
    for source, _ in PAIRS:
        assert model.translate(source, beam=4).log_prob >= model.translate(source, beam=1).log_prob - 1e-6


def test_translation_fields():
    model = _model("additive")
    tr = model.translate("21 nov 2026")
    assert tr.src_tokens == list("21 nov 2026")
    assert tr.attention.shape == tr.scores.shape == (len(tr.token_probs), 11)
    assert tr.contexts.shape == (len(tr.token_probs), 32) and tr.thought.shape == (32,)
    assert torch.allclose(tr.contexts, tr.attention @ tr.annotations, atol=1e-6)  # c_i = Σ_j α_ij h_j
    assert torch.allclose(torch.softmax(tr.scores, -1), tr.attention, atol=1e-6)  # α_i = softmax(e_i)
    # The token probabilities come from the beam's history: they are the decoder's own softmax at every step.
    h, mask, thought, s = model.encode(torch.tensor([model.source_ids("21 nov 2026")[0]]))
    keys, y, probs = model.keys(h), EOS_ID, []
    emitted = [model.tgt_tok.vocab.stoi[t] for t in tr.out_tokens]
    for k in emitted + [EOS_ID][: len(tr.token_probs) - len(emitted)]:
        with torch.no_grad():
            logits, s, _, _ = model.decode_step(torch.tensor([y]), s, h, keys, mask, thought)
        probs.append(float(torch.softmax(logits[0], -1)[k]))
        y = k
    assert np.allclose(tr.token_probs, probs, atol=1e-5)


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
        assert all(isinstance(h, Hypothesis) for h in step)
        scores = [h.log_prob for h in step]
        assert scores == sorted(scores, reverse=True)
    best = tr.beam_steps[-1][0]
    assert best.log_prob == pytest.approx(tr.log_prob)
    assert [model.tgt_tok.vocab.itos[k] for k in best.tokens if k != EOS_ID] == tr.out_tokens
    assert float(np.log(tr.token_probs).sum()) == pytest.approx(tr.log_prob, abs=1e-4)  # the replay's probabilities


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_reading_is_plain_numpy_from_the_translation(attention):
    model = _model(attention)
    r = read_translation(model, "21 nov 2026", beam=2)
    tr = model.translate("21 nov 2026", beam=2)
    for value in vars(r).values():
        assert not isinstance(value, torch.Tensor)
    assert r.out_tokens == tr.out_tokens and r.rows[: len(r.out_tokens)] == r.out_tokens
    assert len(r.rows) == len(r.token_probs) == r.contexts.shape[0]
    assert np.allclose(r.thought, tr.thought.numpy())
    assert r.beam_steps == tr.beam_steps
    assert [" ".join(r.tokens_of(h)) for h in r.beam_steps[-1]][0].split()[: len(r.out_tokens)] == r.out_tokens
    if attention == "none":
        assert not r.has_attention and r.attention is None and r.scores is None
        assert np.allclose(r.contexts, r.thought[None])
    else:
        assert r.has_attention and np.allclose(r.attention.sum(1), 1, atol=1e-5)
        assert all(np.allclose(r.weighted_sum(i), r.contexts[i], atol=1e-5) for i in range(len(r.rows)))
