"""Sampling invariants: top-k 1 is greedy, distributions sum to 1, truncation keeps the right set."""
from __future__ import annotations

import pytest
import torch

from models.ngram import NGramConfig, NGramLM
from models.sampling import SamplingConfig, generate, next_token_distribution, ranks, top_k_table

from .conftest import tiny_models

LOGITS = torch.log(torch.tensor([0.05, 0.5, 0.2, 0.15, 0.1]))


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
