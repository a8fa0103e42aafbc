"""RNN hidden states page: the heatmap is the model's h_t, and the controls move what is shown."""
from __future__ import annotations

import re

import numpy as np
import torch

from models.registry import load

from .apptest import figure, open_page, values

PAGE = "pages/views/rnn.py"
SENTENCE = "the little dog ran to the park ."


def _latex(at) -> list[str]:
    return [re.sub(r"\s+", "", el.value) for el in at.latex]


def _text(at) -> str:
    return " ".join(el.value for el in [*at.markdown, *at.caption])


def _heatmap(at) -> np.ndarray:
    return values(figure(at, "rnn_animation")["data"][0]["z"])


def test_heatmap_is_the_models_hidden_states():
    at = open_page(PAGE, SENTENCE)
    bundle = load(at.selectbox(key="rnn_model").value, "cpu")
    ids = [2] + bundle.tokenizer.encode(SENTENCE)
    h = bundle.model.trace(torch.tensor([ids])).h[0].numpy().T  # (H, T)
    assert np.allclose(_heatmap(at), h, atol=1e-4)
    fig = figure(at, "rnn_animation")
    assert len(fig["frames"]) == len(ids)  # one browser-side frame per word
    assert fig["layout"]["updatemenus"][0]["buttons"][0]["method"] == "animate"


def test_changing_the_sentence_changes_the_heatmap():
    at = open_page(PAGE, SENTENCE)
    before = _heatmap(at)
    at.text_area(key="sentence").set_value("a cat sat on a mat and slept .").run()
    assert not at.exception
    assert _heatmap(at).shape != before.shape or not np.allclose(_heatmap(at), before)


def test_step_slider_changes_the_distribution_shown():
    at = open_page(PAGE, SENTENCE)
    first = at.dataframe[0].value.copy()
    at.slider(key="rnn_step").set_value(2).run()
    assert not at.exception
    assert not first.equals(at.dataframe[0].value)
    assert abs(at.dataframe[0].value["probability"].sum() - 1) < 1  # a top-10 slice of a distribution


def test_free_running_reads_its_own_words():
    at = open_page(PAGE, SENTENCE)
    at.slider(key="rnn_free_from").set_value(2).run()
    teacher, free = at.dataframe[1].value, at.dataframe[2].value
    assert list(teacher["reads"][:2]) == list(free["reads"][:2])
    assert list(free["reads"][2:]) == list(free["predicts"][1:-1])  # fed its own predictions
    distance = values(figure(at, "rnn_divergence")["data"][0]["y"])
    assert np.allclose(distance[:2], 0, atol=1e-5)


def test_numbers_behind_the_heatmap_on_request():
    at = open_page(PAGE, SENTENCE)
    at.toggle(key="rnn_numbers").set_value(True).run()
    table = next(df.value for df in at.dataframe if "unit 0" in df.value.columns)
    assert np.allclose(table["unit 0"].to_numpy(), _heatmap(at)[0], atol=1e-5)
    assert list(table["word"])[:2] == ["<eos>", "the"]


def test_output_layer_names_collide_with_nothing():
    """Issue 13, error 5: softmax(V h_t + c) used c (the LSTM's cell) for the bias and V for the matrix and |V|."""
    at = open_page(PAGE, SENTENCE)
    output = next(eq for eq in _latex(at) if "softmax" in eq)
    assert not re.search(r"\+c\)", output)  # no output bias named c
    assert r"W_{\text{out}}" in output and r"b_{\text{out}}" in output
    assert not any(re.search(r"(?<![_|])V(h_t|\\in)", eq) for eq in _latex(at))  # V is no matrix on the page
    vocab = load("rnn", "cpu").model.config.vocab_size
    text = _text(at)
    assert f"|V| = {vocab:,}" in text and "output layer V" not in text
    assert "W_hh" in text and "e_t = E x_t" in text  # the lecture's names, said once


def test_gru_shows_torchs_form_and_the_lectures():
    """Issue 13, error 2: both GRU conventions, and which one our model (torch) computes."""
    at = open_page(PAGE, SENTENCE)
    at.selectbox(key="rnn_model").set_value("gru").run()
    eqs = "".join(_latex(at))
    assert r"h_t=(1-z_t)\odotn_t+z_t\odoth_{t-1}" in eqs and r"r_t\odot(U_nh_{t-1}+b'_n)" in eqs  # ours
    assert r"h_t=(1-z_t)\odoth_{t-1}+z_t\odot\hath_t" in eqs and r"U_h(r_t\odoth_{t-1})" in eqs  # the lecture's
    text = _text(at)
    assert "our GRU, computes the first line" in text and "Our z_t is the lecture's 1 − z_t" in text
