"""Live training on a class server: other students' Home reruns while two runs train, and the first loss point.

Against one real server (``streamlit run`` with the agent API): a Home student changes the model back to back,
first with nothing training (idle), then while two other students train on the Train page (one dates seq2seq, one
LSTM on the default stories). Prints Home's median / p95 rerun time in both phases and their ratio (target: p95 ≤ 2×
idle), and for each training student the time from pressing Start to the first response whose page holds the loss
chart (target ≤ 2 s; the page itself polls every 0.5 s), and the training student's own control (the model picker
of section 2) while its run trains (target p95 ≤ 150 ms). Bounded: fixed counts and deadlines.

    python -m tests.benchmarks.training_load [--reruns 40]
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import time

from tests.e2e.harness import streamlit_server, url_path

from .agent import AGENT_ARGS, AgentUser, failed, other_value, percentile, widget

TRAIN = url_path("pages/views/train.py")
RUNS = (("trn_dates_start", "trn_dates_s", 30, "trn_dates_loss"), ("trn_lm_start", "trn_lm_s", 60, "trn_lm_loss"))


def home_reruns(user: AgentUser, reruns: int) -> tuple[list[float], int]:
    """Change Home's model ``reruns`` times; the reruns' times and the errors."""
    times, errors = [], 0
    for _ in range(reruns):
        ms, out = user.set(home_model=other_value(widget(user.snapshot, "home_model")))
        times.append(ms)
        errors += failed(out) is not None
    return times, errors


def has_chart(out: dict, key: str) -> bool:
    return key in json.dumps(out.get("tree", {}))


def start_run(url: str, start_key: str, seconds_key: str, seconds: int, chart_key: str) -> tuple[AgentUser, float]:
    """A student opens the Train page, presses Start, and reruns until the loss chart is there: (user, seconds)."""
    user = AgentUser(url)
    user.open(TRAIN)
    user.set(**{seconds_key: seconds})
    begin = time.perf_counter()
    _, out = user.interact(trigger={"key": start_key})
    deadline = begin + 30
    while not has_chart(out, chart_key) and time.perf_counter() < deadline:
        time.sleep(0.05)  # a tight poll: the measured time is the run's, not the page's 0.5 s interval
        _, out = user.interact()
    return user, time.perf_counter() - begin


def summary(ms: list[float]) -> dict:
    return {"median_ms": round(statistics.median(ms), 1), "p95_ms": round(percentile(ms, 95), 1), "n": len(ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=40)
    args = parser.parse_args()
    with streamlit_server(AGENT_ARGS) as (url, _):
        home = AgentUser(url)
        home.open()
        warm = AgentUser(url)
        warm.open(TRAIN)  # the default stories are written once per server, before anyone measures
        home_reruns(home, 5)  # warm caches
        idle, idle_errors = home_reruns(home, args.reruns)
        first_loss = {}
        students = []
        for start_key, seconds_key, seconds, chart_key in RUNS:
            user, took = start_run(url, start_key, seconds_key, seconds, chart_key)
            students.append(user)
            first_loss[start_key] = round(took, 2)
        busy, busy_errors = home_reruns(home, args.reruns)
        own, own_errors = [], 0
        for _ in range(args.reruns // 2):  # the training student's own control, in the section that polls
            ms, out = students[-1].set(trn_arch=other_value(widget(students[-1].snapshot, "trn_arch")))
            own.append(ms)
            own_errors += failed(out) is not None
        _, out = students[-1].interact()
        found = re.search(r"(\d+) run\(s\) training", json.dumps(out.get("tree", {})))
        still_training = int(found.group(1)) if found else None
    result = {
        "home_idle": summary(idle),
        "home_while_two_runs_train": summary(busy),
        "p95_ratio": round(percentile(busy, 95) / percentile(idle, 95), 2),
        "median_ratio": round(statistics.median(busy) / statistics.median(idle), 2),
        "target": "p95 ratio <= 2",
        "train_page_own_control_while_training": summary(own),
        "seconds_to_first_loss_point": first_loss,
        "runs_training_after_the_busy_phase": still_training,
        "errors": idle_errors + busy_errors + own_errors,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
