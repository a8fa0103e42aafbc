"""Transformer page: every map is the model's own attention for the sentence, and the controls move it."""
from __future__ import annotations

import numpy as np
import torch

from models.readings.transformer import future_leak, logit_lens, position_similarity, read_transformer
from models.registry import load
from models.transformer import sinusoidal_positions

from .apptest import figure, open_page, values

PAGE = "pages/views/transformer.py"
SENTENCE = "the little dog ran to the park and the dog was happy ."


def _trace(sentence: str = SENTENCE):
    bundle = load("transformer", "cpu")
    ids = [2] + bundle.tokenizer.encode(sentence)
    return ids, bundle.model.trace(torch.tensor([ids]))


def _head_map(at) -> np.ndarray:
    return values(figure(at, "tf_head_map")["data"][0]["z"])


def test_large_heatmap_is_the_trace_for_the_selected_head():
    at = open_page(PAGE, SENTENCE)
    ids, tr = _trace()
    assert np.allclose(_head_map(at), tr.attention[0, 0, 0].numpy(), atol=1e-5)
    at.selectbox(key="tf_layer").select_index(2).run()
    at.selectbox(key="tf_head").select_index(3).run()
    assert not at.exception
    shown = _head_map(at)
    assert np.allclose(shown, tr.attention[0, 2, 3].numpy(), atol=1e-5)
    assert not np.allclose(shown, tr.attention[0, 0, 0].numpy(), atol=1e-3)
    assert np.allclose(shown.sum(1), 1, atol=1e-5)  # every row is a distribution
    assert np.all(shown[np.triu_indices(len(ids), 1)] == 0)  # the causal mask: nothing above the diagonal


def test_grid_shows_every_layer_and_head():
    at = open_page(PAGE, SENTENCE)
    _, tr = _trace()
    grid = figure(at, "tf_grid")["data"]
    L, H = tr.attention.shape[1:3]
    assert len(grid) == L * H
    assert np.allclose(values(grid[H + 1]["z"]), tr.attention[0, 1, 1].numpy(), atol=1e-5)


def test_one_query_opened_up():
    at = open_page(PAGE, SENTENCE)
    at.slider(key="tf_query").set_value(5).run()
    _, tr = _trace()
    q, k, v = tr.q[0, 0, 0], tr.k[0, 0, 0], tr.v[0, 0, 0]  # layer 1, head 1: (T, d)
    t = 4
    table = at.dataframe[0].value if "α" in at.dataframe[0].value.columns else at.dataframe[1].value
    scores = (k[: t + 1] @ q[t]) / np.sqrt(q.size(-1))
    assert np.allclose(table.iloc[:, 2].to_numpy(), scores.numpy(), atol=1e-4)
    assert np.allclose(table["α"].to_numpy(), tr.attention[0, 0, 0, t, : t + 1].numpy(), atol=1e-5)
    z = values(figure(at, "tf_values")["data"][0]["z"])
    head_output = tr.attention[0, 0, 0, t, : t + 1] @ v[: t + 1]  # Σ α_j v_j
    assert np.allclose(z[-1], head_output.numpy(), atol=1e-5)


def test_mask_toggle_shows_the_unmasked_softmax():
    at = open_page(PAGE, SENTENCE)
    masked = values(figure(at, "tf_mask_map")["data"][2]["z"])
    at.toggle(key="tf_mask").set_value(False).run()
    assert not at.exception
    unmasked = values(figure(at, "tf_mask_map")["data"][2]["z"])
    upper = np.triu_indices(len(masked), 1)
    assert np.all(masked[upper] == 0) and np.all(unmasked[upper] > 0)
    assert np.allclose(unmasked.sum(1), 1, atol=1e-4)


def test_positions_switch_to_sinusoidal():
    at = open_page(PAGE, SENTENCE)
    learned = values(figure(at, "tf_positions_map")["data"][0]["z"])
    at.radio(key="tf_positions").set_value("sinusoidal").run()
    pe = values(figure(at, "tf_positions_map")["data"][0]["z"])
    assert pe.shape == learned.shape
    assert np.allclose(pe, sinusoidal_positions(*pe.shape).numpy(), atol=1e-6)


def test_long_input_is_cut_to_the_context_with_a_notice():
    at = open_page(PAGE, "the dog ran . " * 40)
    assert any("at most 64 tokens" in i.value for i in at.info)
    assert _head_map(at).shape == (64, 64)


def test_reading_logit_lens_and_causality():
    bundle = load("transformer", "cpu")
    ids, tr = _trace()
    reading = read_transformer(bundle.model, bundle.tokenizer.vocab.itos, ids)
    probs = logit_lens(bundle.model, tr.residual[0])
    assert torch.allclose(probs[-1], torch.softmax(tr.logits[0], -1), atol=1e-5)  # the last layer is the output
    own_top = [bundle.tokenizer.vocab.itos[i] for i in tr.logits[0].argmax(-1).tolist()]
    assert [row[0] for row in reading.lens_words[-1]] == own_top
    assert np.allclose(reading.residual_norm, tr.residual[0].norm(dim=-1).numpy(), atol=1e-4)
    assert future_leak(bundle.model, ids, 5) < 1e-4
    sim = position_similarity(bundle.model.position_encodings(8).detach().numpy())
    assert np.allclose(np.diag(sim), 1, atol=1e-5) and np.allclose(sim, sim.T, atol=1e-6)
