"""Incremental decoding: ``begin`` then ``extend`` scores each next token as the full forward does, for every
family (tiny and shipped), across the transformer's context limit; sampling draws the same ids as a plain loop."""
from __future__ import annotations

import functools

import pytest
import torch

from models.lm import LanguageModel
from models.ngram import NGramConfig, NGramLM
from models.registry import LM_NAMES, load
from models.sampling import (
    SamplingConfig,
    beam_search,
    draw,
    next_logits,
    next_token_distribution,
    sample_batch,
    start_ids,
)
from models.transformer import TransformerConfig, TransformerLM

from .conftest import V, tiny_models

SHIPPED_TEXT = "once upon a time there was a little girl named lily . she loved to play in the park . " * 4


def _tiny_ngram(**changes) -> NGramLM:
    stream = torch.randint(3, V, (500,), generator=torch.Generator().manual_seed(1)).numpy()
    return NGramLM.from_ids(stream, NGramConfig(vocab_size=V)).configured(**changes)


def _tiny(name: str) -> LanguageModel:
    """Every family at toy size; the transformer's context is 16, the n-gram's MLE gives zero probabilities."""
    extra = {
        "ngram": _tiny_ngram(),
        "ngram-mle": _tiny_ngram(estimator="mle"),
        "unigram": _tiny_ngram(order=1),
        "sinusoidal": TransformerLM(TransformerConfig(V, block_size=16, n_layer=2, n_head=2, n_embd=16, dropout=0.0,
                                                      positions="sinusoidal")),
    }
    return {**tiny_models(), **extra}[name].eval()


TINY = ("ffnn", "rnn", "lstm", "gru", "transformer", "sinusoidal", "ngram", "ngram-mle", "unigram")


@functools.cache
def _shipped(name: str):
    return load(name, "cpu")


def _full_last(model: LanguageModel, ids: torch.Tensor) -> torch.Tensor:
    """(B, T) -> (B, V): the full forward's last position, over the most ids the model accepts."""
    logits, _ = model(ids[:, -model.max_len :] if model.max_len else ids)
    return logits[:, -1]


@torch.no_grad()
def _assert_decodes_like_forward(model: LanguageModel, ids: torch.Tensor, prompt: int, atol: float,
                                 rtol: float = 0.0) -> None:
    """begin on ids[:, :prompt], then extend by one column at a time; every step must match the forward."""
    logits, cache = model.begin(ids[:, :prompt])
    for t in range(prompt, ids.size(1) + 1):
        # −inf (an n-gram's impossible tokens) must sit in the same places; assert_close compares them exactly.
        torch.testing.assert_close(logits, _full_last(model, ids[:, :t]), atol=atol, rtol=rtol, msg=f"after {t}")
        if t < ids.size(1):
            logits, cache = model.extend(cache, ids[:, t])


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("prompt", [1, 5, 20])
def test_tiny_models_decode_like_the_forward(name, prompt):
    ids = torch.randint(3, V, (3, 40), generator=torch.Generator().manual_seed(prompt))  # past the context of 16
    _assert_decodes_like_forward(_tiny(name), ids, prompt, atol=1e-5)


@pytest.mark.parametrize("name", LM_NAMES)
def test_shipped_models_decode_like_the_forward(name):
    bundle = _shipped(name)
    ids = torch.tensor([start_ids(bundle.tokenizer.encode(SHIPPED_TEXT))[:80]])
    ids = torch.cat([ids, ids.flip(1)])  # (2, 80): two different rows, and 16 ids past the transformer's 64
    assert ids.size(1) > 64 + 10
    _assert_decodes_like_forward(bundle.model, ids, 10, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", TINY)
def test_next_logits_is_the_forwards_last_position(name):
    model = _tiny(name)
    ids = torch.randint(3, V, (3, 25), generator=torch.Generator().manual_seed(4))  # longer than any window
    with torch.no_grad():
        torch.testing.assert_close(next_logits(model, ids), _full_last(model, ids), atol=1e-5, rtol=0.0)


def test_the_transformer_cache_fills_then_slides():
    model = _tiny("transformer")  # block_size 16
    ids = torch.randint(3, V, (2, 20))
    with torch.no_grad():
        _, cache = model.begin(ids[:, :15])
        assert cache.length == 15 and all(k.shape == (2, 4, 15, 4) for k, _ in cache.layers)
        _, cache = model.extend(cache, ids[:, 15])
        assert cache.length == 16
        _, cache = model.extend(cache, ids[:, 16])  # a 17th position does not fit: recomputed over ids 1..16
        assert cache.length == 16 and torch.equal(cache.ids, ids[:, 1:17])
        _, cache = model.begin(ids)
        assert torch.equal(cache.ids, ids[:, -16:])


@pytest.mark.parametrize("name", ["transformer", "lstm", "gru", "ffnn", "ngram"])
def test_caches_are_independent(name):
    """Decoding keeps nothing on the module: two interleaved decodes give what each gives alone."""
    model = _tiny(name)
    a, b = torch.randint(3, V, (2, 6, 10), generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        alone, cache = model.begin(a[:, :4])
        for t in range(4, 10):
            alone, cache = model.extend(cache, a[:, t])
        mixed, cache_a = model.begin(a[:, :4])
        _, cache_b = model.begin(b[:, :7])
        for t in range(4, 10):
            mixed, cache_a = model.extend(cache_a, a[:, t])
            _, cache_b = model.extend(cache_b, b[:, min(t + 3, 9)])
    assert torch.equal(alone, mixed)


@pytest.mark.parametrize("name", TINY)
def test_reorder_picks_rows(name):
    model = _tiny(name)
    ids = torch.randint(3, V, (4, 30), generator=torch.Generator().manual_seed(2))
    rows = torch.tensor([2, 0, 2])
    with torch.no_grad():
        _, cache = model.begin(ids[:, :12])
        logits, cache = model.extend(model.reorder(cache, rows), ids[rows, 12])
        for t in range(13, 30):  # on past the transformer's 16
            torch.testing.assert_close(logits, _full_last(model, ids[rows, :t]), atol=1e-5, rtol=0.0)
            logits, cache = model.extend(cache, ids[rows, t])


# ----- sampling draws the same ids as a plain loop -------------------------------------------
@torch.no_grad()
def _reference_sample(model: LanguageModel, prompt: list[int], rows: int, n: int, cfg: SamplingConfig,
                      generator: torch.Generator) -> torch.Tensor:
    """(rows, n) ids: one full forward per step over the growing text, its last position sampled."""
    ids = torch.tensor([start_ids(prompt)] * rows)
    for _ in range(n):
        probs = next_token_distribution(_full_last(model, ids).float(), cfg)
        ids = torch.cat([ids, draw(probs, generator)[:, None]], 1)
    return ids[:, ids.size(1) - n :]


CONFIGS = (SamplingConfig(), SamplingConfig(top_k=5, temperature=0.8), SamplingConfig(top_p=0.9),
           SamplingConfig(greedy=True))


@pytest.mark.parametrize("name", TINY)
def test_sample_batch_draws_what_a_plain_loop_draws(name):
    model = _tiny(name)
    prompt = list(range(3, 13))  # 10 ids, + 12 sampled: past the transformer's 16
    for cfg in CONFIGS:
        expected = _reference_sample(model, prompt, 6, 12, cfg, torch.Generator().manual_seed(5))
        got = sample_batch(model, prompt, 6, 12, cfg, torch.Generator().manual_seed(5))
        assert torch.equal(got, expected), (name, cfg)


@pytest.mark.parametrize("name", LM_NAMES)
def test_shipped_sample_batch_draws_what_a_plain_loop_draws(name):
    bundle = _shipped(name)
    prompt = start_ids(bundle.tokenizer.encode(SHIPPED_TEXT))[:55]  # + 15 sampled crosses the transformer's 64
    for cfg in CONFIGS[:3]:
        expected = _reference_sample(bundle.model, prompt, 4, 15, cfg, torch.Generator().manual_seed(0))
        got = sample_batch(bundle.model, prompt, 4, 15, cfg, torch.Generator().manual_seed(0))
        assert torch.equal(got, expected), (name, cfg)


@pytest.mark.parametrize("name", ["transformer", "gru", "ngram"])
def test_beam_search_matches_recomputing_every_prefix(name):
    """The beam reorders its cache as hypotheses are dropped and repeated: the same beam as scoring every prefix."""
    model = _tiny(name)

    class Recomputing(LanguageModel):  # the same model through the default, cache-free decoding
        context_size, max_len = model.context_size, model.max_len

        def forward(self, idx, targets=None):
            return model(idx, targets)

    for prompt in ([2, 5], list(range(3, 17))):  # the second crosses the transformer's 16 during the search
        fast, slow = (beam_search(m, prompt, 10, beam=4, length_penalty=0.6) for m in (model, Recomputing()))
        assert [[h.tokens for h in kept] for kept in fast.steps] == [[h.tokens for h in kept] for kept in slow.steps]
        assert [h.log_prob for kept in fast.steps for h in kept] == pytest.approx(
            [h.log_prob for kept in slow.steps for h in kept], abs=1e-4)
