"""The page side of live training: who the student is, whether their session is still open, and their run's status.

A run belongs to a Streamlit session. The scheduler's watchdog asks ``alive()`` about it; ``alive`` asks the
runtime's session registry (``Runtime.is_active_session``), which drops a session when its browser tab closes
(the websocket disconnects) or an agent-API session expires. Without a runtime (AppTest, bare mode) there is no
registry to ask, and the time cap alone ends a run.
"""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from models.scheduler import DONE, FAILED, STOPPED, WAITING, Run

from .loaders import get_scheduler

POLL_S = 0.5  # how often an active run's section redraws itself


def session_id() -> str:
    """This browser session's id (one run per student means one per session)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def session_alive(sid: str) -> Callable[[], bool]:
    """A check the scheduler can call from any thread: is the session still connected to this server?"""
    if not Runtime.exists():
        return lambda: True
    runtime = Runtime.instance()
    return lambda: runtime.is_active_session(sid)


def my_run(kind: str | None = None) -> Run | None:
    """This student's latest run (of this section's ``kind``, when given)."""
    run = get_scheduler().latest(session_id())
    if run is None or (kind is not None and run.work.kind != kind):
        return None
    return run


def start(work, budget_s: float) -> Run:
    """Queue ``work`` for this student (their previous run stops)."""
    sid = session_id()
    return get_scheduler().submit(sid, work, budget_s, session_alive(sid))


def stop(run: Run) -> None:
    """The student's stop button."""
    get_scheduler().stop(run, "stopped by you")


def server_status() -> str:
    """One line on the whole server's queue."""
    sched = get_scheduler()
    running, waiting = sched.counts()
    return (f"On this server now: {running} run(s) training, {waiting} waiting. At most {sched.limits.slots} train at "
            f"once; each run stops after {sched.limits.time_cap_s:g} s at most.")


def show_status(run: Run) -> None:
    """Progress bar and what the run is doing: waiting (with its place in the queue), training, or why it ended."""
    if run.state == WAITING:
        place = get_scheduler().position(run)
        st.progress(0.0, text=f"Waiting for a free slot: {place - 1} run(s) ahead of yours in the queue. The server "
                              "trains only a few models at once so that every student's pages stay fast.")
        return
    done = run.state in (DONE, STOPPED, FAILED)
    text = f"Training… {run.elapsed_s():.0f} s of {run.budget_s:.0f} s" if not done else {
        DONE: f"Finished after {run.elapsed_s():.1f} s.", STOPPED: f"{run.reason.capitalize()} "
        f"(after {run.elapsed_s():.1f} s).", FAILED: run.reason}[run.state]
    st.progress(run.progress(), text=text)
    if run.state == FAILED:
        st.warning(run.reason)
