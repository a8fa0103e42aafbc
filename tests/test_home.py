"""Home page specifics: the chain rule's numbers, <eos>, unknown words, truncation, comparison."""
from __future__ import annotations

import json
import math

import numpy as np
from streamlit.testing.v1 import AppTest

from models.evaluate import chain_rule
from models.registry import load
from pages.components.catalog import ROOT
from pages.components.text import MAX_CHARS

from .apptest import values


def _home(sentence: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    if sentence is not None:
        at.session_state["sentence"] = sentence
    at.run()
    assert not at.exception
    return at


def _bars(at: AppTest) -> list[dict]:
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    return [t for t in fig["data"] if t["type"] == "bar"]


def _values(trace: dict) -> np.ndarray:
    return values(trace["y"])


def test_bars_are_the_models_conditionals():
    at = _home("the cat sat on the mat .")
    bundle = load(at.selectbox(key="home_model").value, "cpu")
    expect = np.exp(chain_rule(bundle.model, bundle.tokenizer, "the cat sat on the mat .", True).logp)
    assert np.allclose(_values(_bars(at)[0]), expect, rtol=1e-4)


def test_eos_toggle_adds_one_token():
    at = _home("the cat sat on the mat .")
    with_eos = len(_values(_bars(at)[0]))
    at.toggle(key="home_eos").set_value(False).run()
    assert len(_values(_bars(at)[0])) == with_eos - 1


def test_compare_overlays_a_second_model():
    at = _home()
    assert len(_bars(at)) == 1
    at.selectbox(key="home_compare").select_index(1).run()  # the first model after "none"
    assert len(_bars(at)) == 2


def test_unknown_words_are_counted_and_flagged():
    at = _home("the zyxwv cat")
    unknown = next(m for m in at.metric if m.label == "Unknown words")
    assert unknown.value == "1"
    assert "&lt;unk&gt;" in at.get("html")[0].proto.body


def test_long_text_is_truncated_with_a_note():
    at = _home("word " * 1000)
    assert any(str(MAX_CHARS) in i.value for i in at.info)


def test_markup_is_escaped_not_interpreted():
    at = _home("<script>alert(1)</script>")
    body = at.get("html")[0].proto.body
    assert "<script" not in body and "&lt;" in body


def test_perplexity_metric_matches_log_probability():
    at = _home("the cat sat on the mat .")
    logp = float(next(m for m in at.metric if m.label.startswith("log P")).value.split()[0])
    n = int(next(m for m in at.metric if m.label == "Tokens scored").value)
    ppl = float(next(m for m in at.metric if m.label == "Perplexity").value)
    assert math.isclose(ppl, math.exp(-logp / n), rel_tol=0.02)


def _page_text(at: AppTest) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def test_eos_is_named_the_end_of_story_marker():
    at = _home()
    toggle = at.toggle(key="home_eos")
    assert "end" in toggle.label.lower() and "story" in toggle.label.lower()
    assert "sentence ends here" not in toggle.label
    text = _page_text(at)
    assert "end-of-story marker" in text
    assert "first word of your sentence is predicted right after an <eos>" in text


def test_perplexity_is_the_exponential_of_the_average_surprise():
    text = _page_text(_home())
    assert "perplexity, the average surprise" not in text
    assert "perplexity is the exponential of the average surprise" in text
