"""Captions that name colours name the colours really drawn (issue 13, error 8), on the recurrent pages.

Each caption is paired with what it describes: a figure (the ends of its colour scale, read from the plotly spec)
or a coloured sentence (the viridis scale of ``token_spans``). The colours are named from their RGB values, and
the caption's "<colour> = <value>" claims must name the low and the high end correctly. Any other text on the
page that names a colour fails the test until it is paired here.
"""
from __future__ import annotations

import colorsys
import json
import re

import pytest

from pages.components.palette import viridis_rgb

from .apptest import open_page

RNN, GATES, GRADIENTS = "pages/views/rnn.py", "pages/views/rnn_gates.py", "pages/views/rnn_gradients.py"
SENTENCE = 'the little dog said, "we can play now." then he ran home .'
# Hue bands in degrees (upper bound, name): coarse on purpose, a caption names a colour as a student would.
HUES = ((15, "red"), (45, "orange"), (70, "yellow"), (165, "green"), (195, "cyan"), (255, "blue"),
        (330, "purple"), (345, "pink"), (360, "red"))
COLOURS = r"(?:dark |light )?(?:red|orange|yellow|green|cyan|blue|purple|violet|pink|brown|grey|gray|white|black)"
VALUES = {"negative": -1.0, "none": 0.0, "nothing": 0.0, "closed": 0.0, "low": 0.0, "first": 0.0,
          "positive": 1.0, "open": 1.0, "high": 1.0, "largest": 1.0, "last": 1.0}
VALUE = r"(?:the )?(" + "|".join(VALUES) + r"|[−-]?\d+(?:\.\d+)?)"
CLAIM = re.compile(rf"\b({COLOURS})\s*(?:=|:)?\s*{VALUE}\b")


def colour_name(colour: str | tuple[int, int, int]) -> str:
    """A plain name for an RGB colour ('#rrggbb', 'rgb(r,g,b)' or a tuple): hue band, 'dark' when value < 0.4."""
    if isinstance(colour, str) and colour.startswith("#"):
        rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    elif isinstance(colour, str):
        rgb = tuple(int(float(v)) for v in re.findall(r"[\d.]+", colour)[:3])
    else:
        rgb = colour
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    if s < 0.15:
        return "white" if v > 0.85 else "black" if v < 0.2 else "grey"
    name = next(n for bound, n in HUES if h * 360 < bound)
    return f"dark {name}" if v < 0.4 else name


def same_colour(claimed: str, drawn: str) -> bool:
    """'purple' matches 'dark purple'; 'dark purple' needs a dark purple."""
    base = claimed.removeprefix("dark ").removeprefix("light ")
    return drawn.removeprefix("dark ") == base and (not claimed.startswith("dark ") or drawn.startswith("dark "))


def named_ends(text: str) -> tuple[str, str]:
    """The colours a caption gives the lowest and the highest value it names."""
    claims = sorted(((colour, VALUES[v] if v in VALUES else float(v.replace("−", "-")))
                     for colour, v in CLAIM.findall(text)), key=lambda claim: claim[1])
    assert len(claims) >= 2, f"the caption should name the colours of both ends: {text!r}"
    return claims[0][0], claims[-1][0]


def scale_ends(fig: dict) -> tuple[str, str]:
    """The names of the colours at 0 and 1 of the first colour scale in a figure."""
    for trace in fig["data"]:
        scale = trace.get("colorscale") or trace.get("marker", {}).get("colorscale")
        if scale:
            return colour_name(scale[0][1]), colour_name(scale[-1][1])
    raise AssertionError("the figure has no colour scale")


def elements(at) -> list:
    """Every element of the page in document order."""
    out = []

    def walk(node) -> None:
        for child in getattr(node, "children", {}).values():
            out.append(child)
            walk(child)

    walk(at.main)
    return out


def text_of(el) -> str:
    if el.type in ("markdown", "caption", "latex"):
        return el.value
    if el.type == "html":
        return el.proto.body
    return ""


def is_token_html(el) -> bool:
    return el.type == "html" and "<span title=" in el.proto.body


def chart_spec(el) -> dict:
    return json.loads(el.proto.spec)


def check_scale(text: str, chart) -> None:
    low, high = named_ends(text)
    drawn = scale_ends(chart_spec(chart))
    assert same_colour(low, drawn[0]) and same_colour(high, drawn[1]), (text, drawn)


def check_tokens(text: str, html) -> None:
    """The caption names viridis's ends, and the sentence below it is coloured on viridis."""
    low, high = named_ends(text)
    drawn = colour_name(viridis_rgb(0.0)), colour_name(viridis_rgb(1.0))
    assert same_colour(low, drawn[0]) and same_colour(high, drawn[1]), (text, drawn)
    on_scale = [viridis_rgb(v / 1000) for v in range(1001)]
    spans = [tuple(map(int, rgb)) for rgb in re.findall(r"background:rgb\((\d+),(\d+),(\d+)\)", html.proto.body)]
    assert spans
    for rgb in spans:
        assert min(max(abs(a - b) for a, b in zip(rgb, c, strict=True)) for c in on_scale) <= 1, rgb


def check_font(text: str, chart) -> None:
    """'in <colour>': the predicted words (the top row of the unrolled picture) are drawn in that colour."""
    claimed = re.search(rf"in ({COLOURS})", text).group(1)
    notes = chart_spec(chart)["layout"]["annotations"]
    drawn = {colour_name(n["font"]["color"]) for n in notes if n.get("y") == 2.0 and "color" in n.get("font", {})}
    assert drawn and all(same_colour(claimed, d) for d in drawn), (text, drawn)


# anchor phrase -> (what it describes: the next or previous chart or coloured sentence, how it is checked)
PAIRS = {
    RNN: {"each column is h_t": ("next", "plotly_chart", check_scale),
          "Colour = step": ("previous", "plotly_chart", check_scale),
          "Top, in": ("previous", "plotly_chart", check_font)},
    GATES: {"Colour:": ("previous", "plotly_chart", check_scale),
            "coloured by unit": ("next", "html", check_tokens)},
    GRADIENTS: {"colour = gradient norm": ("next", "html", check_tokens)},
}


def check_page(at, page: str) -> int:
    """Check every paired caption; fail on a colour-naming text without a pair. Returns how many were checked."""
    els = elements(at)
    checked = 0
    for i, el in enumerate(els):
        text = text_of(el)
        if not text or is_token_html(el):
            continue
        anchor = next((a for a in PAIRS[page] if a in text), None)
        if anchor is None:
            scanned = re.sub(r"“[^”]*”|<b>.*?</b>", "", text)  # the student's or the example's words
            assert not re.search(rf"\b{COLOURS}\b", scanned), f"names a colour but is paired with nothing: {text!r}"
            continue
        direction, kind, check = PAIRS[page][anchor]
        order = els[i + 1 :] if direction == "next" else els[:i][::-1]
        check(text, next(e for e in order if e.type == kind))
        checked += 1
    return checked


def test_colour_names():
    assert colour_name("rgb(127,59,8)") == "orange"  # PuOr at −1
    assert colour_name("rgb(45,0,75)") == "dark purple"  # PuOr at +1
    assert colour_name("#440154") == "dark purple" and colour_name("#fde725") == "yellow"  # viridis ends
    assert colour_name(viridis_rgb(0.0)) == "dark purple" and colour_name(viridis_rgb(1.0)) == "yellow"
    assert colour_name("#0072B2") == "blue" and colour_name("#D55E00") == "orange"  # Okabe–Ito
    assert colour_name("#009E73") == "green" and colour_name("#F0E442") == "yellow"
    assert [colour_name(c) for c in ("#ffffff", "#000000", "rgb(247,247,247)")] == ["white", "black", "white"]


def test_caption_claims_are_parsed():
    assert named_ends("h_t (blue negative, orange positive)") == ("blue", "orange")
    signed = "Colour: orange = negative (down to -3.2), purple = positive (up to 3.2)."
    assert named_ends(signed) == ("orange", "purple")
    assert named_ends("(dark purple = -1, yellow = 1)") == ("dark purple", "yellow")
    assert named_ends("(dark purple = none, yellow = the largest)") == ("dark purple", "yellow")
    assert same_colour("purple", "dark purple") and not same_colour("dark purple", "purple")
    assert not same_colour("blue", "orange")


def test_rnn_page_captions_name_the_drawn_colours():
    at = open_page(RNN, SENTENCE)
    assert check_page(at, RNN) == 3


def test_gates_page_captions_name_the_drawn_colours():
    at = open_page(GATES, SENTENCE)
    assert check_page(at, GATES) == 6  # per tab: the gate heatmap, the coloured sentence, the highway
    at.selectbox(key="lstm_gate").set_value("c").run()  # a signed state: the diverging scale
    assert check_page(at, GATES) == 6


@pytest.mark.parametrize("example", ["ball", "your sentence"])
def test_gradients_page_captions_name_the_drawn_colours(example):
    at = open_page(GRADIENTS, SENTENCE)
    at.radio(key="grad_example").set_value(example).run()
    assert check_page(at, GRADIENTS) == 3  # one coloured sentence per model
