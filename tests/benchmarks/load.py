"""Many students on one server: N simulated users change controls on Home against 127.0.0.1.

Each user is a session driven over Streamlit's agent API (the browser's rerun path). Each one,
``--rounds`` times, picks another model or types a new sentence, then waits a think time. Prints
p50/p95 rerun latency, errors and the server's memory for each N. Target: 30 users with
p95 ≤ 1 s and zero errors on a 2-core machine. Bounded: every loop has a fixed count.

    python -m tests.benchmarks.load [--users 10 30 100] [--rounds 10] [--think 1.0]
"""
from __future__ import annotations

import argparse
import json
import random
import threading
import time

from tests.e2e.harness import streamlit_server

from .agent import AGENT_ARGS, AgentUser, failed, other_value, percentile, rss_mb, widget

WORDS = "the little dog cat girl boy ran played found a big red ball park tree happy sad".split()


def student(url: str, seed: int, rounds: int, think_s: float, times: list, errors: list, lock) -> None:
    """One simulated student: open Home, then alternate model changes and new sentences."""
    rng = random.Random(seed)
    user = AgentUser(url)
    ms, out = user.open()
    if failed(out):
        with lock:
            errors.append(failed(out))
        return
    for r in range(rounds):
        time.sleep(rng.uniform(0.5, 1.5) * think_s)
        if r % 2 == 0:
            node = widget(user.snapshot, "home_model")
            ms, out = user.set(home_model=other_value(node))
        else:
            ms, out = user.set(sentence=" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 20))) + " .")
        with lock:
            times.append(ms)
            if failed(out):
                errors.append(failed(out))


def run_load(url: str, pid: int, users: int, rounds: int, think_s: float) -> dict:
    times, errors, lock = [], [], threading.Lock()
    threads = [threading.Thread(target=student, args=(url, i, rounds, think_s, times, errors, lock))
               for i in range(users)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    return {
        "users": users,
        "reruns": len(times),
        "p50_ms": round(percentile(times, 50), 1),
        "p95_ms": round(percentile(times, 95), 1),
        "max_ms": round(max(times), 1) if times else None,
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "server_rss_mb": round(rss_mb(pid), 1),
        "wall_s": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[10, 30, 100])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between a user's actions")
    args = parser.parse_args()
    with streamlit_server(AGENT_ARGS + ["--server.agentMaxSessions", "400"]) as (url, proc):
        warm = AgentUser(url)
        warm.open()  # load the models once, as the first student of the day would
        rows = [run_load(url, proc.pid, n, args.rounds, args.think) for n in args.users]
    for row in rows:
        row["target"] = "p95 <= 1000 ms, 0 errors (30 users)" if row["users"] == 30 else None
        print(json.dumps(row))


if __name__ == "__main__":
    main()
