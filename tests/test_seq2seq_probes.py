"""Pushing on the seq2seq decoder, on the shipped models: forced α, a fixed prefix, the beam as a tree."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from models.readings.seq2seq import read_translation
from models.readings.seq2seq_probes import beam_tree, check_edit, date_sweep, fix_prefix, force_attention, prefix_ids
from models.registry import load
from models.seq2seq import AttentionEdit, Seq2Seq
from models.tokenizer import EOS_ID

DATE = "saturday 21 nov 2026"


def _model(name: str) -> Seq2Seq:
    return load(name, "cpu").model


@torch.no_grad()
def _greedy_with_context(model: Seq2Seq, text: str, step: int, j: int) -> list[int]:
    """Greedy decoding written out from the model's parts, with c_step replaced by h_j (the reference)."""
    ids, _ = model.source_ids(text)
    h, mask, thought, s = model.encode(torch.tensor([ids]))
    keys, y, out = model.keys(h), torch.tensor([EOS_ID]), []
    for i in range(model.config.max_out_len):
        c, _, _ = model.attention(s, keys, h, mask, thought)
        if i == step:
            c = h[:, j]
        emb = model.tgt_embed(y)
        s = model.cell(torch.cat([emb, c], -1), s)
        y = model.output(s, c, emb).argmax(-1)
        if int(y) == EOS_ID:
            break
        out.append(int(y))
    return out


@torch.no_grad()
def _score(model: Seq2Seq, text: str, tokens: list[int]) -> torch.Tensor:
    """log p of each token, teacher-forced through ``Seq2Seq.forward`` (not the decoder under test)."""
    ids, _ = model.source_ids(text)
    logits, _ = model(torch.tensor([ids]), torch.tensor([[EOS_ID, *tokens[:-1]]]))
    return torch.log_softmax(logits[0].double(), -1).gather(-1, torch.tensor(tokens)[:, None])[:, 0]


@pytest.mark.parametrize("name,text,step", [("dates-additive", DATE, 3), ("dates-dot", "31.12.1900", 5),
                                            ("fra-additive", "she is my friend .", 1)])
def test_one_hot_alpha_gives_h_j_exactly_and_decoding_continues_from_it(name, text, step):
    model = _model(name)
    own = model.translate(text)
    for j in (0, len(own.src_tokens) - 1):
        tr = model.translate(text, edit=AttentionEdit(step, j))
        assert torch.equal(tr.contexts[step], tr.annotations[j])  # c_i = h_j to the last bit
        assert tr.attention[step, j] == 1 and tr.attention[step].sum() == 1
        assert tr.out_tokens[:step] == own.out_tokens[:step]  # the steps before are untouched
        assert torch.allclose(tr.attention[:step], own.attention[:step])
        itos = model.tgt_tok.vocab.itos
        assert tr.out_tokens == [itos[k] for k in _greedy_with_context(model, text, step, j)]


def test_forcing_a_digit_onto_the_wrong_span_writes_the_wrong_digit():
    sweep = date_sweep(_model("dates-additive"), DATE, 3)  # the year's last digit, "6": source "2026" is 17–20
    assert sweep.gold == "6" and sweep.span == (16, 20) and sweep.own == "6"
    assert sweep.written[16:20] == ["2", "0", "2", "6"]  # each digit of the year copies the one it is forced onto
    wrong = [j for j in range(len(sweep.written)) if not sweep.inside(j) and sweep.written[j] != "6"]
    assert len(wrong) >= len(sweep.written) // 2  # forced elsewhere: mostly a wrong digit
    forced = force_attention(_model("dates-additive"), DATE, AttentionEdit(3, wrong[0]))
    assert forced.forced.rows[3] == sweep.written[wrong[0]] != "6" and forced.first_change == 3


def test_scaling_one_weight():
    model = _model("dates-additive")
    own = model.translate(DATE)
    same = model.translate(DATE, edit=AttentionEdit(2, 5, scale=1.0))
    assert torch.allclose(same.attention, own.attention, atol=1e-6) and same.out_tokens == own.out_tokens
    blocked = model.translate(DATE, edit=AttentionEdit(2, 18, scale=0.0))
    assert blocked.attention[2, 18] == 0
    expected = own.attention[2].clone()
    expected[18] = 0
    assert torch.allclose(blocked.attention[2], expected / expected.sum(), atol=1e-6)  # the rest renormalised
    boosted = model.translate(DATE, edit=AttentionEdit(2, 5, scale=100.0))
    e = own.scores[2].clone()
    e[5] += torch.log(torch.tensor(100.0))
    assert torch.allclose(boosted.attention[2], F.softmax(e, -1), atol=1e-6)


@pytest.mark.parametrize("name,text,prefix", [("fra-additive", "i am happy .", "nous"),
                                              ("fra-none", "we are going home .", "il est"),
                                              ("dates-bilinear", DATE, "1999-")])
def test_fixed_prefix_is_kept_verbatim_and_scored_as_the_model_scores_it(name, text, prefix):
    model = _model(name)
    ids, words = prefix_ids(model, prefix)
    tr = model.translate(text, prefix=ids)
    assert tr.out_tokens[: len(words)] == words and tr.prefix_len == len(ids)
    scored = _score(model, text, ids)
    assert tr.prefix_log_prob == pytest.approx(float(scored.sum()), abs=1e-4)
    whole = [*[model.tgt_tok.vocab.stoi[t] for t in tr.out_tokens], EOS_ID][: len(tr.token_probs)]
    assert tr.log_prob == pytest.approx(float(_score(model, text, whole).sum()), abs=1e-4)  # prefix + continuation
    own = model.translate(text)
    reading = fix_prefix(model, text, prefix)
    assert reading.own.text == own.text and reading.fixed.text == tr.text
    assert reading.continuation_log_prob == pytest.approx(tr.log_prob - tr.prefix_log_prob)


def test_the_models_own_start_as_prefix_changes_nothing():
    model = _model("fra-additive")
    own = model.translate("she is my friend .")
    ids, _ = prefix_ids(model, own.out_tokens[0])
    tr = model.translate("she is my friend .", prefix=ids)
    assert tr.out_tokens == own.out_tokens and tr.log_prob == pytest.approx(own.log_prob, abs=1e-9)


@pytest.mark.parametrize("name,text,beam", [("dates-additive", "the 3rd of march, 1999", 3),
                                            ("fra-additive", "i don't like this book .", 4)])
def test_every_tree_node_was_kept_or_pruned_by_the_search_and_the_winner_is_translate(name, text, beam):
    model = _model(name)
    reading = read_translation(model, text, beam)
    tree = beam_tree(reading)
    tr = model.translate(text, beam=beam)
    kept = [{h.tokens: h for h in step} for step in tr.beam_steps]
    pruned = [{h.tokens: h for h in step} for step in tr.beam_pruned]
    stoi = model.tgt_tok.vocab.stoi
    assert tree.status.count("pruned") > 0
    for n in range(1, len(tree.labels)):
        tokens = tuple(stoi[w] for w in tree.texts[n].split(" "))
        d = tree.depth[n]
        assert len(tokens) == d and tree.labels[n] == model.tgt_tok.vocab.itos[tokens[-1]]
        if tree.status[n] == "pruned":
            h = pruned[d - 1][tokens]
            assert tokens not in kept[d - 1] and h.log_prob <= min(k.log_prob for k in kept[d - 1].values())
        else:
            h = kept[d - 1][tokens]
        assert tree.log_prob[n] == pytest.approx(h.log_prob)
        assert tree.log_prob[n] == pytest.approx(float(_score(model, text, list(tokens)).sum()), abs=1e-4)
    winner = [tree.labels[n] for n in range(1, len(tree.labels)) if tree.status[n] == "winner"]
    assert [w for w in winner if w != "<eos>"] == tr.out_tokens


def test_bad_input_gets_a_clear_message():
    model = _model("fra-additive")
    with pytest.raises(ValueError, match="Not in the output vocabulary.*'zzzq'"):
        fix_prefix(model, "i am happy .", "zzzq nous")
    with pytest.raises(ValueError, match="empty"):
        fix_prefix(model, "i am happy .", "   ")
    with pytest.raises(ValueError, match="at most 16"):
        fix_prefix(model, "i am happy .", "nous " * 16)
    own = read_translation(model, "i am happy .")
    with pytest.raises(ValueError, match="Step 9 is beyond the output: the decoder wrote 5 tokens"):
        check_edit(own, AttentionEdit(8, 0))
    with pytest.raises(ValueError, match="beyond the output"):
        force_attention(model, "i am happy .", AttentionEdit(len(own.rows), 0))
    with pytest.raises(ValueError, match="no attention"):
        force_attention(_model("fra-none"), "i am happy .", AttentionEdit(0, 0))
    with pytest.raises(ValueError, match="no α to force"):
        _model("dates-none").translate(DATE, edit=AttentionEdit(0, 0))
