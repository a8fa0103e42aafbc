"""Save a screenshot of the Home page for the README: ``python -m tests.e2e.screenshot [OUT.png]``."""
from __future__ import annotations

import sys

from playwright.sync_api import sync_playwright

from .harness import CHROMIUM_ARGS, ROOT, chromium_path, streamlit_server, wait_rendered


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "assets" / "screenshot.png")
    with streamlit_server() as (url, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        wait_rendered(page)
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
        page.screenshot(path=out, full_page=False)
        browser.close()
    print(out)


if __name__ == "__main__":
    main()
