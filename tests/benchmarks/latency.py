"""Per-page rerun latency: median and p95 server time after changing the page's main control.

Also the time after typing a new sentence (nothing cached), and the ratio to a trivial page
(a selectbox and a line of text) measured in the same run. Target for Home: p95 ≤ 150 ms.

    python -m tests.benchmarks.latency [--reruns 40] [--pages transformer sampling]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from pages.components.catalog import built_pages
from tests.e2e.harness import streamlit_server, url_path

from .agent import AGENT_ARGS, AgentUser, failed, other_value, percentile, widget

TRIVIAL_APP = 'import streamlit as st\nv = st.selectbox("pick", ["a", "b"], key="k")\nst.write("chosen", v)\n'
SENTENCES = [
    "the little dog ran to the park and found a ball {i} times .",
    "lily and tom played with the red kite for {i} minutes .",
    "once upon a time there was a cat who liked {i} fish .",
]
HOME_P95_TARGET_MS = 150.0
# Sliders inside fragments: moving one reruns only its section.
SLIDERS = {"pages/views/rnn.py": "rnn_step", "pages/views/rnn_gates.py": "lstm_highway_from",
           "pages/views/rnn_gradients.py": "grad_scale", "pages/views/seq2seq.py": "s2s_step",
           "pages/views/transformer.py": "tf_query", "pages/views/sampling.py": "smp_temp",
           "pages/views/ngram.py": "ng_alpha", "pages/views/ffnn.py": "ffnn_position",
           "pages/views/train.py": "trn_lm_s", "pages/views/masked.py": "mlm_enc_j"}
# Controls that start new work each time they take a fresh value: the seed draws 3 new samples of 30 tokens.
FRESH = {"pages/views/sampling.py": "smp_seed"}
# Interventions (issue 21; target p95 ≤ 200 ms): each rerun moves to the next option, a new forcing or edge cut.
PROBES = {"pages/views/seq2seq.py": "s2s_force_source", "pages/views/transformer.py": "tf_edge_key"}


def summary(ms: list[float]) -> dict:
    return {"median_ms": round(statistics.median(ms), 1), "p95_ms": round(percentile(ms, 95), 1), "n": len(ms)}


def measure_control(user: AgentUser, key: str, reruns: int) -> tuple[list[float], int]:
    """Change the widget ``key`` ``reruns`` times; the server-side reruns' times and the errors."""
    times, errors = [], 0
    for _ in range(reruns):
        node = widget(user.snapshot, key)
        ms, out = user.set(**{key: other_value(node)})
        times.append(ms)
        errors += failed(out) is not None
    return times, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=40)
    parser.add_argument("--sentence", default=None, help="type this sentence before measuring the controls")
    parser.add_argument("--pages", nargs="*", default=None, help="only pages whose path contains one of these")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp) / "trivial.py"
        trivial.write_text(TRIVIAL_APP)
        with streamlit_server(AGENT_ARGS, script=trivial) as (url, _):
            user = AgentUser(url)
            user.open()
            base, _ = measure_control(user, "k", args.reruns)
    results = {"trivial": summary(base)}
    with streamlit_server(AGENT_ARGS) as (url, _):
        for i, page in enumerate(built_pages()):
            if args.pages and not any(part in page.path for part in args.pages):
                continue
            user = AgentUser(url)
            _, out = user.open(url_path(page.path) if i else None)  # the default page's url_path is ""
            assert "tree" in user.snapshot, out
            if args.sentence:
                user.set(sentence=args.sentence)
            ctrl, errors = measure_control(user, page.main_control, args.reruns)
            typed = []
            for i in range(min(args.reruns, 15)):
                ms, out = user.set(sentence=SENTENCES[i % len(SENTENCES)].format(i=i))
                typed.append(ms)
                errors += failed(out) is not None
            slider = {}
            if page.path in SLIDERS:
                times, errs = measure_control(user, SLIDERS[page.path], args.reruns)
                slider = {"slider": SLIDERS[page.path], **summary(times)}
                errors += errs
            probe = {}
            if page.path in PROBES:
                times, errs = measure_control(user, PROBES[page.path], args.reruns)
                probe = {"control": PROBES[page.path], **summary(times)}
                errors += errs
            fresh = {}
            if page.path in FRESH:
                times = []
                for value in range(1, args.reruns + 1):
                    ms, out = user.set(**{FRESH[page.path]: value})
                    times.append(ms)
                    errors += failed(out) is not None
                fresh = {"control": FRESH[page.path], **summary(times)}
            row = {
                "main_control": page.main_control,
                **summary(ctrl),
                "new_sentence": summary(typed),
                "slider_change": slider,
                "fresh_value": fresh,
                "intervention": probe,
                "errors": errors,
                "p95_ratio_to_trivial": round(percentile(ctrl, 95) / percentile(base, 95), 1),
            }
            if page.path == "pages/views/home.py":
                row["p95_target_ms"] = HOME_P95_TARGET_MS
                row["within_target"] = row["p95_ms"] <= HOME_P95_TARGET_MS
            results[page.path] = row
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
