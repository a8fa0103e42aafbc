"""Sampling page: the bars are the model's distribution after temperature and truncation; generation is seeded."""
from __future__ import annotations

import re

import numpy as np
import torch

from models.inputs import model_input
from models.readings.sampling import read_beam, read_next_token, truncate
from models.registry import load
from models.sampling import SamplingConfig, next_token_distribution
from models.tradeoff import default_settings, sweep

from .apptest import figure, open_page, values

PAGE = "pages/views/sampling.py"
PROMPT = "once upon a time there was a little"


def _stages(at) -> list[np.ndarray]:
    return [values(trace["y"]) for trace in figure(at, "smp_distribution")["data"]]


def _logits(name: str = "transformer") -> torch.Tensor:
    bundle = load(name, "cpu")
    logits, _ = bundle.model(torch.tensor([model_input(bundle.tokenizer, PROMPT).ids]))
    return logits[0, -1]


def _generated(at) -> list[list[str]]:
    table = next(df.value for df in at.dataframe if "token" in df.value.columns and "sample" in df.value.columns)
    return [list(group["token"]) for _, group in table.groupby("sample", sort=True)]


def test_bars_are_the_models_distribution_then_top_k():
    at = open_page(PAGE, PROMPT)
    assert at.selectbox(key="smp_model").value == "transformer"
    model_p, _, final = _stages(at)
    p = torch.softmax(_logits(), -1)
    assert np.allclose(model_p, torch.topk(p, 30).values.numpy(), atol=1e-5)
    k = at.slider(key="smp_k").value
    assert np.count_nonzero(final) == k  # exactly K tokens keep a chance
    assert abs(final.sum() - 1) < 1e-5  # … and they were renormalised (all K are among the 30 shown)
    at.slider(key="smp_k").set_value(3).run()
    final = _stages(at)[2]
    assert np.count_nonzero(final) == 3
    assert np.allclose(final[:3], (p[torch.topk(p, 3).indices] / p.topk(3).values.sum()).numpy(), atol=1e-5)


def test_temperature_changes_the_middle_bars_and_zero_is_greedy():
    at = open_page(PAGE, PROMPT)
    at.slider(key="smp_temp").set_value(0.5).run()
    tempered = _stages(at)[1]
    expected = next_token_distribution(_logits(), SamplingConfig(temperature=0.5))
    assert np.allclose(tempered, torch.topk(expected, 30).values.numpy(), atol=1e-5)
    at.slider(key="smp_temp").set_value(0.0).run()
    assert not at.exception
    final = _stages(at)[2]
    assert final[0] == 1 and np.count_nonzero(final) == 1
    assert any("T = 0 is greedy" in m.value for m in at.markdown)


def test_top_p_keeps_the_smallest_set_reaching_p():
    at = open_page(PAGE, PROMPT)
    at.radio(key="smp_cut").set_value("top_p").run()
    at.slider(key="smp_p").set_value(0.5).run()
    final = _stages(at)[2]
    p = torch.sort(torch.softmax(_logits(), -1), descending=True).values.numpy()
    kept = np.count_nonzero(final)
    assert p[:kept].sum() >= 0.5 > p[: kept - 1].sum()


def test_same_seed_same_text_and_top_k_one_is_greedy():
    first, second = open_page(PAGE, PROMPT), open_page(PAGE, PROMPT)
    assert _generated(first) == _generated(second)  # the same seed gives every student the same text
    second.number_input(key="smp_seed").set_value(7).run()
    assert _generated(first) != _generated(second)
    first.slider(key="smp_gen_k").set_value(1).run()
    top1 = _generated(first)
    first.selectbox(key="smp_mode").set_value("greedy").run()
    greedy = _generated(first)
    assert len(greedy) == 1 and all(sample == greedy[0] for sample in top1)


def test_beam_of_width_one_is_greedy():
    at = open_page(PAGE, PROMPT)
    at.selectbox(key="smp_mode").set_value("greedy").run()
    greedy = _generated(at)[0]
    at.selectbox(key="smp_mode").set_value("beam").run()
    at.slider(key="smp_beam").set_value(1).run()
    assert not at.exception
    history = next(df.value for df in at.dataframe if "hypothesis" in df.value.columns)
    assert history["hypothesis"].iloc[-1].split(" ") == greedy[: len(history)]


def test_trade_off_points_are_the_sweep():
    at = open_page(PAGE, PROMPT)
    assert not [c for c in at.get("plotly_chart") if "smp_tradeoff" in c.proto.id]  # waits for the button
    at.button(key="smp_measure").click().run()
    fig = figure(at, "smp_tradeoff")
    line, star = fig["data"]
    bundle, scorer = load("transformer", "cpu"), load("transformer", "cpu").model
    ids = model_input(bundle.tokenizer, PROMPT).ids
    points = sweep(bundle.model, scorer, ids, default_settings("top_k"))
    assert np.allclose(values(line["x"]), [pt.distinct_2 for pt in points], atol=1e-6)
    assert np.allclose(values(line["y"]), [pt.mean_log_likelihood for pt in points], atol=1e-4)
    assert star["text"] == ["greedy"]


def test_empty_prompt_starts_from_eos():
    at = open_page(PAGE, "")
    assert not at.exception
    assert any("starts from <eos>" in m.value for m in at.info)
    assert _generated(at)


def _latex(at) -> list[str]:
    return [e.value for e in at.latex]


def test_z_is_the_tempered_mass_that_the_code_sums():
    """Issue 13, error 4: at T ≠ 1 the truncation acts on q = softmax(z/T), and the Z printed is Σ of the kept q."""
    at = open_page(PAGE, PROMPT)
    at.slider(key="smp_temp").set_value(0.5).run()
    at.slider(key="smp_k").set_value(5).run()
    line = next(x for x in _latex(at) if "Z=" in x and "K=5" in x)
    assert r"\sum_{j\le 5}q_j" in line and r"q=\operatorname{softmax}(z/T),\ T=0.5" in line
    printed = float(re.search(r"q_j=([0-9.]+)", line).group(1))
    bundle = load("transformer", "cpu")
    cfg = SamplingConfig(temperature=0.5, top_k=5)
    reading = truncate(read_next_token(bundle.model, bundle.tokenizer, PROMPT), bundle.tokenizer.vocab.itos, cfg)
    q = torch.softmax(_logits() / 0.5, -1)
    assert abs(printed - reading.z) < 1e-4 and abs(reading.z - float(q.topk(5).values.sum())) < 1e-5
    assert abs(printed - float(torch.softmax(_logits(), -1).topk(5).values.sum())) > 1e-3  # not Σ p: T ≠ 1
    assert np.allclose(_stages(at)[2][:5], q.topk(5).values.numpy() / reading.z, atol=1e-5)  # q̂ = q/Z
    # The header names q, orders it as the lecture does, and writes the top-p threshold P, never p.
    header = " ".join(_latex(at)[:2])
    assert r"q_1\ge q_2\ge" in header and r"\hat q_i=\frac{q_i" in header and r"Z=\sum_{j\le K}q_j" in header
    assert r"\ge P" in header and not re.search(r"\\ge p\b|mass p\b", header)
    assert "Z sums q, the tempered distribution" in " ".join(c.value for c in at.caption)
    at.radio(key="smp_cut").set_value("top_p").run()
    line = next(x for x in _latex(at) if "P=0.9" in x)
    assert "Z=" in line and "q_j" in line and "p_j" not in line


def test_readings_start_from_eos_and_the_beam_adds_up():
    bundle = load("transformer", "cpu")
    model, tokenizer = bundle.model, bundle.tokenizer
    empty = read_next_token(model, tokenizer, "")
    assert empty.n_ids == 1 and not empty.unknown  # the empty prompt is <eos> alone
    eos_logits = model(torch.tensor([[tokenizer.vocab.eos_id]]))[0][0, -1]
    assert np.allclose(empty.logits, eos_logits.numpy(), atol=1e-5)
    odd = read_next_token(model, tokenizer, "the zzzqx dog zzzqx")
    assert odd.n_ids == 5 and odd.unknown == ["zzzqx"]
    beam = read_beam(model, tokenizer, PROMPT, 1, 8)
    assert beam.best == beam.greedy.words[: len(beam.best)]  # a beam of one is greedy
    assert np.isclose(np.log(beam.token_probs).sum(), beam.log_prob, atol=1e-6)
    assert np.allclose(beam.token_probs, beam.greedy.model_prob[: len(beam.best)], atol=1e-5)


def test_a_class_on_the_same_prompt_sweeps_once(monkeypatch):
    """Readings are shared across sessions by (model, prompt, options): the second student's button costs nothing."""
    import models.readings.sampling as readings

    calls = []
    real = readings.read_trade_off
    monkeypatch.setattr(readings, "read_trade_off", lambda *a, **k: calls.append(a[3:]) or real(*a, **k))
    prompt = "the class shares one prompt about a green frog"
    students = [open_page(PAGE, prompt) for _ in range(2)]
    for at in students:
        at.button(key="smp_measure").click().run()
    assert calls == [(prompt, "top_k")]
    assert figure(students[0], "smp_tradeoff") == figure(students[1], "smp_tradeoff")
    students[0].radio(key="smp_knob").set_value("temperature").run()  # another sweep waits for its own button
    assert not [c for c in students[0].get("plotly_chart") if "smp_tradeoff" in c.proto.id]
    assert calls == [(prompt, "top_k")]
