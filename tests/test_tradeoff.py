"""Quality–diversity trade-off: distinct-n by hand, log-likelihood against a manual loop, reproducible sweeps."""
from __future__ import annotations

import pytest
import torch

from models.inputs import model_input
from models.ngram import NGramConfig, NGramLM
from models.registry import load
from models.sampling import SamplingConfig, generate, sample_batch, step_by_step
from models.tradeoff import (
    KINDS,
    default_settings,
    distinct_n,
    mean_log_likelihood,
    sweep,
    trade_off_point,
)

from .conftest import V, tiny_models


def test_distinct_n_by_hand():
    samples = [[1, 2, 3], [1, 2, 4]]
    assert distinct_n(samples, 1) == 4 / 6  # 1 2 3 1 2 4: four distinct of six
    assert distinct_n(samples, 2) == 3 / 4  # (1 2) (2 3) (1 2) (2 4)
    assert distinct_n(samples, 3) == 2 / 2
    assert distinct_n([[5, 5, 5, 5]], 1) == 1 / 4 and distinct_n([[5, 5, 5, 5]], 2) == 1 / 3


def test_distinct_n_never_crosses_samples_and_handles_short_ones():
    assert distinct_n([[1, 2], [3, 4]], 2) == 1.0  # no (2 3): that bigram spans two samples
    assert distinct_n([[1], [2]], 2) == 0.0 and distinct_n([], 1) == 0.0
    assert distinct_n([[1], [7, 7, 7]], 2) == 1 / 2  # only the second sample has bigrams


@torch.no_grad()
def _manual_mean_log_likelihood(model, prompt: list[int], samples: torch.Tensor) -> float:
    """One forward per sampled token over its whole history."""
    total = []
    for row in samples.tolist():
        for t, token in enumerate(row):
            logits, _ = model(torch.tensor([prompt + row[:t]]))
            total.append(float(torch.log_softmax(logits[0, -1], -1)[token]))
    return sum(total) / len(total)


@pytest.mark.parametrize("name", ["transformer", "lstm", "ffnn", "ngram"])
def test_mean_log_likelihood_matches_a_manual_loop(name):
    stream = torch.randint(3, V, (500,), generator=torch.Generator().manual_seed(1)).numpy()
    model = {**tiny_models(), "ngram": NGramLM.from_ids(stream, NGramConfig(vocab_size=V))}[name].eval()
    samples = torch.randint(3, V, (3, 5), generator=torch.Generator().manual_seed(2))
    prompt = [2, 9, 4]
    assert mean_log_likelihood(model, prompt, samples) == pytest.approx(
        _manual_mean_log_likelihood(model, prompt, samples), abs=1e-5)


def test_mean_log_likelihood_windows_to_max_len():
    model = tiny_models()["transformer"].eval()  # max_len 16
    samples = torch.randint(3, V, (4, 6), generator=torch.Generator().manual_seed(5))
    prompt = list(range(3, 33))  # 30 ids: only the last 16 - (6 - 1) = 11 fit beside the samples
    assert mean_log_likelihood(model, prompt, samples) == mean_log_likelihood(model, prompt[-11:], samples)
    with pytest.raises(ValueError):
        mean_log_likelihood(model, prompt, torch.randint(3, V, (2, 17)))


def test_default_settings():
    for kind in KINDS:
        settings = default_settings(kind)
        assert len(settings) == 8 and len({cfg.label for cfg in settings}) == 8
    assert [cfg.top_k for cfg in default_settings("top_k")] == [1, 2, 5, 10, 20, 50, 100, None]
    assert default_settings("top_p")[0].top_p == 0.1 and default_settings("top_p")[-1].top_p == 1.0
    temperatures = [cfg.temperature for cfg in default_settings("temperature")]
    assert temperatures == sorted(temperatures) and temperatures[0] == 0.3 and temperatures[-1] == 1.5
    with pytest.raises(ValueError):
        default_settings("beam")


def test_sweep_points_reproduce_alone_and_together():
    models = tiny_models()
    sampler, scorer = models["gru"].eval(), models["transformer"].eval()
    settings = default_settings("top_p")
    args = dict(n_samples=6, n_tokens=8, seed=3)
    points = sweep(sampler, scorer, [2, 5], settings, **args)
    assert points == sweep(sampler, scorer, [2, 5], settings, **args)
    assert points[4] == trade_off_point(sampler, scorer, [2, 5], settings[4], **args)
    assert points[4] == sweep(sampler, scorer, [2, 5], settings[4:5], **args)[0]
    assert [p.label for p in points] == [cfg.label for cfg in settings]
    assert points != sweep(sampler, scorer, [2, 5], settings, n_samples=6, n_tokens=8, seed=4)


def test_k_one_on_the_shipped_transformer_is_greedy_and_least_diverse():
    bundle = load("transformer", "cpu")
    model = bundle.model
    prompt = model_input(bundle.tokenizer, "once upon a time there was a little girl named lily .").ids
    S, N = 10, 12
    points = sweep(model, model, prompt, default_settings("top_k"), n_samples=S, n_tokens=N, seed=0)
    greedy = generate(model, prompt, N, SamplingConfig(greedy=True), torch.Generator(), stop_at_eos=False)[len(prompt):]
    first = points[0]
    # k = 1 draws the greedy text S times, so its n-grams are those of one text: at most 1/S of them distinct.
    assert first.distinct_1 == len(set(greedy)) / (S * N) and first.distinct_2 <= 1 / S
    assert all(first.distinct_2 <= p.distinct_2 for p in points[1:])
    steps = step_by_step(model, prompt, N, SamplingConfig(top_k=1), torch.Generator(), stop_at_eos=False)
    per_token = torch.tensor([s.model_prob for s in steps]).log().mean()
    assert first.mean_log_likelihood == pytest.approx(float(per_token), abs=1e-4)  # the scorer is the sampler
    samples = sample_batch(model, prompt, S, N, SamplingConfig(top_k=1), torch.Generator())
    assert (samples == torch.tensor(greedy)).all()
