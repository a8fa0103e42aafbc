"""A real browser against a real server: every page loads, charts render, user text stays text."""
from __future__ import annotations

import urllib.parse

import pytest
from playwright.sync_api import expect

from pages.components.catalog import built_pages

from .harness import streamlit_server, url_path, wait_rendered

PAGES = built_pages()
SENTENCE_LABEL = "Example sentence (shared by every page)"
PAYLOAD = (
    "<script>alert('lmlxss')</script><style>/*lmlxss*/body{display:none}</style>"
    "<img src=lmlxss onerror=alert(2)>"
)


@pytest.mark.parametrize("info", PAGES, ids=[p.path for p in PAGES])
def test_page_loads_and_charts_render(page, server_url, info):
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{server_url}/{url_path(info.path)}")
    wait_rendered(page)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator(".js-plotly-plot").count() >= 1
    assert not errors, errors


def test_markup_in_the_sentence_stays_plain_text(page, server_url):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server_url)
    wait_rendered(page)
    box = page.get_by_role("textbox", name=SENTENCE_LABEL)
    box.fill(PAYLOAD)
    box.press("Control+Enter")
    page.wait_for_function("() => window.location.search.includes('onerror')", timeout=60_000)  # rerun began
    wait_rendered(page)
    expect(page.get_by_text("Unknown words")).to_be_visible()
    assert dialogs == []
    injected = page.evaluate(
        """() => [...document.querySelectorAll('script, style')].some(e => e.textContent.includes('lmlxss'))
             || document.querySelectorAll('img[src="lmlxss"]').length > 0"""
    )
    assert injected is False
    assert page.evaluate("() => getComputedStyle(document.body).display") != "none"
    expect(page.locator('[data-testid="stMain"]')).to_be_visible()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_copied_link_reopens_the_same_sentence(page, server_url):
    page.goto(server_url)
    wait_rendered(page)
    box = page.get_by_role("textbox", name=SENTENCE_LABEL)
    box.fill("the little dog found a red ball .")
    box.press("Control+Enter")
    page.wait_for_function("() => window.location.search.includes('little+dog') || "
                           "window.location.search.includes('little%20dog')", timeout=60_000)
    link = page.url
    other = page.context.new_page()
    other.goto(link)
    wait_rendered(other)
    expect(other.get_by_role("textbox", name=SENTENCE_LABEL)).to_have_value(
        "the little dog found a red ball .", timeout=60_000)
    assert "s=" in urllib.parse.urlparse(link).query


def test_a_fresh_server_opens_a_shared_link_to_any_page(browser):
    """The first request after start goes through the router too (sidebar, sentence from the URL)."""
    last = PAGES[-1]
    with streamlit_server() as (url, _):
        page = browser.new_page()
        page.goto(f"{url}/{url_path(last.path)}?s=the+cat+sat+on+the+mat")
        expect(page.get_by_role("textbox", name=SENTENCE_LABEL)).to_have_value("the cat sat on the mat",
                                                                               timeout=60_000)
        expect(page.locator("h1").first).to_be_visible()
        wait_rendered(page)
        assert page.url.split("?")[0].endswith(url_path(last.path))
        titles = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
        assert any(last.title in t for t in titles)
        page.close()
