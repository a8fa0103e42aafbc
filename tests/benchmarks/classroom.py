"""A class through the real stack: N students behind HAProxy (`make class`), against one process, and a fault.

Each simulated student keeps its own cookies (HAProxy's affinity cookie) and drives one session over Streamlit's
agent API (the browser's rerun path). Students are spread over Home, Transformer, Sampling and Seq2seq; each opens
its page, types its own sentence once, then moves one of that page's controls every ``--think`` s (±50 %),
``--rounds`` times. One JSON line per N for the class stack and for a single Streamlit process on the same
machine in the same run (their p95 ratio), and with ``--fault`` a row where one replica is killed half-way: its
students' next request fails with a message, they open a new session (landing on another replica) and go on;
those lost sessions are counted, and the other students' errors separately. Loopback only; bounded (fixed counts,
a timeout per request and per thread).

    python -m tests.benchmarks.classroom [--students 30 100] [--think 5] [--rounds 8] [--arrive 0] [--replicas 2]
                                         [--fault]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field

from pages.components.catalog import CATALOG
from tests.e2e.class_harness import class_stack
from tests.e2e.harness import streamlit_server, url_path

from .agent import AGENT_ARGS, AgentUser, failed, other_value, percentile, rss_mb, widget
from .latency import SLIDERS

PAGES = ["pages/views/home.py", "pages/views/transformer.py", "pages/views/sampling.py", "pages/views/seq2seq.py"]
WORDS = "the little dog cat girl boy ran played found a big red ball park tree happy sad mom said".split()
SERVER_ARGS = [*AGENT_ARGS, "--server.agentMaxSessions", "1000"]


def controls(page: str) -> list[str]:
    """The widgets a student on this page moves: its main control and its section slider."""
    main = next(p.main_control for p in CATALOG if p.path == page)
    return [main, *([SLIDERS[page]] if page in SLIDERS else [])]


@dataclass
class Tally:
    """What the students measured, under one lock."""

    times: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)  # each student's open + own sentence (within --arrive s)
    errors: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # replica names whose students lost their session
    lost_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Fault:
    """Kill ``replica`` (its pid) once, ``at_s`` after the start; set ``done`` afterwards."""

    replica: str
    pid: int
    at_s: float
    done: threading.Event = field(default_factory=threading.Event)


def open_page(user: AgentUser, page: str, sentence: str) -> tuple[float, dict]:
    """Open the page (the default page has url_path "") and type the student's sentence."""
    _, out = user.open(None if page == PAGES[0] else url_path(page))
    if failed(out):
        return 0.0, out
    return user.set(sentence=sentence)


def reopen(url: str, page: str, sentence: str, tries: int = 10) -> AgentUser | None:
    """A student whose session was lost opens the page again (HAProxy picks a live replica), a few tries."""
    for _ in range(tries):
        user = AgentUser.behind_proxy(url)
        _, out = open_page(user, page, sentence)
        if not failed(out) and user.snapshot:
            return user
        time.sleep(1.0)  # what a student does: wait a moment and reload
    return None


def student(url: str, seed: int, args, tally: Tally, fault: Fault | None) -> None:
    """One student: their page, their sentence, then a control every think time; reopens after a lost session."""
    rng = random.Random(seed)
    page = PAGES[seed % len(PAGES)]
    sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 14))) + " ."
    time.sleep(rng.uniform(0.0, args.arrive))  # students come in over --arrive s (0: the whole class at one instant)
    user = AgentUser.behind_proxy(url)
    ms, out = open_page(user, page, sentence)
    with tally.lock:
        if failed(out):
            tally.errors.append(failed(out))
        else:
            tally.times.append(ms)
            tally.first.append(ms)
    if failed(out) or not user.snapshot:
        user = reopen(url, page, sentence)  # as a student reloads a page that did not open
        if user is None:
            with tally.lock:
                tally.errors.append("could_not_open")
            return
    keys = controls(page)
    for r in range(args.rounds):
        time.sleep(rng.uniform(0.5, 1.5) * args.think)
        before = user.cookie("SERVERID")
        node = widget(user.snapshot, keys[r % len(keys)])
        ms, out = user.set(**{node["key"]: other_value(node)}) if node else user.set(sentence=sentence)
        why = failed(out)
        lost = bool(why) and fault is not None and fault.done.is_set() and before == fault.replica
        with tally.lock:
            if lost:
                tally.lost.append(before)  # its replica was killed: the session is gone
                tally.lost_errors.append(f"{why}: {out['error'].get('message', '')[:160]}")
            elif why:
                tally.errors.append(why)
            else:
                tally.times.append(ms)
        if lost:
            user = reopen(url, page, sentence)
            if user is None:
                with tally.lock:
                    tally.errors.append("could_not_reopen")
                return


def killer(fault: Fault, start: float) -> None:
    time.sleep(max(0.0, fault.at_s - (time.monotonic() - start)))
    fault.done.set()  # from now on a failure of one of its students is a lost session
    os.kill(fault.pid, signal.SIGKILL)


def run_class(url: str, n: int, args, fault: Fault | None = None) -> Tally:
    tally = Tally()
    threads = [threading.Thread(target=student, args=(url, i, args, tally, fault), daemon=True) for i in range(n)]
    start = time.monotonic()
    if fault:
        threads.append(threading.Thread(target=killer, args=(fault, start), daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(0.0, args.arrive + args.rounds * args.think * 2 + 300 - (time.monotonic() - start)))
    return tally


def replica_rss(stack) -> dict[str, float]:
    """Resident memory of every replica now, in MB."""
    return {name: round(rss_mb(pid), 1) for name, pid in stack.pids().items() if name != "haproxy"}


def row(kind: str, n: int, tally: Tally, rss: dict[str, float], wall_s: float) -> dict:
    """p50/p95/max over every rerun, and split: the first sentence (students arriving) and the controls."""
    controls = list(tally.times)
    for ms in tally.first:
        controls.remove(ms)
    return {"stack": kind, "students": n, "reruns": len(tally.times),
            "p50_ms": round(percentile(tally.times, 50), 1), "p95_ms": round(percentile(tally.times, 95), 1),
            "max_ms": round(max(tally.times), 1) if tally.times else None,
            "first_sentence_p50_p95_ms": [round(percentile(tally.first, q), 1) for q in (50, 95)],
            "controls_p50_p95_ms": [round(percentile(controls, q), 1) for q in (50, 95)],
            "errors": len(tally.errors),
            "error_kinds": sorted(set(tally.errors)), "rss_mb": rss, "wall_s": round(wall_s, 1)}


def warm(urls: list[str]) -> None:
    """Every replica opens every page once (the first student of the day loads the models)."""
    for url in urls:
        for page in PAGES:
            open_page(AgentUser(url), page, "the little dog found a ball .")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, nargs="+", default=[30, 100])
    parser.add_argument("--think", type=float, default=5.0, help="mean seconds between a student's actions")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--arrive", type=float, default=0.0,
                        help="students open their page at random times over this many seconds (0: all at once)")
    parser.add_argument("--replicas", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--fault", action="store_true", help="also a run where one replica is killed half-way")
    parser.add_argument("--no-single", action="store_true", help="skip the single-process comparison")
    args = parser.parse_args()
    rows = []
    with class_stack(args.replicas, hosts=("127.0.0.1",), streamlit_args=SERVER_ARGS) as stack:
        warm(list(stack.replica_urls().values()))
        for n in args.students:
            before = replica_rss(stack)
            start = time.monotonic()
            tally = run_class(stack.url, n, args)
            rows.append(row(f"class ({args.replicas} replicas + haproxy)", n, tally, replica_rss(stack),
                            time.monotonic() - start) | {"rss_mb_before": before})
        if args.fault:
            n = max(args.students)
            seen = len(stack.lines)
            fault = Fault("r0", stack.pids()["r0"], at_s=args.rounds * args.think / 2)
            start = time.monotonic()
            tally = run_class(stack.url, n, args, fault)
            stack.wait_line(r"replica r0 ready", after=seen)
            out = row("class, r0 killed half-way", n, tally, {}, time.monotonic() - start)
            out.update(lost_sessions=len(tally.lost), lost_session_messages=sorted(set(tally.lost_errors)),
                       restarted=bool(stack.wait_line(r"replica r0 exited", after=seen)))
            rows.append(out)
    if not args.no_single:
        with streamlit_server(SERVER_ARGS) as (url, proc):
            warm([url])
            for n in args.students:
                before = {"single": round(rss_mb(proc.pid), 1)}
                start = time.monotonic()
                tally = run_class(url, n, args)
                single = row("one process", n, tally, {"single": round(rss_mb(proc.pid), 1)},
                             time.monotonic() - start) | {"rss_mb_before": before}
                match = next(r for r in rows if r["students"] == n and r["stack"].startswith("class ("))
                match["p95_single_over_class"] = round(single["p95_ms"] / match["p95_ms"], 2)
                rows.append(single)
    for out in rows:
        out["arrive_s"] = args.arrive
        if out["students"] == 100 and out["stack"].startswith("class ("):
            out["target"] = "p95 <= 1000 ms, 0 errors (100 students, think 5 s)"
        print(json.dumps(out))


if __name__ == "__main__":
    main()
