"""Compare models: the page's numbers are each model's forward, the evaluator's perplexity, the recorded curves."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models.check_text import CHECK_TEXT
from models.context_curve import POSITIONS, blocks, loss_by_position
from models.data import encode_stream
from models.evaluate import evaluate_text
from models.inputs import model_input
from models.readings.compare import rank_bin, score_sentence
from models.registry import LM_NAMES, label, load

from .apptest import figure, open_page, values
from .conftest import V, tiny_models

PAGE = "pages/views/compare.py"
SENTENCE = "the little dog found a red ball in the garden and he was happy ."


@pytest.fixture(scope="module")
def bundles():
    return {n: load(n, "cpu") for n in LM_NAMES}


@pytest.fixture(scope="module")
def page():
    return open_page(PAGE, SENTENCE)


def _table(at, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_page_perplexity_is_the_evaluators(page, bundles):
    table = _table(page, "total bits")
    for name, bundle in bundles.items():
        row = table[table["model"] == label(name)].iloc[0]
        expect = evaluate_text(bundle.model, bundle.tokenizer, SENTENCE)["perplexity"]
        assert row["perplexity"] == pytest.approx(expect, rel=1e-4), name


def test_heatmap_cells_are_each_models_forward(page, bundles):
    z = values(figure(page, "cmp_surprisal")["data"][0]["z"])  # (M, T) bits
    ids = model_input(bundles["ngram"].tokenizer, SENTENCE).ids
    for m, (name, bundle) in enumerate(bundles.items()):
        with torch.no_grad():
            logits, _ = bundle.model(torch.tensor([ids]))
        logp = F.log_softmax(logits[0, :-1].float(), -1).gather(1, torch.tensor(ids[1:])[:, None])[:, 0]
        assert np.allclose(z[m], -logp.numpy() / math.log(2), atol=1e-3), name


def test_ranks_and_winners(bundles):
    scores = score_sentence({n: (b.model, b.tokenizer) for n, b in bundles.items()}, SENTENCE)
    ids = model_input(bundles["ngram"].tokenizer, SENTENCE).ids
    with torch.no_grad():
        logits, _ = bundles["lstm"].model(torch.tensor([ids]))
    lp = F.log_softmax(logits[0, :-1].float(), -1)
    for t, target in enumerate(ids[1:]):
        assert scores.ranks[scores.models.index("lstm"), t] == int((lp[t] > lp[t, target]).sum()) + 1
    assert (scores.logp[scores.winners, np.arange(len(ids) - 1)] == scores.logp.max(0)).all()
    assert [rank_bin(r) for r in (1, 2, 10, 11, 100, 101)] == ["top-1", "top-10", "top-10", "top-100", "top-100",
                                                              "beyond"]


def test_changing_the_rank_model_changes_its_figure(page):
    before = values(figure(page, "cmp_ranks")["data"][0]["y"])
    page.selectbox(key="cmp_model").select("ngram").run()
    assert not page.exception
    assert not np.array_equal(values(figure(page, "cmp_ranks")["data"][0]["y"]), before)


def test_loss_by_position_is_each_prefix_scored_alone():
    """Position t of a block is predicted from the t tokens before it, and from nothing earlier."""
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(3, V, (3 * 17 + 5,), generator=gen)
    for name, model in tiny_models().items():
        model.eval()
        curve = loss_by_position(model, ids, positions=16, batch=2)
        cut = blocks(ids, 16)
        by_hand = np.zeros(16)
        for row in cut:
            for t in range(1, 17):
                with torch.no_grad():
                    logits, _ = model(row[:t][None])
                by_hand[t - 1] += -float(F.log_softmax(logits[0, -1], -1)[row[t]])
        assert np.allclose(curve, by_hand / len(cut), atol=1e-4), name


def test_recorded_curves_are_what_the_evaluator_computes(bundles):
    for name, bundle in bundles.items():
        stored = bundle.meta["loss_by_position"]
        assert len(stored["valid"]["nats"]) == POSITIONS and stored["valid"]["blocks"] > 1000
        again = loss_by_position(bundle.model, encode_stream(bundle.tokenizer, CHECK_TEXT))
        assert np.allclose(stored["check"]["nats"], again, atol=1e-3), name


def test_context_helps_only_as_far_as_each_model_reads(bundles):
    """The n-gram is flat after position 2 and the FFNN after 4; the models with a longer reach keep improving.

    Single positions wiggle by ±0.1 nats (each position holds different tokens, the same for every model), so the
    test compares means over positions.
    """
    curve = {n: np.asarray(b.meta["loss_by_position"]["valid"]["nats"]) for n, b in bundles.items()}
    late = {n: c[39:].mean() for n, c in curve.items()}  # positions 40..64
    assert abs(curve["ngram"][2:12].mean() - late["ngram"]) < 0.06  # positions 3..12
    assert abs(curve["ffnn"][4:14].mean() - late["ffnn"]) < 0.06  # positions 5..14
    for name in ("lstm", "gru", "transformer"):
        assert late[name] < curve[name][4:14].mean() - 0.1, name


def test_page_curves_are_the_manifests(page, bundles):
    traces = {t["name"]: values(t["y"]) for t in figure(page, "cmp_positions")["data"]}
    for name, bundle in bundles.items():
        assert np.allclose(traces[label(name)], bundle.meta["loss_by_position"]["valid"]["nats"], atol=1e-4)


def test_unknown_words_only_get_a_message():
    at = open_page(PAGE, "zzyzx qwxv plorth")
    assert not at.exception
    assert any("outside the 5,502-word vocabulary" in i.value for i in at.info)


def test_empty_sentence_gets_a_message():
    at = open_page(PAGE, "   ")
    assert not at.exception
    assert any("empty" in i.value for i in at.info)
