"""LSTM & GRU gates page: the heatmaps are the cells' gates; the unit controls and finder work."""
from __future__ import annotations

import re

import numpy as np
import torch

from models.registry import load

from .apptest import figure, open_page, values

PAGE = "pages/views/rnn_gates.py"
SENTENCE = 'she said, "we can play now." then she ran home .'


def test_gate_heatmaps_are_the_cells_gates():
    at = open_page(PAGE, SENTENCE)
    lstm = load("lstm", "cpu")
    ids = [2] + lstm.tokenizer.encode(SENTENCE)
    gates = lstm.model.trace(torch.tensor([ids])).gates
    assert np.allclose(values(figure(at, "lstm_animation")["data"][0]["z"]), gates["f"][0].numpy().T, atol=1e-4)
    at.selectbox(key="lstm_gate").set_value("o").run()
    assert np.allclose(values(figure(at, "lstm_animation")["data"][0]["z"]), gates["o"][0].numpy().T, atol=1e-4)


def test_unit_control_and_highway():
    at = open_page(PAGE, SENTENCE)
    before = values(figure(at, "lstm_unit_lines")["data"][0]["y"])
    at.number_input(key="lstm_unit").set_value(7).run()
    assert not at.exception
    assert not np.allclose(values(figure(at, "lstm_unit_lines")["data"][0]["y"]), before)
    carried = values(figure(at, "lstm_highway")["data"][0]["z"])
    assert np.allclose(carried[:, 0], 1.0) and np.all(np.diff(carried, axis=1) <= 1e-6)  # products of gates ≤ 1


def test_unit_finder_lists_units_per_feature():
    at = open_page(PAGE, SENTENCE)
    table = next(df.value for df in at.dataframe if "feature" in df.value.columns)
    assert set(table["feature"]) == {"inside quotes", "position in sentence", "after the/a", "end of sentence"}
    assert table["correlation r"].abs().max() > 0.3


def test_gru_tab_shows_both_conventions_and_labels_the_highway_in_each():
    """Issue 13, error 2: torch's GRU beside the lecture's, and ∏ z here = ∏ (1 − z) in the lecture."""
    at = open_page(PAGE, SENTENCE)
    eqs = "".join(re.sub(r"\s+", "", el.value) for el in at.latex)
    assert r"h_t=(1-z_t)\odotn_t+z_t\odoth_{t-1}" in eqs  # ours (torch)
    assert r"h_t=(1-z_t)\odoth_{t-1}+z_t\odot\hath_t" in eqs and r"U_h(r_t\odoth_{t-1})" in eqs  # the lecture's
    assert r"\prod_{s=k+1}^{t}z_s\;(\text{ours,torch})\;=\;\prod_{s=k+1}^{t}(1-z_s)\;(\text{lecture})" in eqs
    assert any("Our z_t is the lecture's 1 − z_t" in el.value for el in at.caption)
