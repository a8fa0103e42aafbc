"""Speed of a quality–diversity sweep: every zoo model as the sampler, the transformer as the scorer.

One sweep = 8 settings × ``--samples`` continuations × ``--tokens`` tokens, sampled in batches and scored
in one forward each. Target: ≤ 2 s per sweep on one CPU thread with the transformer as sampler.
``forward_s`` is the sampler's batched decoding alone (``begin`` on the prompt, then one ``extend`` per further
token; same shapes, no sampling), the floor under the sweep.
Prints one JSON line per (model, sweep kind) and a summary.

    python -m tests.benchmarks.tradeoff_speed [--threads N] [--kinds top_k ...] [--models transformer ...]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from models.lm import LanguageModel
from models.registry import LM_NAMES, best_device, load
from models.tradeoff import KINDS, default_settings, sweep

PROMPT = "once upon a time , a little girl named mia found a small box under her bed ."  # written for the benchmark
SWEEP_TARGET_S = 2.0


def median_s(fn, repeats: int) -> float:
    """Median wall time of ``repeats`` calls in seconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


@torch.no_grad()
def forwards_only(model: LanguageModel, prompt: list[int], settings: int, samples: int, tokens: int) -> None:
    """The model calls of a sweep (per setting: a batched ``begin``, then an ``extend`` per token), on fixed ids."""
    ids = torch.tensor([prompt] * samples, device=model.device)  # (S, P)
    for _ in range(settings):
        _, cache = model.begin(ids)
        for _ in range(tokens - 1):
            _, cache = model.extend(cache, ids[:, -1])


def measure(sampler: LanguageModel, scorer: LanguageModel, prompt: list[int], kind: str, args) -> dict:
    """Median sweep time and its forward-only floor for one sampler and one sweep kind."""
    settings = default_settings(kind)

    def run_sweep() -> None:
        sweep(sampler, scorer, prompt, settings, args.samples, args.tokens)

    def run_forwards() -> None:
        forwards_only(sampler, prompt, len(settings), args.samples, args.tokens)

    seconds = median_s(run_sweep, args.repeats)
    return {"kind": kind, "settings": len(settings), "samples": args.samples, "tokens": args.tokens,
            "prompt_tokens": len(prompt), "sweep_s": round(seconds, 3),
            "forward_s": round(median_s(run_forwards, args.repeats), 3),
            "target_s": SWEEP_TARGET_S, "within_target": seconds <= SWEEP_TARGET_S}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the server uses 1)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--models", nargs="+", default=list(LM_NAMES), choices=LM_NAMES, help="samplers to time")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = str(best_device(args.device))
    scorer = load("transformer", device)
    prompt = [2] + scorer.tokenizer.encode(PROMPT)
    rows = []
    for name in args.models:
        sampler = load(name, device).model
        for kind in args.kinds:
            row = {"sampler": name, "scorer": "transformer", "device": device, "threads": args.threads,
                   **measure(sampler, scorer.model, prompt, kind, args)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(json.dumps({"summary": {f"{r['sampler']}/{r['kind']}": r["sweep_s"] for r in rows},
                      "transformer_within_target": all(r["within_target"] for r in rows
                                                       if r["sampler"] == "transformer")}))


if __name__ == "__main__":
    main()
