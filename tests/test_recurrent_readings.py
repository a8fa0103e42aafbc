"""Readings of the recurrent pages (models/readings): what they return is the model's own numbers, as numpy."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.gradients import input_gradient_norms, jacobian_products
from models.inputs import model_input
from models.probes import FEATURES
from models.readings import gates, gradients, recurrent
from models.rnn import RecurrentLM, RNNConfig

from .conftest import V, tiny_tokenizer, tiny_word

TEXT = " ".join(tiny_word(i) for i in (4, 9, 2, 30, 7, 11, 4, 20))


def _model(cell: str) -> RecurrentLM:
    torch.manual_seed(3)
    return RecurrentLM(RNNConfig(V, cell, 8, 6, dropout=0.0)).eval().requires_grad_(False)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_read_is_the_trace_through_model_input(cell):
    model, tok = _model(cell), tiny_tokenizer()
    reading = recurrent.read(model, tok, TEXT)
    ids = model_input(tok, TEXT).ids
    tr = model.trace(torch.tensor([ids]))
    assert reading.inputs == ["<eos>", *TEXT.split()] and not reading.cut
    assert isinstance(reading.states, np.ndarray) and np.allclose(reading.states, tr.h[0].numpy())
    assert all(isinstance(v, np.ndarray) for v in reading.parts.values())
    assert reading.true_next[:-1] == TEXT.split() and reading.true_next[-1] == ""
    cut = recurrent.read(model, tok, TEXT, max_steps=4)
    assert cut.cut and cut.inputs == reading.inputs[:4] and np.allclose(cut.states, reading.states[:4])


def test_free_run_reads_its_own_words_and_drifts_only_after():
    model, tok = _model("lstm"), tiny_tokenizer()
    teacher, free = recurrent.read(model, tok, TEXT), recurrent.free_run(model, tok, TEXT, 3)
    assert free.inputs[:4] == teacher.inputs[:4] and len(free.inputs) == len(teacher.inputs)
    assert free.inputs[4:] == [w[0] for w in free.top_words[3:-1]]  # fed its own most probable word
    distance = recurrent.drift(teacher, free)
    assert np.allclose(distance[:4], 0, atol=1e-6)


def test_survival_and_the_highway_use_the_gate_that_keeps_the_state():
    keep = np.array([[0.5, 1.0], [0.5, 0.9], [0.2, 0.8], [1.0, 0.5]])  # (T, H)
    carried = gates.survival(keep, 1)
    assert np.all(np.isnan(carried[:, 0]))
    assert np.allclose(carried[:, 1:], [[1.0, 0.2, 0.2], [1.0, 0.8, 0.4]])
    model, tok = _model("gru"), tiny_tokenizer()
    reading = recurrent.read(model, tok, TEXT)
    way = gates.highway(reading, "gru", 0)
    z = reading.parts["z"]  # torch's z: the share of h_{t−1} kept (the lecture's 1 − z)
    assert np.allclose(way.carried[:, -1], np.prod(z[1:], axis=0))
    assert way.median == pytest.approx(float(np.median(np.prod(z[1:], axis=0))))


def test_gate_summary():
    summary = gates.gate_summary(np.array([[0.95, 0.05], [0.5, 0.99]]))
    assert (summary.mean, summary.open_share, summary.closed_share) == (pytest.approx(0.6225), 0.5, 0.25)


def test_unit_finder_ranks_units_by_correlation():
    model = _model("lstm")
    found = gates.unit_finder(model, tiny_tokenizer(), per_feature=3)
    assert len(found.unit) == 3 * len(FEATURES) and set(found.feature) == set(FEATURES)
    for j in range(len(FEATURES)):
        r = np.abs(found.r[3 * j : 3 * j + 3])
        assert np.all(np.diff(r) <= 1e-12)  # best first


def test_products_and_the_matrix_picture_are_the_models_jacobians():
    model, tok = _model("rnn"), tiny_tokenizer()
    prod = gradients.products(model, tok, TEXT, max_steps=30)
    jp = jacobian_products(model, torch.tensor(model_input(tok, TEXT).ids))
    assert np.allclose(prod.product_norms, jp.product_norms) and np.allclose(prod.step_norms, jp.step_norms)
    matrix = gradients.recurrent_matrix(model)
    assert np.allclose(matrix.U, model.rnn.weight_hh_l0.double().numpy())
    same = gradients.matrix_picture(matrix, prod.h, 1.0)
    assert np.allclose(same.product_norms, prod.product_norms, rtol=1e-4)  # at s = 1 it is the model's product
    doubled = gradients.matrix_picture(matrix, prod.h, 2.0)
    assert doubled.radius == pytest.approx(2 * same.radius)
    assert np.allclose(np.sort_complex(doubled.eigenvalues), np.sort_complex(2 * np.linalg.eigvals(matrix.U)))


def test_word_gradients():
    model, tok = _model("gru"), tiny_tokenizer()
    context, answer = gradients.last_word_split(tok, TEXT)
    assert answer == tiny_word(20) and context == " ".join(TEXT.split()[:-1])
    grads = gradients.word_gradients(model, tok, context, answer)
    ids = model_input(tok, context).ids
    target = tok.vocab.stoi[answer]
    assert np.allclose(grads.norms, input_gradient_norms(model, torch.tensor(ids), target))
    logits, _ = model(torch.tensor([ids]))
    assert grads.p == pytest.approx(torch.softmax(logits[0, -1], -1)[target].item(), rel=1e-5)
    assert grads.tokens[0] == "<eos>" and len(grads.tokens) == len(ids)


def test_scalar_powers_and_clipping_runs():
    assert np.allclose(gradients.scalar_powers(0.9, 3), [0.9, 0.81, 0.729])
    seen = []
    runs = gradients.clipping_runs(1.0, 0.5, progress=seen.append)
    assert list(runs) == ["no clipping", "clipping at γ = 1"]
    assert seen[-1] == pytest.approx(1.0) and all(a <= b for a, b in zip(seen, seen[1:], strict=False))
    assert runs["clipping at γ = 1"].final_loss == pytest.approx(runs["clipping at γ = 1"].losses[-20:].mean())
