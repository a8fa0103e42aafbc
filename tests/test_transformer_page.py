"""Transformer page: every map is the model's own attention for the sentence, and the controls move it."""
from __future__ import annotations

import re

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from models.inputs import model_input
from models.readings.ablation import ablate_heads, rank_heads
from models.readings.transformer import (
    causality_check,
    forward_work,
    logit_lens,
    position_similarity,
    read_positions,
    read_transformer,
)
from models.registry import load
from models.transformer import sinusoidal_positions

from .apptest import figure, figures, open_page, values

PAGE = "pages/views/transformer.py"
SENTENCE = "the little dog ran to the park and the dog was happy ."


def _trace(sentence: str = SENTENCE):
    bundle = load("transformer", "cpu")
    ids = model_input(bundle.tokenizer, sentence, bundle.model.config.block_size).ids
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
    reading = read_transformer(bundle.model, bundle.tokenizer, SENTENCE)
    assert reading.tokens[0] == "<eos>" and len(reading.tokens) == len(ids) and not reading.cut
    probs = logit_lens(bundle.model, tr.residual[0])
    assert torch.allclose(probs[-1], torch.softmax(tr.logits[0], -1), atol=1e-5)  # the last layer is the output
    own_top = [bundle.tokenizer.vocab.itos[i] for i in tr.logits[0].argmax(-1).tolist()]
    assert [row[0] for row in reading.lens_words[-1]] == own_top
    assert np.allclose(reading.residual_norm, tr.residual[0].norm(dim=-1).numpy(), atol=1e-4)
    half, gap = causality_check(bundle.model, bundle.tokenizer, SENTENCE)
    assert half == len(ids) // 2 and gap < 1e-4
    positions = read_positions(bundle.model, learned=True)
    assert positions.learned and np.allclose(positions.vectors, bundle.model.pos.weight.detach().numpy())
    sim = position_similarity(positions.vectors[:8])
    assert np.allclose(np.diag(sim), 1, atol=1e-5) and np.allclose(sim, sim.T, atol=1e-6)


def _page_text(at) -> str:
    """Everything the page writes for a student (formulas, prose, captions, tables, figure titles and hovers);
    not the code expander."""
    parts = [e.value for kind in (at.latex, at.markdown, at.caption, at.info) for e in kind]
    parts += [h.proto.body for h in at.get("html")]
    parts += [" ".join(map(str, df.value.columns)) for df in at.dataframe]
    for fig in figures(at):
        layout = fig["layout"]
        parts += [str(layout.get("title", "")), *(str(a.get("text", "")) for a in layout.get("annotations", []))]
        parts += [str(v.get("title", "")) for k, v in layout.items() if k.startswith(("xaxis", "yaxis"))]
        parts += [f"{t.get('name', '')} {t.get('hovertemplate', '')}" for t in fig["data"]]
    return "\n".join(parts)


def test_head_size_is_d_k_and_the_width_d_model():
    """Issue 13, error 5c: √d_k for the head size, d_model for the width, never a bare d."""
    at = open_page(PAGE, SENTENCE)
    at.radio(key="tf_positions").set_value("sinusoidal").run()
    text = _page_text(at)
    assert re.search(r"√d(?!_k)", text) is None, re.findall(r".{30}√d(?!_k).{10}", text)
    assert not re.search(r"\\sqrt\{(?!d_k\})", text)  # every \sqrt in a formula is √d_k
    assert "√d_k" in text and r"\sqrt{d_k}" in text
    assert "d_k = 32" in text and "d_model = 128" in text  # 128 numbers split among 4 heads
    sinusoid = str(figure(at, "tf_positions_map")["layout"]["annotations"][0]["text"])
    assert "2i/d_model" in sinusoid and "d_model = 128" in sinusoid
    assert re.search(r"2i/d(?!_model)", text) is None


def test_the_mask_applies_at_inference_too():
    """Issue 13, error 7: the causal mask is part of the model, not only a training device."""
    at = open_page(PAGE, SENTENCE)
    prose = " ".join(m.value for m in at.markdown)
    assert "during training every score" not in prose
    assert "it applies at inference too" in prose
    # … and it does: the page's own reading (inference, no training) has nothing above the diagonal.
    assert np.all(_head_map(at)[np.triu_indices(len(_head_map(at)), 1)] == 0)


def test_work_counts_match_torchs_own_count():
    """The multiply-adds the page counts are those torch performs in the traced forward pass (dense attention)."""
    model = load("transformer", "cpu").model
    cfg, T = model.config, 24
    with FlopCounterMode(display=False) as counter:
        model.trace(torch.zeros(1, T, dtype=torch.long))
    flops = {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}
    work = forward_work(cfg, [T])
    assert flops["aten.addmm"] == 2 * work.projections[0]  # every nn.Linear with a bias: Q, K, V, W^O, FFN
    assert flops["aten.mm"] == 2 * work.output[0]  # the (tied, bias-free) output layer
    assert flops["aten.bmm"] == 2 * work.attention[0]  # QKᵀ and αV
    assert work.attention_scores[0] == cfg.n_layer * cfg.n_head * T**2
    assert work.attention[0] == work.attention_scores[0] * 2 * (cfg.n_embd // cfg.n_head)


def test_parallel_section_shows_the_t_squared_term_and_says_what_was_measured():
    """Issue 13, error 6: the T² lives in the count of attention scores, not in the measured (near-linear) times."""
    at = open_page(PAGE, SENTENCE)
    cfg = load("transformer", "cpu").model.config
    lengths = np.array([8, 16, 32, 64])
    data = figure(at, "tf_parallel")["data"]
    attention = next(t for t in data if t["name"].startswith("attention"))
    assert np.allclose(values(attention["y"]), 2 * cfg.n_layer * cfg.n_embd * lengths**2)
    linear = [t for t in data if t["name"].startswith(("projections", "output layer"))]
    assert len(linear) == 2 and all(np.allclose(np.diff(values(t["y"]) / lengths), 0) for t in linear)
    table = next(df.value for df in at.dataframe if "attention scores L·H·T²" in df.value.columns)
    assert list(table["attention scores L·H·T²"]) == list(cfg.n_layer * cfg.n_head * lengths**2)
    assert list(table["tokens T"]) == list(lengths) and list(table.iloc[:, 1]) == list(lengths)  # the RNN's T steps
    prose = " ".join(h.proto.body for h in at.get("html"))
    assert "What the timings show" in prose and "only" in prose
    share = forward_work(cfg, [64]).attention_share[0]
    assert f"{share:.1%}" in prose and share < 0.1  # at T = 64 attention is a small part of the arithmetic
    everything = _page_text(at)
    assert "attention's grows with T²" not in everything


def _said(at) -> str:
    return " ".join(h.proto.body for h in at.get("html"))


def test_switching_heads_off_shows_the_change_at_every_position():
    at = open_page(PAGE, SENTENCE)
    bundle = load("transformer", "cpu")
    for mode in ("zero", "uniform"):
        at.radio(key="tf_ablate_mode").set_value(mode).run()
        assert not at.exception
        change = ablate_heads(bundle.model, bundle.tokenizer, SENTENCE, [(0, 0)], mode)
        bars = figure(at, "tf_ablate_map")["data"][0]
        assert np.allclose(values(bars["y"]), change.kl, atol=1e-6)
        assert ("output zeroed" if mode == "zero" else "uniform attention") in _said(at)
        assert f"from {change.loss_before:.4f} to {change.loss_after:.4f}" in _said(at)
    every = [(ell, h) for ell in range(4) for h in range(4)]
    at.multiselect(key="tf_ablate_heads").set_value(every).run()
    assert any("Every head is switched off" in w.value for w in at.warning)
    at.multiselect(key="tf_ablate_heads").set_value([]).run()
    assert any("at least one head" in i.value for i in at.info)


def test_head_ranking_grid_is_the_loss_increase():
    at = open_page(PAGE, SENTENCE)
    bundle = load("transformer", "cpu")
    ranking = rank_heads(bundle.model, bundle.tokenizer, SENTENCE, "zero")
    grid = values(figure(at, "tf_rank_map")["data"][0]["z"])
    assert grid.shape == (4, 4) and np.allclose(grid, ranking.increase, atol=1e-6)
    layer, head = ranking.order()[0]
    assert f"Switching off <b>layer {layer + 1} · head {head + 1}</b> costs most" in _said(at)
    at.radio(key="tf_rank_mode").set_value("uniform").run()
    assert not np.allclose(values(figure(at, "tf_rank_map")["data"][0]["z"]), grid)


def test_cutting_an_edge_changes_the_query_and_a_future_edge_nothing():
    at = open_page(PAGE, SENTENCE)
    at.selectbox(key="tf_edge_query").set_value(5).run()
    at.selectbox(key="tf_edge_key").set_value(2).run()
    assert not at.exception
    assert "Without reading <b>3. little</b>, position <b>6. to</b> still predicts" in _said(at)  # top unchanged
    kl = values(figure(at, "tf_edge_change")["data"][0]["y"])
    assert kl[:5].max() == 0 and kl[5] > 0
    at.selectbox(key="tf_edge_key").set_value(9).run()
    assert "already gives that score −∞, so cutting it changes nothing" in _said(at)
    assert values(figure(at, "tf_edge_change")["data"][0]["y"]).max() == 0
