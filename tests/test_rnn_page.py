"""RNN hidden states page: the heatmap is the model's h_t, and the controls move what is shown."""
from __future__ import annotations

import numpy as np
import torch

from models.registry import load

from .apptest import figure, open_page, values

PAGE = "pages/views/rnn.py"
SENTENCE = "the little dog ran to the park ."


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
