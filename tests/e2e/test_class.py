"""`make class` for real: two replicas (on 127.0.0.2 and 127.0.0.3, standing in for two hosts) behind HAProxy,
two browsers, cookie affinity, a download served by the replica that made it, a replica that dies, a clean stop."""
from __future__ import annotations

import os
import signal
import socket
import urllib.error
import urllib.parse
import urllib.request

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from .class_harness import alive, class_stack
from .harness import wait_rendered

SENTENCE_LABEL = "Example sentence (shared by every page)"
CONNECTION = "document.querySelector('[data-testid=\"stApp\"]').getAttribute('data-test-connection-state')"


def replica_of(context) -> str:
    """The affinity cookie HAProxy gave this browser."""
    return next(c["value"] for c in context.cookies() if c["name"] == "SERVERID")


def type_sentence(page, text: str) -> None:
    box = page.get_by_role("textbox", name=SENTENCE_LABEL)
    box.fill(text)
    box.press("Control+Enter")
    page.wait_for_function("(w) => window.location.search.includes(w)", arg=text.split()[1], timeout=60_000)
    wait_rendered(page)
    assert page.locator('[data-testid="stException"]').count() == 0


def click_download(page, button, tries: int = 3):
    """Click a download button until the browser starts the download: on a loaded machine the click's rerun can
    redraw the button before the browser acts on it, and the click is lost (seen on CI; a person clicks again)."""
    for _ in range(tries - 1):
        try:
            with page.expect_download(timeout=30_000) as info:  # the file comes through HAProxy from its replica
                button.click()
            return info.value
        except PlaywrightTimeout:
            continue
    with page.expect_download(timeout=30_000) as info:  # the last try: its timeout is the test's failure
        button.click()
    return info.value


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def listening(url: str) -> bool:
    parts = urllib.parse.urlparse(url)
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((parts.hostname, parts.port)) == 0


def test_a_class_of_two_replicas(browser):
    with class_stack(replicas=2) as stack:
        urls = stack.replica_urls()
        assert {urllib.parse.urlparse(u).hostname for u in urls.values()} == {"127.0.0.2", "127.0.0.3"}
        contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
        pages = [c.new_page() for c in contexts]
        for page in pages:  # one after the other: the second arrives while the first holds its websocket
            page.goto(stack.url)
            wait_rendered(page)
        first = [replica_of(c) for c in contexts]
        assert set(first) == {"r0", "r1"}, first  # leastconn spread the two browsers over the two replicas

        for i, page in enumerate(pages):
            type_sentence(page, f"the {['little', 'happy'][i]} dog found a red ball .")
            expect(page.get_by_text("perplexity").first).to_be_visible()
        assert [replica_of(c) for c in contexts] == first  # each stayed on its replica

        # The CSV is a media file in the memory of the replica that ran the script: only affinity finds it.
        page = pages[0]
        page.get_by_text("The numbers behind the chart").click()
        button = page.get_by_role("button", name="Download CSV")
        expect(button).to_be_enabled(timeout=60_000)  # the expander's content arrives over the websocket
        download = click_download(page, button)
        assert "log p" in open(download.path(), encoding="utf-8").read()
        media = urllib.parse.urlparse(download.url).path
        own, other = urls[first[0]], urls[first[1]]
        assert status_of(own + media) == 200
        assert status_of(other + media) == 404

        # A replica dies: its browser reconnects by itself to the other replica (a new session, the sentence kept in
        # the address), the other browser keeps its session, and the launcher restarts the dead replica.
        seen = len(stack.lines)
        dead = stack.pids()[first[1]]
        os.kill(dead, signal.SIGKILL)
        pages[1].wait_for_function(f"() => {CONNECTION} !== 'CONNECTED'", timeout=30_000)  # "Connecting…"
        pages[1].wait_for_function(f"() => {CONNECTION} === 'CONNECTED'", timeout=60_000)
        wait_rendered(pages[1])
        # HAProxy sent it to a live process: the other replica, or (when the launcher was quicker than the
        # browser's reconnect backoff) the dead one's restarted successor, never the killed process.
        now = replica_of(contexts[1])
        assert now == first[0] or stack.pids()[now] != dead, (now, dead)
        expect(pages[1].get_by_role("textbox", name=SENTENCE_LABEL)).to_have_value("the happy dog found a red ball .")
        stack.wait_line(rf"replica {first[1]} exited", after=seen)
        type_sentence(pages[0], "the happy cat sat on the mat .")
        assert replica_of(contexts[0]) == first[0]
        stack.wait_line(rf"replica {first[1]} ready", after=seen)
        assert stack.pids()[first[1]] != dead and alive(stack.pids()[first[1]])
        for c in contexts:
            c.close()
        children = stack.pids()

    # Stopped (SIGTERM, as Ctrl-C): the launcher exited after every child; nothing listens any more.
    assert stack.proc.returncode == 0
    assert stack.lines[-1] == "class stopped"
    assert [name for name, pid in children.items() if alive(pid)] == []
    assert not any(listening(u) for u in [stack.url, *urls.values()])
