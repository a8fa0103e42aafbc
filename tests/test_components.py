"""Components: safe token HTML, text cleaning, colour-blind-safe colours, pure figure builders."""
from __future__ import annotations

import numpy as np

from pages.components.chain_charts import chain_rule_figure
from pages.components.palette import text_colour, viridis_rgb
from pages.components.text import MAX_CHARS, clean_text
from pages.components.tokens import token_spans


def test_token_spans_escape_everything():
    html = token_spans(['<script>alert("x")</script>', "<style>", "a&b"], [0.1, 0.5, 2.0],
                       titles=['"><img src=x onerror=alert(1)>', "t", "u"])
    assert "<script" not in html and "<style" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&amp;" in html and "&quot;&gt;&lt;img" in html


def test_token_colours_come_from_numbers():
    assert viridis_rgb(0.0) == (68, 1, 84) and viridis_rgb(1.0) == (253, 231, 37)
    assert viridis_rgb(float("nan")) == viridis_rgb(0.0) and viridis_rgb(5) == viridis_rgb(1)
    assert text_colour(viridis_rgb(0.0)) == "#ffffff" and text_colour(viridis_rgb(1.0)) == "#000000"


def test_clean_text():
    assert clean_text("  hi \x00there ").text == "hi there"
    assert clean_text("   ").empty and clean_text(None).notes
    long = clean_text("word " * 1000)
    assert len(long.text) <= MAX_CHARS and not long.text.endswith(" ") and "5,000" in long.notes[0]


def test_chain_rule_figure():
    logp = {"a": np.log(np.array([0.5, 0.25])), "b": np.log(np.array([0.1, 0.9]))}
    fig = chain_rule_figure(["<b>", "x"], logp, np.array([True, False]))
    bars = [t for t in fig.data if t.type == "bar"]
    lines = [t for t in fig.data if t.type == "scatter"]
    assert len(bars) == 2 and len(lines) == 2
    assert np.allclose(bars[0].y, [0.5, 0.25]) and np.allclose(lines[0].y, np.log10([0.5, 0.125]))
    assert "&lt;b&gt;" in fig.layout.xaxis2.ticktext


def test_figure_titles_and_labels_escape_user_text():
    from pages.components.recurrent_charts import hidden_state_animation
    from pages.components.seq2seq_charts import alignment_figure

    fig = alignment_figure(np.ones((1, 2)) / 2, ["<b>", "x"], ["<unk>"], "out: <i>hi</i>")
    assert fig.layout.title.text == "out: &lt;i&gt;hi&lt;/i&gt;" and "&lt;b&gt;" in fig.data[0].x[0]
    anim = hidden_state_animation(np.zeros((3, 2)), ["<eos>", "a"], [["x"], ["<y>"]], np.ones((2, 1)),
                                  ["read '<eos>'", "read 'a'"])
    assert "&lt;eos&gt;" in anim.frames[0].layout.title.text and "&lt;y&gt;" in anim.frames[1].data[0].y[0]


def test_plot_text_escapes_markup_but_not_quotes():
    from pages.components.plotting import safe_labels

    # plotly decodes &lt; &gt; &amp; but shows &quot; literally, and a quote cannot open markup without '<'.
    assert safe_labels(['"', "tim's", "<b>&"]) == ['"', "tim's", "&lt;b&gt;&amp;"]
