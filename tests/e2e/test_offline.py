"""Offline means offline: no request leaves 127.0.0.1 while every page loads and its main control is used."""
from __future__ import annotations

import urllib.parse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from pages.components.catalog import built_pages

from .harness import url_path, wait_rendered

PAGES = built_pages()
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def off_machine(url: str) -> bool:
    """A request to anything but this machine (data: and blob: URLs never leave the browser)."""
    parts = urllib.parse.urlparse(url)
    return parts.scheme not in ("data", "blob", "about") and parts.hostname not in LOCAL_HOSTS


def use_control(page, key: str) -> None:
    """Change the widget with this key the way a student would: step a slider, or pick another option."""
    box = page.locator(f".st-key-{key}")
    box.locator('[data-testid="stSlider"], [role="combobox"]').first.wait_for(timeout=60_000)  # not a skeleton
    slider = box.locator('input[type="range"]')  # react-aria's slider input is visually hidden but focusable
    if slider.count():
        before = slider.first.input_value()
        slider.first.focus()
        page.keyboard.press("ArrowRight")
        expect(slider.first).not_to_have_value(before)
    else:
        combo = box.get_by_role("combobox")
        before = combo.input_value()
        open_list(page, box)
        page.get_by_role("option").nth(1).click()
        expect(combo).not_to_have_value(before)
    wait_rendered(page)


def open_list(page, box) -> None:
    """Open a selectbox's list; a click that lands while a fragment is still rerunning is lost, so click again."""
    for _ in range(5):
        box.get_by_role("button", name="Open").click()
        try:
            page.get_by_role("listbox").wait_for(timeout=5_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError("the selectbox's list never opened")


def test_off_machine_detects_remote_hosts():
    assert off_machine("https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/school/default/24px.svg")
    assert not off_machine("http://127.0.0.1:8501/_stcore/health")
    assert not off_machine("data:image/png;base64,AAAA")


@pytest.mark.parametrize("info", PAGES, ids=[p.path for p in PAGES])
def test_no_request_leaves_the_machine(page, server_url, info):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("websocket", lambda ws: requests.append(ws.url))
    page.goto(f"{server_url}/{url_path(info.path)}")
    wait_rendered(page)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    if info.main_control:
        use_control(page, info.main_control)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert requests, "the page made no request at all: the listener is not working"
    assert [u for u in requests if off_machine(u)] == []
