"""Sampling invariants: top-k 1 is greedy, distributions sum to 1, truncation keeps the right set,
batches match single runs, beam 1 is greedy and beam scores are the model's log-probabilities."""
from __future__ import annotations

import functools

import pytest
import torch

from models.lm import LanguageModel
from models.ngram import NGramConfig, NGramLM
from models.registry import load
from models.sampling import (
    Hypothesis,
    SamplingConfig,
    _beam_step,
    beam_search,
    draw,
    generate,
    length_norm,
    next_token_distribution,
    ranks,
    sample_batch,
    samples_step_by_step,
    step_by_step,
    top_k_table,
)
from models.tokenizer import EOS_ID

from .conftest import V, tiny_models

LOGITS = torch.log(torch.tensor([0.05, 0.5, 0.2, 0.15, 0.1]))
GREEDY = SamplingConfig(greedy=True)


def test_top_k_one_is_greedy():
    assert torch.equal(next_token_distribution(LOGITS, SamplingConfig(top_k=1)),
                       next_token_distribution(LOGITS, SamplingConfig(greedy=True)))


@pytest.mark.parametrize("cfg", [SamplingConfig(), SamplingConfig(temperature=0.3), SamplingConfig(top_k=3),
                                 SamplingConfig(top_p=0.8), SamplingConfig(temperature=2.0, top_k=2, top_p=0.9)])
def test_distribution_sums_to_one(cfg):
    p = next_token_distribution(LOGITS, cfg)
    assert torch.isclose(p.sum(), torch.tensor(1.0)) and torch.all(p >= 0)


def test_top_k_renormalises_the_k_most_probable():
    p = next_token_distribution(LOGITS, SamplingConfig(top_k=2))
    assert torch.allclose(p, torch.tensor([0, 0.5, 0.2, 0, 0]) / 0.7)


def test_top_p_keeps_smallest_set_reaching_p():
    p = next_token_distribution(LOGITS, SamplingConfig(top_p=0.7))  # 0.5 + 0.2 reaches 0.7
    assert (p > 0).tolist() == [False, True, True, False, False]
    p = next_token_distribution(LOGITS, SamplingConfig(top_p=0.71))
    assert (p > 0).tolist() == [False, True, True, True, False]


def test_low_temperature_approaches_greedy():
    p = next_token_distribution(LOGITS, SamplingConfig(temperature=0.01))
    assert p.argmax() == 1 and p[1] > 0.999


def test_generate_is_seeded_and_works_for_every_family():
    models = dict(tiny_models())
    models["ngram"] = NGramLM.from_ids(torch.randint(3, 50, (500,)).numpy(), NGramConfig(vocab_size=50))
    for name, model in models.items():
        model.eval()
        runs = [generate(model, [2, 5], 20, SamplingConfig(top_k=10), torch.Generator().manual_seed(7),
                         stop_at_eos=False) for _ in range(2)]
        assert runs[0] == runs[1] and len(runs[0]) == 22, name
        greedy = generate(model, [2, 5], 20, SamplingConfig(greedy=True), torch.Generator(), stop_at_eos=False)
        logits, _ = model(torch.tensor([greedy[:-1][-model.max_len:] if model.max_len else greedy[:-1]]))
        assert greedy[-1] == int(logits[0, -1].argmax()), name


def test_top_k_table_and_ranks():
    logits = torch.log(torch.tensor([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]]))
    ids, probs = top_k_table(logits, 2)
    assert ids.tolist() == [[1, 2], [0, 2]] and torch.allclose(probs, torch.tensor([[0.6, 0.3], [0.5, 0.3]]))
    assert ranks(logits, torch.tensor([0, 1])).tolist() == [3, 3]
    assert ranks(logits, torch.tensor([1, 0])).tolist() == [1, 1]


def _tiny_ngram(**changes) -> NGramLM:
    """A trigram model of a random stream over the tiny vocabulary (MLE leaves zero-probability tokens)."""
    stream = torch.randint(3, V, (500,), generator=torch.Generator().manual_seed(1)).numpy()
    return NGramLM.from_ids(stream, NGramConfig(vocab_size=V)).configured(**changes)


def _every_family() -> dict[str, LanguageModel]:
    return {**tiny_models(), "ngram": _tiny_ngram(), "ngram-mle": _tiny_ngram(estimator="mle")}


@functools.cache
def _shipped(name: str):
    return load(name, "cpu")


def _batch_logits(rows: int = 6, vocab: int = 40, seed: int = 3) -> torch.Tensor:
    return 2 * torch.randn(rows, vocab, generator=torch.Generator().manual_seed(seed))  # (B, V), no ties


@torch.no_grad()
def _log_probs_of(model: LanguageModel, prompt: list[int], tokens: list[int]) -> torch.Tensor:
    """log p(token_t | prompt, tokens_<t) for each token, from one forward over the whole text."""
    ids = prompt + tokens
    logits, _ = model(torch.tensor([ids[:-1]]))
    log_p = torch.log_softmax(logits[0, len(prompt) - 1 :].double(), -1)  # (N, V)
    return log_p.gather(-1, torch.tensor(tokens)[:, None])[:, 0]


# ----- SamplingConfig edge cases ---------------------------------------------------------------
def test_temperature_zero_is_greedy():
    assert torch.equal(next_token_distribution(LOGITS, SamplingConfig(temperature=0)),
                       next_token_distribution(LOGITS, GREEDY))
    assert SamplingConfig(temperature=0).is_greedy and SamplingConfig(temperature=0).label == "greedy"
    model = tiny_models()["transformer"].eval()
    runs = [generate(model, [2, 5], 12, cfg, torch.Generator().manual_seed(s), stop_at_eos=False)
            for cfg, s in ((SamplingConfig(temperature=0, top_p=0.5), 1), (GREEDY, 2))]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("cfg", [SamplingConfig(top_k=5), SamplingConfig(top_k=500), SamplingConfig(top_k=0),
                                 SamplingConfig(top_k=-3), SamplingConfig(top_p=1.0),
                                 SamplingConfig(top_k=5, top_p=1.0)])
def test_switches_that_keep_everything(cfg):
    assert torch.allclose(next_token_distribution(LOGITS, cfg), torch.softmax(LOGITS, -1))


@pytest.mark.parametrize("p", [0.0, 1e-9, 0.01, 0.5])
def test_tiny_p_keeps_only_the_top_token(p):
    greedy = next_token_distribution(LOGITS, GREEDY)
    assert torch.equal(next_token_distribution(LOGITS, SamplingConfig(top_p=p)), greedy)


@pytest.mark.parametrize("bad", [{"temperature": -0.1}, {"top_p": 1.5}, {"top_p": -0.1}])
def test_invalid_settings_raise(bad):
    with pytest.raises(ValueError):
        SamplingConfig(**bad)


def test_labels_name_the_settings():
    assert [SamplingConfig(**kw).label for kw in ({}, {"top_k": 5}, {"top_p": 0.9}, {"temperature": 0.7},
                                                  {"top_k": 0}, {"top_k": 3, "top_p": 0.5, "temperature": 2.0})] == [
        "pure sampling", "K=5", "P=0.9", "T=0.7", "pure sampling", "K=3, P=0.5, T=2"]


def test_tiny_temperatures_and_zero_probabilities_give_no_nan():
    logits = torch.tensor([[0.0, -float("inf"), 3.0, 1e4], [-float("inf"), 2.0, 2.0, -float("inf")]])  # (B, V)
    for cfg in (SamplingConfig(temperature=1e-30), SamplingConfig(temperature=1e-4, top_p=0.9),
                SamplingConfig(top_k=3), SamplingConfig(top_p=1.0), SamplingConfig(temperature=5.0, top_k=1)):
        p = next_token_distribution(logits, cfg)
        assert not p.isnan().any() and torch.allclose(p.sum(-1), torch.ones(2)), cfg
        assert p[0, 1] == 0 and p[1, 0] == 0 and p[1, 3] == 0, cfg


# ----- truncation on a (B, V) batch ------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 7, 39, 40])
def test_batched_top_k_keeps_exactly_k_and_sums_to_one(k):
    logits = _batch_logits()
    p = next_token_distribution(logits, SamplingConfig(top_k=k, temperature=0.8))  # (B, V)
    assert torch.allclose(p.sum(-1), torch.ones(len(p)))
    assert ((p > 0).sum(-1) == k).all()
    kept_min = torch.where(p > 0, logits, torch.inf).amin(-1)
    dropped_max = torch.where(p > 0, -torch.inf, logits).amax(-1)
    assert (kept_min > dropped_max).all()  # the k most probable, not any k
    assert torch.equal(p.argmax(-1), logits.argmax(-1))


@pytest.mark.parametrize("cfg", [SamplingConfig(), SamplingConfig(top_k=4), SamplingConfig(top_p=0.6),
                                 SamplingConfig(temperature=0.5, top_k=10, top_p=0.9), GREEDY])
def test_batched_distribution_equals_row_by_row(cfg):
    logits = _batch_logits()
    rows = torch.stack([next_token_distribution(row, cfg) for row in logits])
    assert torch.allclose(next_token_distribution(logits, cfg), rows)


@pytest.mark.parametrize("p", [0.05, 0.3, 0.62, 0.9, 0.99])
def test_batched_top_p_is_the_smallest_set_reaching_p(p):
    logits = _batch_logits(rows=20, vocab=300, seed=4)
    full = torch.softmax(logits, -1)
    kept = next_token_distribution(logits, SamplingConfig(top_p=p)) > 0  # (B, V)
    mass = (full * kept).sum(-1)
    smallest_kept = torch.where(kept, full, torch.inf).amin(-1)
    assert (mass >= p - 1e-6).all()  # reaches p ...
    assert (mass - smallest_kept < p + 1e-6).all()  # ... and one token fewer would not
    assert (smallest_kept > torch.where(kept, -torch.inf, full).amax(-1)).all()  # a most-probable set


def test_ties_go_to_the_lower_id_as_argmax_does():
    logits = torch.tensor([[1.0, 3.0, 0.0, 3.0, 3.0], [2.0, 2.0, 2.0, 2.0, 2.0]])
    p = next_token_distribution(logits, SamplingConfig(top_k=2))
    assert (p > 0).tolist() == [[False, True, False, True, False], [True, True, False, False, False]]
    greedy = next_token_distribution(logits, GREEDY)
    assert torch.equal(next_token_distribution(logits, SamplingConfig(top_k=1)), greedy)


def test_draw_follows_the_distribution_and_never_picks_zero_probability():
    probs = torch.tensor([0.0, 0.5, 0.0, 0.2, 0.3, 0.0])
    ids = draw(probs.expand(20000, -1), torch.Generator().manual_seed(0))  # (20000,) independent rows
    freq = torch.bincount(ids, minlength=len(probs)) / len(ids)
    assert torch.allclose(freq, probs, atol=0.015) and freq[[0, 2, 5]].sum() == 0


# ----- step by step, batches, seeds ------------------------------------------------------------
def test_step_by_step_records_what_the_model_saw():
    model = tiny_models()["transformer"].eval()
    cfg = SamplingConfig(temperature=0.7, top_k=8)
    steps = step_by_step(model, [2, 5], 10, cfg, torch.Generator().manual_seed(3), stop_at_eos=False)
    ids = [2, 5] + [s.token for s in steps]
    logits, _ = model(torch.tensor([ids[:-1]]))
    logits = logits[0, 1:]  # (10, V): the positions that predicted the sampled tokens
    tokens = torch.tensor(ids[2:])
    sampled = next_token_distribution(logits, cfg)
    assert torch.allclose(torch.tensor([s.model_prob for s in steps]),
                          torch.softmax(logits, -1).gather(-1, tokens[:, None])[:, 0], atol=1e-5)
    assert torch.allclose(torch.tensor([s.sampled_prob for s in steps]), sampled.gather(-1, tokens[:, None])[:, 0],
                          atol=1e-5)
    assert [s.rank for s in steps] == ranks(logits, tokens).tolist()
    assert all(s.rank <= 8 and s.kept == 8 for s in steps)


def test_empty_prompt_starts_from_eos():
    model = tiny_models()["gru"].eval()
    runs = [step_by_step(model, prompt, 6, SamplingConfig(), torch.Generator().manual_seed(0))
            for prompt in ([], [EOS_ID])]
    assert runs[0] == runs[1]
    assert generate(model, [], 3, GREEDY, torch.Generator())[0] == EOS_ID


class _AlwaysEOS(LanguageModel):
    """Puts (almost) all its mass on <eos>, whatever it reads."""

    def forward(self, idx, targets=None):
        logits = torch.zeros(*idx.shape, V)
        logits[..., EOS_ID] = 20.0
        return logits, None


def test_step_by_step_stops_at_eos_but_batches_do_not():
    model = _AlwaysEOS()
    assert [s.token for s in step_by_step(model, [5], 8, GREEDY, torch.Generator())] == [EOS_ID]
    assert len(step_by_step(model, [5], 8, GREEDY, torch.Generator(), stop_at_eos=False)) == 8
    assert sample_batch(model, [5], 3, 8, GREEDY, torch.Generator()).eq(EOS_ID).all()


@pytest.mark.parametrize("name", ["ffnn", "rnn", "lstm", "gru", "transformer", "ngram", "ngram-mle"])
def test_one_sample_batch_is_generate(name):
    model = _every_family()[name].eval()
    prompt = list(range(3, 23))  # 20 ids: with 12 more, longer than the tiny transformer's 16
    for cfg in (SamplingConfig(), SamplingConfig(top_k=5, temperature=0.8), SamplingConfig(top_p=0.9)):
        batch = sample_batch(model, prompt, 1, 12, cfg, torch.Generator().manual_seed(11))
        single = generate(model, prompt, 12, cfg, torch.Generator().manual_seed(11), stop_at_eos=False)
        assert batch.shape == (1, 12) and batch[0].tolist() == single[len(prompt) :], (name, cfg)


@pytest.mark.parametrize("name", ["ffnn", "gru", "transformer", "ngram-mle"])
def test_sample_batch_is_seeded(name):
    model = _every_family()[name].eval()
    cfg = SamplingConfig(top_p=0.95)
    a = sample_batch(model, [2, 7], 5, 15, cfg, torch.Generator().manual_seed(4))
    torch.manual_seed(99)  # the global RNG plays no part
    b, c = (sample_batch(model, [2, 7], 5, 15, cfg, torch.Generator().manual_seed(s)) for s in (4, 5))
    assert a.shape == (5, 15) and torch.equal(a, b) and not torch.equal(a, c)
    assert len({tuple(row) for row in a.tolist()}) > 1  # rows are independent draws
    assert sample_batch(model, [2], 3, 0, cfg, torch.Generator()).shape == (3, 0)


def test_zero_probability_tokens_are_never_sampled():
    model = _tiny_ngram(estimator="mle").eval()
    prompt = [2, 7]
    ids = torch.cat([torch.tensor([prompt] * 30), sample_batch(model, prompt, 30, 10, SamplingConfig(),
                                                                 torch.Generator().manual_seed(0))], 1)
    logits, _ = model(ids[:, :-1])
    assert torch.isfinite(logits[:, 1:].gather(-1, ids[:, 2:, None])).all()


def test_different_seeds_give_different_text():
    model = tiny_models()["lstm"].eval()
    texts = {tuple(generate(model, [2], 20, SamplingConfig(), torch.Generator().manual_seed(s), stop_at_eos=False))
             for s in range(5)}
    assert len(texts) == 5


# ----- beam search -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ffnn", "rnn", "lstm", "gru", "transformer", "ngram", "ngram-mle"])
def test_beam_one_is_greedy_on_tiny_models(name):
    model = _every_family()[name].eval()
    for prompt in ([2, 5], list(range(3, 23)), []):
        greedy = generate(model, prompt, 15, GREEDY, torch.Generator())
        result = beam_search(model, prompt, 15, beam=1)
        assert list(result.prompt + result.best.tokens) == greedy, (name, prompt)


@pytest.mark.parametrize("name", ["transformer", "ngram"])
def test_beam_one_is_greedy_on_shipped_models(name):
    bundle = _shipped(name)
    long = bundle.tokenizer.encode("once upon a time there was a little girl named lily . " * 7)  # > 64 ids
    for text_ids in ([2] + bundle.tokenizer.encode("the little dog ran to the park ."), [], long):
        greedy = generate(bundle.model, text_ids, 30, GREEDY, torch.Generator())
        result = beam_search(bundle.model, text_ids, 30, beam=1)
        assert list(result.prompt + result.best.tokens) == greedy, (name, len(text_ids))


def test_beam_one_stops_at_eos_like_greedy():
    result = beam_search(_AlwaysEOS(), [5], 8, beam=1)
    assert result.best.tokens == (EOS_ID,) and result.best.finished and len(result.steps) == 1


@pytest.mark.parametrize("alpha", [0.0, 0.8])
@pytest.mark.parametrize("name", ["ffnn", "lstm", "transformer", "ngram-mle"])
def test_beam_scores_are_the_models_log_probabilities(name, alpha):
    model = _every_family()[name].eval()
    prompt = [2, 5]
    result = beam_search(model, prompt, 8, beam=4, length_penalty=alpha)
    assert result == beam_search(model, prompt, 8, beam=4, length_penalty=alpha)  # deterministic
    for i, kept in enumerate(result.steps):
        scores = [h.score for h in kept]
        assert 1 <= len(kept) <= 4 and scores == sorted(scores, reverse=True)
        assert len(set(h.tokens for h in kept)) == len(kept)
        for h in kept:
            assert h.finished == (h.tokens[-1] == EOS_ID) and EOS_ID not in h.tokens[:-1]
            assert h.finished or len(h.tokens) == i + 1  # live hypotheses grow one token a step
            log_p = _log_probs_of(model, prompt, list(h.tokens))
            assert h.log_prob == pytest.approx(float(log_p.sum()), abs=1e-4)
            assert h.score == pytest.approx(h.log_prob / length_norm(len(h.tokens), alpha), abs=1e-9)
    assert result.best == result.steps[-1][0]


def test_wider_beams_keep_more_hypotheses_and_start_from_the_top_tokens():
    model = tiny_models()["transformer"].eval()
    result = beam_search(model, [2, 5], 3, beam=3)
    logits, _ = model(torch.tensor([[2, 5]]))
    top3 = torch.topk(logits[0, -1], 3).indices.tolist()
    assert [h.tokens for h in result.steps[0]] == [(t,) for t in top3]
    assert all(len(kept) == 3 for kept in result.steps)
    with pytest.raises(ValueError):
        beam_search(model, [2], 3, beam=0)


def _beam_step_by_full_sort(beam, logits, width, alpha):
    """The reference: rank every finished hypothesis and every (row, token) extension by one stable sort."""
    done, live = [h for h in beam if h.finished], [h for h in beam if not h.finished]
    log_p = torch.log_softmax(logits.double(), -1)
    total = torch.tensor([h.log_prob for h in live], dtype=torch.float64)[:, None] + log_p
    score = total / length_norm(len(live[0].tokens) + 1, alpha)
    pooled = torch.cat([torch.tensor([h.score for h in done], dtype=torch.float64), score.flatten()])
    order = pooled.sort(descending=True, stable=True).indices
    order = order[torch.isfinite(pooled[order])][:width]
    kept = []
    for i in order.tolist():
        if i < len(done):
            kept.append(done[i])
        else:
            row, token = divmod(i - len(done), log_p.size(-1))
            kept.append(Hypothesis(live[row].tokens + (token,), float(total[row, token]),
                                   float(score[row, token]), token == EOS_ID))
    return tuple(kept)


@pytest.mark.parametrize("width", [1, 2, 3, 7])
def test_beam_step_ranks_only_the_candidates_as_a_full_sort_would(width):
    gen = torch.Generator().manual_seed(width)
    for trial in range(30):
        live = [Hypothesis((5, 6 + r), -1.0 * r, -1.0 * r, False) for r in range(3)]
        done = [Hypothesis((4, EOS_ID), -2.5, -2.5, True)]
        # Rounded logits make many ties, and -inf makes impossible tokens: the cases where order matters.
        logits = torch.round(torch.randn(3, 12, generator=gen) * 2) / 2
        logits[:, trial % 12] = -float("inf")
        beam = tuple(done + live)
        for alpha in (0.0, 0.6):
            assert _beam_step(beam, logits, width, alpha)[0] == _beam_step_by_full_sort(beam, logits, width, alpha)


@pytest.mark.parametrize("name", ["ngram", "ffnn", "lstm", "transformer"])
def test_samples_decoded_together_are_each_generators_own(name):
    """Several samples in one batch: row i is what its generator gives alone, ending at its own <eos>."""
    model = _every_family()[name]
    cfg = SamplingConfig(temperature=1.3)
    together = samples_step_by_step(model, [EOS_ID, 5, 6], 12, cfg, [torch.Generator().manual_seed(s) for s in
                                                                     range(4)])
    alone = [step_by_step(model, [EOS_ID, 5, 6], 12, cfg, torch.Generator().manual_seed(s)) for s in range(4)]
    assert [[st.token for st in steps] for steps in together] == [[st.token for st in steps] for steps in alone]
    for a, b in zip(together, alone, strict=True):
        assert [st.model_prob for st in a] == pytest.approx([st.model_prob for st in b], abs=1e-5)
        assert all(st.token != EOS_ID for st in a[:-1])
