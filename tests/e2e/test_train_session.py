"""A live training run stops when its student's session ends, on a real server (Streamlit's session registry).

Two ways a session ends: an agent-API session expires after ``server.agentSessionTTL`` without a request, and a
browser tab closes (its websocket disconnects). In both, a second student's page reports the server's runs; the run
asked for 60 s, so seeing it gone within 20 s means the session's end stopped it, not its budget.
"""
from __future__ import annotations

import json
import re
import time

import pytest

from tests.benchmarks.agent import AGENT_ARGS, AgentUser, failed

from .harness import streamlit_server, url_path, wait_rendered

TRAIN = url_path("pages/views/train.py")
TTL_S = 3


@pytest.fixture(scope="module")
def train_server():
    with streamlit_server([*AGENT_ARGS, "--server.agentSessionTTL", str(TTL_S)]) as (url, _):
        yield url


def running(user: AgentUser) -> int:
    """Runs training on the whole server, as the page's status line says after a fresh rerun."""
    _, out = user.interact()
    assert failed(out) is None, out
    found = re.search(r"(\d+) run\(s\) training", json.dumps(out["tree"]))
    assert found, "the page shows the server's runs"
    return int(found.group(1))


def wait_running(user: AgentUser, count: int, timeout_s: float) -> float:
    """Poll another student's page until ``count`` runs train; the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if running(user) == count:
            return time.monotonic() - start
        time.sleep(0.5)  # a student's rerun every half second, as the page's own polling does
    raise AssertionError(f"still not {count} run(s) training after {timeout_s} s")


def test_a_run_stops_when_its_agent_session_expires(train_server):
    watcher = AgentUser(train_server)
    watcher.open(TRAIN)
    assert running(watcher) == 0
    student = AgentUser(train_server)
    student.open(TRAIN)
    student.set(trn_lm_s=60)
    _, out = student.interact(trigger={"key": "trn_lm_start"})
    assert failed(out) is None, out
    assert running(watcher) == 1
    # The student sends nothing more: the server closes the session TTL_S seconds later (its sweep runs every TTL_S).
    assert wait_running(watcher, 0, timeout_s=20) < 20


def test_a_run_stops_when_its_browser_tab_closes(train_server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{train_server}/{TRAIN}")
    wait_rendered(page)
    page.get_by_role("button", name="▶ Start").nth(1).click()  # section 2: the LM on the default stories
    page.get_by_text("Training…").first.wait_for(timeout=60_000)
    page.get_by_text("Sample at step").first.wait_for(timeout=60_000)  # the page redraws itself while it trains
    watcher = AgentUser(train_server)  # opened now: an idle agent session would expire after TTL_S
    watcher.open(TRAIN)
    assert running(watcher) == 1
    context.close()  # the student closes the tab
    assert wait_running(watcher, 0, timeout_s=20) < 20
