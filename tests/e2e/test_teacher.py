"""For the teacher, in Chromium: lesson links, the copy button, presenter mode, class mode with two browsers,
deep links on a fresh server, and axe-core's WCAG 2 A/AA check on every page."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from pages.components.catalog import built_pages
from pages.components.text import MAX_CHARS
from serve.run import healthy
from serve.store import SQLiteClassStore

from .harness import ROOT, free_port, stop, streamlit_server, url_path, wait_rendered
from .test_offline import open_list, use_control

PAGES = built_pages()
SENTENCE_LABEL = "Example sentence (shared by every page)"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SLOW = 60_000  # ms: a page's first figures on a busy 2-core machine


@contextlib.contextmanager
def warmed_server(env: dict[str, str] | None = None) -> Iterator[str]:
    """``python -m serve.run`` (what ``make run`` starts) on 127.0.0.1; yields its URL once it announced it."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "serve.run", "--port", str(port), "--address", "127.0.0.1"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, **(env or {})})
    try:
        for line in proc.stdout:  # blocks until the launcher says the server is warm (or exits)
            if "is ready" in line:
                break
        else:
            raise RuntimeError(f"serve.run exited with code {proc.wait()}")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc, 20)


@pytest.fixture(scope="module")
def class_db(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("class") / "classes.sqlite3"


@pytest.fixture(scope="module")
def app_url(class_db) -> Iterator[str]:
    with warmed_server({"LML_CLASS_DB": str(class_db)}) as url:
        yield url


def sidebar_box(page):
    return page.get_by_role("textbox", name=SENTENCE_LABEL)


def type_sentence(page, text: str) -> None:
    box = sidebar_box(page)
    box.fill(text)
    box.press("Control+Enter")
    wait_rendered(page)


# Lesson links ----------------------------------------------------------------------------------------------------

def test_a_lesson_link_opens_the_linked_controls(page, app_url):
    page.goto(f"{app_url}/transformer?tf_layer=layer+3&tf_head=head+2+%28orange%29&s=the+dog+ran+home+.")
    wait_rendered(page)
    expect(page.locator(".st-key-tf_layer [role=combobox]")).to_have_value("layer 3", timeout=SLOW)
    expect(page.locator(".st-key-tf_head [role=combobox]")).to_have_value("head 2 (orange)")
    expect(sidebar_box(page)).to_have_value("the dog ran home .")
    page.goto(f"{app_url}/sampling?smp_temp=0.5&smp_cut=top-p")
    wait_rendered(page)
    expect(page.locator(".st-key-smp_temp input[type=range]")).to_have_value("0.5", timeout=SLOW)
    expect(page.locator(".st-key-smp_cut").get_by_role("radio", name="top-p")).to_be_checked()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_changing_a_control_updates_the_address(page, app_url):
    page.goto(f"{app_url}/transformer")
    wait_rendered(page)
    assert "tf_layer" not in page.url  # defaults stay out of the address
    use_control(page, "tf_layer")
    page.wait_for_function("() => new URLSearchParams(location.search).get('tf_layer') === 'layer 2'")
    link = page.url
    other = page.context.new_page()
    other.goto(link)
    wait_rendered(other)
    expect(other.locator(".st-key-tf_layer [role=combobox]")).to_have_value("layer 2", timeout=SLOW)


def test_a_stale_link_gets_a_notice_and_no_exception(page, app_url):
    page.goto(f"{app_url}/transformer?tf_layer=layer+99&home_model=gpt-5&tf_query=999&nonsense=1")
    wait_rendered(page)
    notice = page.get_by_text("This link asked for settings")
    expect(notice).to_be_visible(timeout=SLOW)
    for name in ("tf_layer", "home_model", "tf_query", "nonsense"):
        expect(notice).to_contain_text(name)
    expect(page.locator(".st-key-tf_layer [role=combobox]")).to_have_value("layer 1", timeout=SLOW)
    page.wait_for_function("() => !location.search.includes('nonsense') && !location.search.includes('99')")
    assert page.locator('[data-testid="stException"]').count() == 0


def test_the_copy_button_copies_this_view(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_url)
    page = context.new_page()
    page.goto(f"{app_url}/transformer?tf_layer=layer+2&s=a+cat+.")
    wait_rendered(page)
    frame = page.frame_locator('[data-testid="stSidebar"] iframe')
    frame.get_by_role("button", name="Copy link to this view").click()
    expect(frame.get_by_role("status")).to_have_text("Copied")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == page.url and "tf_layer=layer" in copied and "/transformer" in copied
    context.close()


def test_a_figure_downloads_as_png_and_csv_named_after_page_chart_and_settings(page, app_url):
    page.goto(f"{app_url}/?home_model=GRU&s=the+cat+sat+.")
    wait_rendered(page)
    chart = page.locator(".st-key-home_chart .js-plotly-plot")
    chart.hover()
    with page.expect_download() as png:
        page.locator(".st-key-home_chart").get_by_role("button", name="Download plot as a PNG").click()
    assert png.value.suggested_filename.startswith("home_home_chart_")
    assert "home_model-gru" in png.value.suggested_filename and png.value.suggested_filename.endswith(".png")
    with page.expect_download() as csv:
        page.locator(".st-key-csv_home_chart").get_by_role("button").click()
    assert csv.value.suggested_filename == png.value.suggested_filename[:-4] + ".csv"
    rows = Path(csv.value.path()).read_text().splitlines()
    assert rows[0] == "trace,x,y" and len(rows) > 4  # the bars and the running product of "the cat sat ."


# Presenter mode --------------------------------------------------------------------------------------------------

def body_font_px(page) -> float:
    return page.evaluate("() => parseFloat(getComputedStyle(document.querySelector("
                         "'[data-testid=stMain] [data-testid=stMarkdownContainer] p')).fontSize)")


def test_presenter_mode_is_larger_folds_the_sidebar_and_hides_the_code(page, app_url):
    page.goto(f"{app_url}/transformer")
    wait_rendered(page)
    normal = body_font_px(page)
    expect(page.locator('[data-testid="stSidebar"]')).to_have_attribute("data-collapsed", "false")
    assert page.get_by_text("Show the code that computed this").count() >= 1
    page.goto(f"{app_url}/transformer?present=1")
    wait_rendered(page)
    page.wait_for_selector(".js-plotly-plot .xtick text", state="attached", timeout=60_000)
    assert body_font_px(page) >= 1.3 * normal
    expect(page.locator('[data-testid="stSidebar"]')).to_have_attribute("data-collapsed", "true")
    assert page.get_by_text("Show the code that computed this").count() == 0
    tick = page.evaluate("() => parseFloat(document.querySelector('.js-plotly-plot .xtick text').style.fontSize)")
    assert tick >= 1.3 * 12  # plotly's default 12 px


# Deep links on a fresh server ------------------------------------------------------------------------------------

def first_request_dialog(browser, url: str) -> int:
    """Open a sub-page as the very first request to a server; the number of dialogs once the page has run."""
    page = browser.new_page()
    page.goto(f"{url}/{url_path(PAGES[-1].path)}?s=the+cat+sat")
    wait_rendered(page)
    expect(page.get_by_role("textbox", name=SENTENCE_LABEL)).to_have_value("the cat sat", timeout=SLOW)
    count = page.get_by_role("dialog").count()
    page.close()
    return count


def test_a_fresh_plain_server_shows_the_dialog_that_the_warm_up_removes(browser):
    """Streamlit issue #9992, reproduced on a plain server, then gone on one started by ``make run``."""
    with streamlit_server() as (url, _):
        page = browser.new_page()
        page.goto(f"{url}/{url_path(PAGES[-1].path)}")
        expect(page.get_by_role("dialog")).to_contain_text("Page not found", timeout=60_000)
        page.close()
    with warmed_server() as url:
        assert first_request_dialog(browser, url) == 0
    assert not healthy(url), "stopping the launcher (SIGTERM) left its Streamlit server running"


# Class mode ------------------------------------------------------------------------------------------------------

def show_class_box(page) -> None:
    """Unfold the sidebar's class box unless it is open already."""
    if not page.get_by_role("button", name="Open a class").or_(page.get_by_text("In class")).or_(
            page.get_by_role("button", name="Close the class")).first.is_visible():
        page.get_by_text("Class mode").click()


def open_class(page) -> str:
    show_class_box(page)
    page.get_by_role("button", name="Open a class").click()
    code = page.locator('[data-testid="stSidebar"]').get_by_text("Class code:")
    expect(code).to_be_visible(timeout=SLOW)
    return code.locator("strong").inner_text()


def join_class(page, code: str) -> None:
    show_class_box(page)
    box = page.get_by_role("textbox", name="Class code")
    box.fill(code)
    box.press("Enter")
    page.get_by_role("button", name="Join").click()
    wait_rendered(page)


def test_a_class_follows_the_teacher_and_answers_are_counted(browser, app_url):
    teacher_ctx, student_ctx = (browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2))
    teacher, student = teacher_ctx.new_page(), student_ctx.new_page()
    for p in (teacher, student):
        p.goto(app_url)
        wait_rendered(p)
    code = open_class(teacher)
    join_class(student, code)
    expect(student.get_by_text(f"In class {code}")).to_be_visible()

    type_sentence(teacher, "the little dog found a red ball .")
    pushed = time.monotonic()
    expect(sidebar_box(student)).to_have_value("the little dog found a red ball .", timeout=3_000)
    assert time.monotonic() - pushed <= 3.0

    wait_rendered(student)
    open_list(student, student.locator(".st-key-home_guess"))
    student.get_by_role("option").nth(2).click()
    wait_rendered(student)
    student.get_by_role("button", name="Send my guess to the class").click()
    expect(student.get_by_text("Sent (anonymously)")).to_be_visible()
    expect(teacher.get_by_text("1 answer(s) so far")).to_be_visible(timeout=5_000)

    teacher.locator('[data-testid="stSidebarNav"] a', has_text="Sampling").click()  # the class follows
    teacher.wait_for_function("() => location.pathname.endsWith('/sampling')")
    wait_rendered(teacher)
    student.wait_for_function("() => location.pathname.endsWith('/sampling')", timeout=3_000)
    wait_rendered(student)
    expect(sidebar_box(student)).to_have_value("the little dog found a red ball .")

    student.get_by_text("Follow the teacher").click()  # explore alone, then come back
    wait_rendered(student)
    student.locator('[data-testid="stSidebarNav"] a', has_text="Compare models").click()
    student.wait_for_function("() => location.pathname.endsWith('/compare')")
    wait_rendered(student)
    student.get_by_role("button", name="Back to the teacher's view").click()
    student.wait_for_function("() => location.pathname.endsWith('/sampling')", timeout=10_000)
    teacher_ctx.close()
    student_ctx.close()


def test_bad_class_input_gets_a_clear_message_and_nothing_is_lost(browser, app_url, class_db):
    teacher_ctx, student_ctx = (browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2))
    teacher, student = teacher_ctx.new_page(), student_ctx.new_page()
    for p in (teacher, student):
        p.goto(app_url)
        wait_rendered(p)
    type_sentence(student, "my own sentence stays .")
    join_class(student, "NOPE9")
    expect(student.get_by_text("No class has the code NOPE9")).to_be_visible()
    ended = SQLiteClassStore(class_db, ttl_s=-1.0).open_class("a teacher long gone")
    join_class(student, ended)
    expect(student.get_by_text(f"Class {ended} has ended")).to_be_visible()
    expect(sidebar_box(student)).to_have_value("my own sentence stays .")

    code = open_class(teacher)
    join_class(student, code)
    expect(student.get_by_text(f"In class {code}")).to_be_visible()
    huge = ("a long story about a dog . " * 200)[:5_000]
    type_sentence(teacher, huge)
    expect(teacher.get_by_text(f"the class receives the first {MAX_CHARS}")).to_be_visible()
    expect(sidebar_box(teacher)).to_have_value(huge)  # the teacher's own text is kept whole
    expect(sidebar_box(student)).to_have_value(huge[:MAX_CHARS], timeout=10_000)
    assert teacher.locator('[data-testid="stException"]').count() == 0
    assert student.locator('[data-testid="stException"]').count() == 0
    teacher_ctx.close()
    student_ctx.close()


# Accessibility ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["", "?present=1"], ids=["normal", "presenter"])
@pytest.mark.parametrize("info", PAGES, ids=[p.path for p in PAGES])
def test_axe_finds_no_wcag_a_or_aa_violation(page, app_url, info, mode):
    assert AXE.exists(), "axe-core is missing: `make axe` (part of `make test`) installs it from package.json"
    page.goto(f"{app_url}/{url_path(info.path)}{mode}")
    wait_rendered(page)
    page.wait_for_selector(".js-plotly-plot .main-svg", state="attached", timeout=60_000)
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations.map(
             v => `${v.id}: ${v.nodes.length} × ${v.nodes[0].failureSummary.split('\\n')[1] || v.help}`)""", WCAG)
    assert violations == []
