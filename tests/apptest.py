"""Helpers for Streamlit AppTest: open the whole app on a page, read the figures' data."""
from __future__ import annotations

import base64
import json

import numpy as np
from streamlit.testing.v1 import AppTest


def _router(page_path: str) -> None:
    from pages.components.router import run

    run(default=page_path)


def open_page(page_path: str, sentence: str | None = None) -> AppTest:
    """The whole app (router, sidebar, page) showing ``page_path``.

    AppTest.switch_page runs a page file on its own, without the router and sidebar, so the app is
    started with that page as its default instead.
    """
    at = AppTest.from_function(_router, args=(page_path,), default_timeout=180)
    if sentence is not None:
        at.session_state["sentence"] = sentence
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def figure(at: AppTest, key: str) -> dict:
    """The plotly figure spec of the chart with this key."""
    for chart in at.get("plotly_chart"):
        if chart.proto.id.endswith(key) or key in chart.proto.id:
            return json.loads(chart.proto.spec)
    raise AssertionError(f"no chart {key!r} among {[c.proto.id for c in at.get('plotly_chart')]}")


def figures(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def values(array) -> np.ndarray:
    """A plotly data array, whether a JSON list or a typed base64 block."""
    if isinstance(array, dict) and "bdata" in array:
        flat = np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
        shape = array.get("shape")
        if shape:
            dims = [int(d) for d in str(shape).split(",")]
            return flat.reshape(dims)
        return flat
    return np.asarray(array, dtype=float)
