"""Seq2seq & attention page: the heatmap is translate(...).attention; no α without attention; controls, the worked
example beside the real model, BLEU defined, the beam's hypotheses."""
from __future__ import annotations

import numpy as np
import torch

from models.registry import load
from models.seq2seq import AttentionEdit

from .apptest import figure, figures, open_page, values

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


def _texts(at) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.latex])


def test_picking_dates_opens_the_no_attention_model():
    at = open_page(PAGE)
    at.radio(key="s2s_task").set_value("dates").run()
    assert at.selectbox(key="s2s_model").value == "dates-none"  # not the English→French model picked before


def test_no_attention_model_shows_its_thought_vector_and_no_zero_alpha():
    at = _dates(open_page(PAGE), "dates-none")
    for fig in figures(at):
        title = fig["layout"].get("title", {}).get("text", "")
        for trace in fig["data"]:
            label = f"{title} {trace.get('name', '')} {trace.get('hovertemplate', '')}"
            data = trace.get("z", trace.get("y"))
            if "α" in label and "dates-none" in title + label:
                raise AssertionError(f"an α chart for the model without attention: {title}")
            if "α" in label and data is not None:
                assert np.abs(values(data)).max() > 0, f"an all-zero α: {title}"
    model = load("dates-none", "cpu").model
    ids, _ = model.source_ids("saturday 21 nov 2026")
    thought = model.encode(torch.tensor([ids]))[2][0].numpy()  # [→h_T; ←h_1]
    shown = np.concatenate([values(t["y"]) for t in figure(at, "s2s_context")["data"]])
    assert shown.shape == thought.shape == (128,) and np.allclose(shown, thought, atol=1e-5)
    text = _texts(at)
    assert "no α" in text and "encoder's final state" in text and "128 numbers" in text
    assert "s2s_step" not in [s.key for s in at.slider]  # one context for every step: nothing to step through


def test_worked_example_is_open_beside_the_real_model():
    at = open_page(PAGE)
    (expander,) = [e for e in at.expander if "worked example" in e.label]
    assert expander.proto.expanded
    table = next(df.value for df in at.dataframe if "model α" in df.value.columns)
    tr = load("fra-additive", "cpu").model.translate("i am happy .")
    assert list(table["source token"]) == ["i", "am", "happy", "."]
    assert np.allclose(table["slide e"], [1.5, 0.9, 0.3, -0.5]) and np.allclose(table["slide α"], [.51, .28, .14, .07])
    assert np.allclose(table["model e"], tr.scores[0].numpy(), atol=1e-4)
    assert np.allclose(table["model α"], tr.attention[0].numpy(), atol=1e-5)
    weights = tr.attention[0].numpy()
    assert r"c_1=" + rf"{weights[0]:.2f}\,h_{{1}}" in _texts(at)
    c1 = (tr.attention[0] @ tr.annotations).numpy()  # Σ_i α_i h_i
    assert ", ".join(f"{v:.3f}" for v in c1[:4]) in _texts(at) and f"{len(c1)} numbers" in _texts(at)


def test_bleu_is_defined_beside_the_by_length_chart():
    at = open_page(PAGE)
    assert figure(at, "s2s_by_length")["layout"]["yaxis"]["title"]["text"] == "BLEU"
    caption = " ".join(c.value for c in at.caption)
    assert "BLEU" in caption and "geometric mean of the 1- to 4-gram precisions" in caption
    assert "brevity penalty" in caption and "×100" in caption


def test_score_formulas_match_the_models():
    at = _dates(open_page(PAGE))
    assert r"v^{\top}\tanh(W s_{i-1} + U h_j + b)" in _texts(at)  # U carries a bias in AdditiveAttention
    at.selectbox(key="s2s_model").set_value("dates-bilinear").run()
    assert r"e_{ij} = s_{i-1}^{\top} W h_j" in _texts(at)


def test_beam_table_lists_the_hypotheses_of_the_search():
    at = _dates(open_page(PAGE), "dates-additive", "the 3rd of march, 1999")
    at.slider(key="s2s_beam").set_value(3).run()
    beams = next(df.value for df in at.dataframe if "hypothesis" in df.value.columns)
    model = load("dates-additive", "cpu").model
    steps = model.translate("the 3rd of march, 1999", beam=3).beam_steps
    assert len(beams) == sum(len(kept) for kept in steps)
    last = beams[beams["step"] == len(steps)]
    itos = model.tgt_tok.vocab.itos
    assert list(last["hypothesis"]) == [" ".join(itos[k] for k in h.tokens) for h in steps[-1]]
    assert np.allclose(last["log-prob"], [round(h.log_prob, 3) for h in steps[-1]])
    assert list(last["ended"]) == [h.finished for h in steps[-1]]


def _said(at) -> str:
    return " ".join(h.proto.body for h in at.get("html"))


def test_forcing_the_attention_shows_both_maps_and_the_wrong_digit():
    at = _dates(open_page(PAGE))
    at.number_input(key="s2s_force_step").set_value(4).run()
    at.selectbox(key="s2s_force_source").set_value(0).run()
    assert not at.exception
    model = load("dates-additive", "cpu").model
    forced = model.translate("saturday 21 nov 2026", edit=AttentionEdit(3, 0))
    own = values(figure(at, "s2s_force_own")["data"][0]["z"])
    shown = values(figure(at, "s2s_force_map")["data"][0]["z"])
    assert np.allclose(own, model.translate("saturday 21 nov 2026").attention.numpy(), atol=1e-5)
    assert np.allclose(shown, forced.attention.numpy(), atol=1e-5) and shown[3, 0] == 1
    cells = figure(at, "s2s_force_own")["data"][1]  # one invisible marker per cell takes the click
    assert np.allclose(values(cells["customdata"]), own.ravel(), atol=1e-6) and cells["y"][own.shape[1]] == "2. 0"
    assert f"to <b>{forced.text}</b>, first at step 4" in _said(at)
    assert "outside that span: the decoder now writes <b>0</b>, a wrong digit" in _said(at)
    table = next(df.value for df in at.dataframe if "forced" in df.value.columns)
    assert list(table["forced"][:10]) == list(forced.text) and table["changed"].sum() >= 1
    at.toggle(key="s2s_force_sweep").set_value(True).run()
    digits = [str(t) for t in figure(at, "s2s_force_sweep_map")["data"][0]["text"]]
    assert digits[16:20] == ["2", "0", "2", "6"]


def test_forcing_needs_attention_and_a_step_inside_the_output():
    at = open_page(PAGE)  # English→French, additive
    at.selectbox(key="s2s_pick_fra").set_value("i am happy .").run()
    at.number_input(key="s2s_force_step").set_value(9).run()
    assert any("Step 9 is beyond the output: the decoder wrote 5 tokens" in w.value for w in at.warning)
    at.selectbox(key="s2s_model").set_value("fra-none").run()
    assert not at.exception
    assert any("no α to force" in i.value for i in at.info)
    assert "s2s_force_step" not in [n.key for n in at.number_input]
    assert figure(at, "s2s_beam_tree")["data"]  # the tree and the prefix still work without attention
    assert any("with your start" in df.value.columns for df in at.dataframe)


def test_fixing_the_prefix_continues_after_the_students_words():
    at = open_page(PAGE)
    at.selectbox(key="s2s_pick_fra").set_value("i am happy .").run()
    at.text_input(key="s2s_prefix_fra").set_value("nous").run()
    model = load("fra-additive", "cpu").model
    tr = model.translate("i am happy .", prefix=[model.tgt_tok.vocab.stoi["nous"]])
    assert tr.out_tokens[0] == "nous"
    assert f"<b>{tr.text}</b>, log-prob {tr.log_prob:.3f} = {tr.prefix_log_prob:.3f} for your 1 token(s)" in _said(at)
    z = values(figure(at, "s2s_prefix_map")["data"][0]["z"])
    assert np.allclose(z, tr.attention.numpy(), atol=1e-5)
    assert figure(at, "s2s_prefix_map")["data"][0]["y"][0] == "1. nous (fixed)"
    at.text_input(key="s2s_prefix_fra").set_value("zzzq nous").run()
    assert any("Not in the output vocabulary" in w.value and "'zzzq'" in w.value for w in at.warning)


def test_beam_tree_marks_the_winner_of_the_search():
    at = _dates(open_page(PAGE), "dates-additive", "the 3rd of march, 1999")
    at.slider(key="s2s_beam").set_value(3).run()
    traces = {t.get("name"): t for t in figure(at, "s2s_beam_tree")["data"] if t.get("name")}
    assert set(traces) == {"winner", "kept", "pruned"}
    winner = [str(t).split(" (")[0] for t in traces["winner"]["text"]][1:]  # after the start node
    tr = load("dates-additive", "cpu").model.translate("the 3rd of march, 1999", beam=3)
    assert "".join(w for w in winner if w != "&lt;eos&gt;") == tr.text
    assert len(values(traces["pruned"]["x"])) == sum(len(p) for p in tr.beam_pruned)
