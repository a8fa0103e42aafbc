"""Vanishing gradients page: every figure is measured, and the sliders recompute what they control."""
from __future__ import annotations

import numpy as np
import torch

from models.gradients import jacobian_products
from models.registry import load

from .apptest import figure, open_page, values

PAGE = "pages/views/rnn_gradients.py"
SENTENCE = "lily had a red ball and she played with it all day"


def test_product_curves_are_the_models_jacobians():
    at = open_page(PAGE, SENTENCE)
    assert not [c for c in at.get("plotly_chart") if "grad_products" in c.proto.id]  # a new sentence waits
    at.button(key="grad_measure").click().run()
    fig = figure(at, "grad_products")
    bundle = load("lstm", "cpu")
    jp = jacobian_products(bundle.model, torch.tensor([2] + bundle.tokenizer.encode(SENTENCE)))
    lstm = next(t for t in fig["data"] if t["name"] == "LSTM")
    assert np.allclose(values(lstm["y"]), jp.product_norms, rtol=1e-4)
    assert len(fig["frames"]) == len(jp.product_norms)  # play adds one factor at a time
    at.slider(key="grad_w").set_value(1.1).run()  # another section's control: the measured curves stay
    assert figure(at, "grad_products") == fig


def test_scalar_and_matrix_sliders():
    at = open_page(PAGE, SENTENCE)
    at.slider(key="grad_w").set_value(1.2).run()
    assert np.isclose(values(figure(at, "grad_scalar")["data"][0]["y"])[-1], 1.2**100, rtol=1e-6)
    before = values(figure(at, "grad_matrix")["data"][0]["y"])
    at.slider(key="grad_scale").set_value(1.5).run()
    assert not at.exception
    assert np.all(values(figure(at, "grad_matrix")["data"][0]["y"]) > before)
    assert "ρ" in figure(at, "grad_eigen")["layout"]["title"]["text"]


def test_clipping_run_changes_with_gamma():
    at = open_page(PAGE, SENTENCE)
    norms = values(figure(at, "grad_clipping")["data"][1]["y"])
    assert norms.max() > 1.0  # the unclipped run spikes past γ = 1
    at.select_slider(key="grad_gamma").set_value(0.25).run()
    assert not at.exception
    assert figure(at, "grad_clipping")["layout"]["shapes"][0]["y0"] == 0.25


def test_a_class_on_the_same_sentence_measures_once(monkeypatch):
    """The Jacobians are shared across sessions by (model, sentence): the second student's button costs nothing."""
    from models.readings import gradients as readings

    calls = []
    real = readings.products
    monkeypatch.setattr(readings, "products", lambda m, tok, text, n: calls.append(text) or real(m, tok, text, n))
    sentence = "the class shares one sentence about a green frog"
    students = [open_page(PAGE, sentence) for _ in range(2)]
    assert calls == []  # a new sentence computes no Jacobians until asked
    for at in students:
        at.button(key="grad_measure").click().run()
    assert calls == [sentence] * 3  # rnn, lstm and gru once, for both students
    assert figure(students[0], "grad_products") == figure(students[1], "grad_products")
