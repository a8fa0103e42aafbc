"""Seq2seq & attention page: the heatmap is translate(...).attention; controls and the worked example."""
from __future__ import annotations

import numpy as np

from models.registry import load

from .apptest import figure, open_page, values

PAGE = "pages/views/seq2seq.py"


def _dates(at, model: str = "dates-additive", source: str = "saturday 21 nov 2026"):
    at.radio(key="s2s_task").set_value("dates").run()
    at.selectbox(key="s2s_model").set_value(model).run()
    at.selectbox(key="s2s_pick_dates").set_value(source).run()
    assert not at.exception
    return at


def test_heatmap_is_the_translation_attention():
    at = _dates(open_page(PAGE))
    expected = load("dates-additive", "cpu").model.translate("saturday 21 nov 2026").attention.numpy()
    assert np.allclose(values(figure(at, "s2s_alignment")["data"][0]["z"]), expected, atol=1e-4)


def test_model_and_input_change_the_figure():
    at = _dates(open_page(PAGE))
    before = values(figure(at, "s2s_alignment")["data"][0]["z"])
    at.selectbox(key="s2s_model").set_value("dates-dot").run()
    after_model = values(figure(at, "s2s_alignment")["data"][0]["z"])
    assert after_model.shape != before.shape or not np.allclose(after_model, before)
    at.selectbox(key="s2s_pick_dates").set_value("31.12.1900").run()
    assert values(figure(at, "s2s_alignment")["data"][0]["z"]).shape[1] == len("31.12.1900")


def test_worked_example_matches_the_lecture():
    at = open_page(PAGE)
    latex = " ".join(e.value for e in at.latex)
    assert "softmax}(1.50, 0.90, 0.30, -0.50) = (0.50, 0.28, 0.15, 0.07)" in latex  # exact, to two decimals
    assert any("(0.51, 0.28, 0.14, 0.07)" in m.value and "0.012" in m.value for m in at.markdown)  # the slide
    at.number_input(key="s2s_e3").set_value(0.0).run()
    assert "softmax}(1.50, 0.90, 0.30, 0.00)" in " ".join(e.value for e in at.latex)


def test_step_slider_and_beam():
    at = _dates(open_page(PAGE))
    first = values(figure(at, "s2s_scores")["data"][1]["y"])
    at.slider(key="s2s_step").set_value(3).run()
    assert not np.allclose(values(figure(at, "s2s_scores")["data"][1]["y"]), first)
    assert np.isclose(values(figure(at, "s2s_scores")["data"][1]["y"]).sum(), 1.0, atol=1e-4)
    at.slider(key="s2s_beam").set_value(1).run()
    beams = next(df.value for df in at.dataframe if "hypothesis" in df.value.columns)
    assert beams["rank"].max() == 1
