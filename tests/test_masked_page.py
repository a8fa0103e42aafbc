"""Masked LM page: the fill-in numbers are the models' own, the leak is measured on the shipped models, bad input
gets a message."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.checkpoint import read_manifest
from models.inputs import model_input
from models.readings.stacked import read_directions
from models.registry import load

from .apptest import figure, open_page, values

PAGE = "pages/views/masked.py"
SENTENCE = "the little dog ran to the park and the dog was happy ."


@pytest.fixture(scope="module")
def models():
    return {name: load(name, "cpu") for name in ("mlm", "transformer", "lstm", "lstm2", "fra-additive")}


def _texts(at) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "html", "info", "warning") for e in at.get(kind))


def test_fill_in_numbers_are_the_models_outputs(models):
    at = open_page(PAGE, SENTENCE)
    at.selectbox(key="mlm_word").set_value(2).run()  # "little"
    assert not at.exception
    mlm, causal = models["mlm"], models["transformer"]
    ids = model_input(mlm.tokenizer, SENTENCE, 64).ids
    x = torch.tensor([ids])
    x[0, 2] = mlm.model.mask_id
    with torch.no_grad():
        both = torch.softmax(mlm.model(x)[0][0, 2], -1)
        both[mlm.model.mask_id] = 0
        left = torch.softmax(causal.model(torch.tensor([ids[:2]]))[0][0, -1], -1)
    bars = figure(at, "mlm_fill")["data"]
    for bar, probs in zip(bars[:2], (both, left), strict=False):
        top = torch.topk(probs, 10)
        assert np.allclose(values(bar["x"]), top.values.numpy(), atol=1e-4)
        words = [mlm.tokenizer.vocab.itos[i] for i in top.indices.tolist()]
        assert [y.split(". ", 1)[1] for y in bar["y"]] == words
    # The rescored list: the MLM's 10 candidates, ordered by the causal chain-rule log P(sentence).
    cands = [mlm.tokenizer.vocab.itos[i] for i in torch.topk(both, 10).indices.tolist()]
    logp = []
    for w in cands:
        row = list(ids)
        row[2] = mlm.tokenizer.vocab.stoi[w]
        with torch.no_grad():
            lp = torch.log_softmax(causal.model(torch.tensor([row]))[0][0, :-1], -1)
        logp.append(float(lp.gather(-1, torch.tensor(row[1:])[:, None]).sum()))
    order = np.argsort(logp)[::-1]
    assert [y.split(". ", 1)[1] for y in bars[2]["y"]] == [cands[i] for i in order]
    share = np.exp(np.array(logp) - max(logp))
    assert np.allclose(values(bars[2]["x"]), (share / share.sum())[order], atol=1e-4)
    assert "lecture's BERT is the first list" in _texts(at)


def test_masking_another_word_changes_the_fill_in():
    at = open_page(PAGE, SENTENCE)
    before = figure(at, "mlm_fill")["data"][0]["y"]
    at.selectbox(key="mlm_word").set_value(7).run()
    assert not at.exception
    assert figure(at, "mlm_fill")["data"][0]["y"] != before


def test_the_leak_is_measured_on_the_shipped_models():
    """Changing a later word moves the MLM's outputs and the backward RNN's states at earlier positions; the
    causal transformer's, the LSTM's and the forward RNN's stay exactly where they were."""
    at = open_page(PAGE, SENTENCE)
    bars = {bar["name"]: np.nan_to_num(values(bar["y"])) for bar in figure(at, "mlm_leak")["data"]}
    assert bars["MLM p(x_i | rest)"].max() > 1e-3 and bars["bi-RNN ←h_i"].max() > 1e-3
    for name in ("transformer p(· | x_≤i)", "LSTM h_i", "bi-RNN →h_i"):
        assert bars[name].max() < 1e-5, name


def test_mlm_output_depends_on_later_tokens_causal_does_not(models):
    ids = torch.tensor([model_input(models["mlm"].tokenizer, SENTENCE, 64).ids])
    other = ids.clone()
    other[0, 10] = models["mlm"].tokenizer.vocab.stoi["cat"]
    with torch.no_grad():
        for name, moves in (("mlm", True), ("transformer", False)):
            a, b = (models[name].model(x)[0][0, :10] for x in (ids, other))  # positions before 10
            assert bool((a - b).abs().max() > 1e-3) == moves, name


def test_directions_are_the_encoder_halves(models):
    at = open_page(PAGE, SENTENCE)
    d = read_directions(models["fra-additive"].model, SENTENCE)
    data = figure(at, "mlm_dirs")["data"]
    assert np.allclose(values(data[0]["z"]), d.forward.T, atol=1e-5)
    assert np.allclose(values(data[1]["z"]), d.backward.T, atol=1e-5)
    with torch.no_grad():
        src, _ = models["fra-additive"].model.source_ids(SENTENCE)
        h, _, thought, _ = models["fra-additive"].model.encode(torch.tensor([src]))
    assert np.allclose(d.thought, thought[0].numpy(), atol=1e-5)  # c = [→h_S; ←h_1]


def test_stack_section_shows_each_layer_and_the_manifest(models):
    at = open_page(PAGE, SENTENCE)
    tr = models["lstm2"].model.trace(torch.tensor([model_input(models["lstm2"].tokenizer, SENTENCE, 64).ids]))
    data = figure(at, "mlm_stack")["data"]
    assert len(data) == 2
    for layer in range(2):
        assert np.allclose(values(data[layer]["z"]), tr.layers[0, layer].numpy().T, atol=1e-5)
    metrics = {m.label: m.value for m in at.metric}
    manifest = read_manifest()
    assert metrics["2 layers: valid perplexity"] == f"{manifest['lstm2']['valid_ppl']:.2f}"
    assert metrics["1 layer: valid perplexity"] == f"{manifest['lstm']['valid_ppl']:.2f}"


def test_probe_answers_are_the_mlms(models):
    at = open_page(PAGE, SENTENCE)
    at.text_input(key="mlm_probe").set_value("the sky is ___ .").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "p MLM" in d.value.columns and "MLM" in d.value.columns
                 and "rank" not in d.value.columns)
    mlm = models["mlm"]
    ids = model_input(mlm.tokenizer, "the sky is", None).ids + [mlm.model.mask_id] + \
        model_input(mlm.tokenizer, ".", None).ids[1:]
    with torch.no_grad():
        p = torch.softmax(mlm.model(torch.tensor([ids]))[0][0, 4], -1)
    p[mlm.model.mask_id] = 0
    top = torch.topk(p, 5)
    assert list(table["MLM"]) == [mlm.tokenizer.vocab.itos[i] for i in top.indices.tolist()]
    assert np.allclose(table["p MLM"].to_numpy(), top.values.numpy(), atol=1e-4)


@pytest.mark.parametrize(("sentence", "message"), [
    ("", "Type a sentence"),  # no word to mask
    ("the dog ran . " * 500, "are used"),  # 5,000 characters: cut, with a note
    ("🙂 日本語", "Not in the vocabulary"),  # no known word: the models read <unk>
])
def test_bad_sentences_get_a_message(sentence, message):
    at = open_page(PAGE, sentence)
    assert not at.exception, [e.value for e in at.exception]
    assert message in _texts(at)


def test_masking_an_unknown_word_says_so():
    at = open_page(PAGE, "the zyzzyvas sat on the mat .")
    assert "Not in the vocabulary (read as <unk>): zyzzyvas" in _texts(at)
    at.selectbox(key="mlm_word").set_value(2).run()
    assert not at.exception
    assert "“zyzzyvas” is not in the vocabulary: every model reads it as <unk>" in _texts(at)


@pytest.mark.parametrize(("probe", "message"), [
    ("the sky is blue .", "exactly one blank"),
    ("the ___ is ___ .", "only one blank"),
    ("the ___ is xyzzyq .", "Not in the vocabulary"),
])
def test_bad_probes_get_a_message(probe, message):
    at = open_page(PAGE, SENTENCE)
    at.text_input(key="mlm_probe").set_value(probe).run()
    assert not at.exception
    assert message in _texts(at)


def test_unknown_replacement_word_gets_a_message():
    at = open_page(PAGE, SENTENCE)
    box = next(t for t in at.text_input if t.key.startswith("mlm_leak_new"))
    box.set_value("xyzzyq").run()
    assert not at.exception
    assert "is not in the models' vocabulary" in _texts(at)
