"""Browser fixtures: one Streamlit server and one Chromium for the whole browser session."""
from __future__ import annotations

import os

import pytest

from .harness import CHROMIUM_ARGS, chromium_path, streamlit_server

# Assertions wait for the page (they poll a selector) up to 20 s instead of Playwright's 5 s: on a shared 2-core CI
# machine a page's first run can take longer. A test that needs more says so with its own timeout.
EXPECT_TIMEOUT_MS = 20_000


@pytest.fixture(scope="session", autouse=True)
def patient_expect():
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)


@pytest.fixture(scope="session")
def server_url():
    with streamlit_server(warm=True) as (url, _):  # as `make run` starts it: no first-request dialog
        yield url


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing on CI: `make test` installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (run `make test`, which installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()
