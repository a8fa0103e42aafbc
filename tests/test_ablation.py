"""Switching heads off, ranking them and cutting attention edges: the Probe on the transformer's attention path,
and the readings of the shipped model."""
from __future__ import annotations

import pytest
import torch

from models.lm import lm_loss
from models.readings.ablation import ablate_heads, head_mask, knock_out_edge, rank_heads
from models.readings.transformer import transformer_input
from models.registry import load
from models.transformer import Probe, TransformerConfig, TransformerLM

from .conftest import V

SENTENCE = "the little dog ran to the park and the dog was happy . then lily came to play with him"


def _tiny() -> TransformerLM:
    torch.manual_seed(0)
    return TransformerLM(TransformerConfig(V, block_size=16, n_layer=2, n_head=4, n_embd=16, dropout=0.0)).eval()


def _shipped():
    bundle = load("transformer", "cpu")
    ids = transformer_input(bundle.model, bundle.tokenizer, SENTENCE).ids
    return bundle, torch.tensor([ids])


def _off(model: TransformerLM, *heads: tuple[int, int]) -> torch.Tensor:
    return head_mask(model, heads)


@torch.no_grad()
def test_ablating_no_head_leaves_the_logits_unchanged():
    for model, x in ((_tiny(), torch.randint(3, V, (2, 12))), (_shipped()[0].model, _shipped()[1])):
        own = model(x)[0]
        for uniform in (False, True):
            none = Probe(torch.zeros(1, model.config.n_layer, model.config.n_head, dtype=torch.bool), uniform)
            assert torch.allclose(model(x, probe=none)[0], own, atol=1e-5)
        assert torch.allclose(model(x, probe=Probe())[0], own, atol=1e-5)


@torch.no_grad()
@pytest.mark.parametrize("uniform", [False, True])
def test_ablating_a_head_changes_only_what_it_feeds(uniform):
    bundle, x = _shipped()
    model, T = bundle.model, x.size(1)
    own = model.trace(x)
    cut = model.trace(x, probe=Probe(_off(model, (2, 1)), uniform))  # layer 3, head 2
    assert torch.equal(cut.residual[:, :3], own.residual[:, :3])  # the embedding and layers 1–2: upstream, untouched
    assert torch.equal(cut.attention[:, :2], own.attention[:, :2])
    others = [0, 2, 3]
    assert torch.equal(cut.attention[:, 2, others], own.attention[:, 2, others])  # its neighbours read as before
    assert (cut.residual[:, 3] - own.residual[:, 3]).abs().max() > 1e-2  # what it feeds moves
    assert (cut.logits - own.logits).abs().max() > 1e-2
    if uniform:  # α = 1/t₁ over the keys it may read
        even = torch.ones(T, T).tril()
        assert torch.allclose(cut.attention[0, 2, 1], even / even.sum(-1, keepdim=True))
    # By hand: the layer's attention output is W^O over the heads, head 2's part zeroed (or reading evenly).
    block, lp = model.blocks[2], Probe(_off(model, (2, 1)), uniform).layer(2)
    y_probe, _ = block.attn(block.ln1(own.residual[:, 2]), probe=lp)
    _, _, v = block.attn._heads(block.ln1(own.residual[:, 2]))
    heads = cut.attention[:, 2] @ v  # (1, nh, T, hd)
    if not uniform:
        heads[:, 1] = 0
    assert torch.allclose(y_probe, block.attn._merge(heads), atol=1e-5)


@torch.no_grad()
def test_head_importance_is_the_loss_difference_computed_directly():
    bundle, x = _shipped()
    model = bundle.model
    assert x.size(1) == 21  # <eos> + 20 tokens
    for mode in ("zero", "uniform"):
        ranking = rank_heads(model, bundle.tokenizer, SENTENCE, mode)
        base = float(lm_loss(model(x[:, :-1])[0], x[:, 1:]))
        assert ranking.base_loss == pytest.approx(base, abs=1e-5)
        for layer in range(4):
            for head in range(4):
                probe = Probe(_off(model, (layer, head)), mode == "uniform")
                direct = float(lm_loss(model(x[:, :-1], probe=probe)[0], x[:, 1:]))
                assert ranking.increase[layer, head] == pytest.approx(direct - base, abs=1e-5)
        assert ranking.increase[ranking.order()[0]] == ranking.increase.max() > 0


@torch.no_grad()
def test_ablation_reading_names_the_changed_predictions():
    bundle, x = _shipped()
    change = ablate_heads(bundle.model, bundle.tokenizer, SENTENCE, [(0, 0), (2, 3)], "zero")
    own = torch.softmax(bundle.model(x)[0][0], -1)
    new = torch.softmax(bundle.model(x, probe=Probe(_off(bundle.model, (0, 0), (2, 3))))[0][0], -1)
    kl = (own * (own.log() - new.log())).sum(-1)
    assert torch.allclose(torch.tensor(change.kl), kl, atol=1e-4) and change.kl.max() > 1e-3
    itos = bundle.tokenizer.vocab.itos
    assert change.top_before == [itos[i] for i in own.argmax(-1).tolist()]
    assert change.top_after == [itos[i] for i in new.argmax(-1).tolist()]
    assert change.flipped == [t for t in range(x.size(1)) if own[t].argmax() != new[t].argmax()]
    assert change.loss_after == pytest.approx(float(lm_loss(torch.log(new[:-1])[None], x[:, 1:])), abs=1e-4)


@torch.no_grad()
def test_knocking_out_an_edge_to_a_future_key_changes_nothing():
    bundle, x = _shipped()
    for query, key in ((3, 4), (5, 19), (0, 20)):
        k = knock_out_edge(bundle.model, bundle.tokenizer, SENTENCE, query, key)
        assert k.change.kl.max() == 0 and k.change.flipped == []
        assert (k.probs_before == k.probs_after).all()


@torch.no_grad()
def test_knocking_out_a_past_edge_zeroes_that_weight_and_changes_the_query_onwards():
    bundle, x = _shipped()
    model, query, key = bundle.model, 8, 2
    blocked = torch.zeros(21, 21, dtype=torch.bool)
    blocked[query, key] = True
    cut, own = model.trace(x, probe=Probe(blocked=blocked)), model.trace(x)
    assert torch.all(cut.attention[0, :, :, query, key] == 0)
    assert torch.allclose(cut.attention[0, 0, :, query].sum(-1), torch.ones(4), atol=1e-6)
    assert torch.equal(cut.logits[0, :query], own.logits[0, :query])  # earlier positions never read the query
    k = knock_out_edge(model, bundle.tokenizer, SENTENCE, query, key)
    assert k.change.kl[:query].max() == 0 and k.change.kl[query] > 0
    p = torch.softmax(cut.logits[0, query], -1)
    assert k.probs_after[0] == pytest.approx(float(p[bundle.tokenizer.vocab.stoi[k.words[0]]]), abs=1e-6)


def test_bad_input_gets_a_clear_message():
    bundle, _ = _shipped()
    every = [(ell, h) for ell in range(4) for h in range(4)]
    with pytest.raises(ValueError, match="every head is switched off"):
        ablate_heads(bundle.model, bundle.tokenizer, SENTENCE, every)
    with pytest.raises(ValueError, match="can read only itself"):
        knock_out_edge(bundle.model, bundle.tokenizer, SENTENCE, 0, 0)
    with pytest.raises(ValueError, match="positions run from 1 to 21"):
        knock_out_edge(bundle.model, bundle.tokenizer, SENTENCE, 21, 0)
    with pytest.raises(ValueError, match="no next token"):
        rank_heads(bundle.model, bundle.tokenizer, "")
