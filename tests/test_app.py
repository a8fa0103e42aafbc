"""Every page in the navigation renders with defaults and follows its controls (Streamlit AppTest)."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from pages.components.catalog import ROOT, built_pages

from .apptest import figures, open_page

PAGES = built_pages()


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)


def _open(page_path: str) -> AppTest:
    return open_page(page_path)


def _figures(at: AppTest) -> list[dict]:
    return figures(at)


def _data(at: AppTest) -> list:
    return [trace for fig in figures(at) for trace in fig["data"]]


def _change(at: AppTest, key: str) -> None:
    """Pick another value for the widget with this key, whatever its kind."""
    for w in at.selectbox:
        if w.key == key:
            w.select_index(1 if w.index == 0 else 0).run()  # by position: labels may be formatted
            return
    for w in at.slider:
        if w.key == key:
            w.set_value(w.max if w.value != w.max else w.min).run()
            return
    for w in at.toggle:
        if w.key == key:
            w.set_value(not w.value).run()
            return
    raise AssertionError(f"no widget with key {key!r}")


def test_navigation_lists_every_built_page():
    at = _app().run()
    assert not at.exception
    assert PAGES and PAGES[0].path == "pages/views/home.py"


@pytest.mark.parametrize("page", PAGES, ids=[p.path for p in PAGES])
def test_page_renders_with_defaults(page):
    at = _open(page.path)
    assert at.title, "every page has a title"
    assert _figures(at), "every page shows a live figure"


@pytest.mark.parametrize("page", PAGES, ids=[p.path for p in PAGES])
def test_main_control_changes_the_figure(page):
    at = _open(page.path)
    before = _data(at)
    _change(at, page.main_control)
    assert not at.exception
    assert _data(at) != before


@pytest.mark.parametrize("page", PAGES, ids=[p.path for p in PAGES])
def test_shared_sentence_changes_the_figure(page):
    at = _open(page.path)
    before = _data(at)
    at.text_area(key="sentence").set_value("the dog ran to the big red ball and lily was happy .").run()
    assert not at.exception
    assert _data(at) != before


BAD_INPUTS = ["", "   \n ", "word " * 1000, "🙂 日本語 ñandú", "<script>alert(1)</script><style>*{}</style>"]


@pytest.mark.parametrize("page", PAGES, ids=[p.path for p in PAGES])
@pytest.mark.parametrize("text", BAD_INPUTS)
def test_bad_input_never_raises(page, text):
    at = _open(page.path)
    at.text_area(key="sentence").set_value(text).run()
    assert not at.exception, [e.value for e in at.exception]
