"""Time of one intervention, computed afresh (no cache): forced attention, a fixed prefix, a head ablation, an edge
cut; and ranking all 16 heads on a 20-token sentence in one batched pass. One torch thread, as the server uses.
The seq2seq model's own greedy reading is decoded once beforehand, as the page has it cached.

Targets (issue 21): one intervention p95 ≤ 200 ms; the ranking ≤ 1 s.

    python -m tests.benchmarks.interventions [--repeats 30]
"""
from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from functools import partial

import torch

from models.readings.ablation import ablate_heads, knock_out_edge, rank_heads
from models.readings.seq2seq import read_translation
from models.readings.seq2seq_probes import fix_prefix, force_attention
from models.registry import load
from models.seq2seq import AttentionEdit

from .agent import percentile

SENTENCE = "the little dog ran to the park and the dog was happy . then lily came to play with him"  # 20 tokens
SOURCES = {"dates-additive": "saturday 21 nov 2026", "fra-additive": "i don't like this book ."}
PREFIXES = {"dates-additive": ["19", "2000-0", "1", "2026-12"], "fra-additive": ["nous", "il est", "elle", "je ne"]}


def timed(calls: list[Callable[[], object]]) -> dict:
    """Median and p95 in ms of each call, run once (each a different input, so nothing is reused)."""
    ms = []
    for call in calls:
        start = time.perf_counter()
        call()
        ms.append((time.perf_counter() - start) * 1000)
    ms.sort()
    return {"median_ms": round(ms[len(ms) // 2], 1), "p95_ms": round(percentile(ms, 95), 1), "n": len(ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {}
    for name, text in SOURCES.items():
        model = load(name, "cpu").model
        own = read_translation(model, text)
        n_src, n_out = len(own.src_tokens), len(own.rows)
        edits = [AttentionEdit(i % n_out, (3 * i) % n_src, None if i % 2 else 5.0) for i in range(args.repeats)]
        results[f"{name}: force α (greedy decode with the edit)"] = timed(
            [partial(force_attention, model, text, e, own) for e in edits])
        results[f"{name}: fixed prefix (greedy decode after it)"] = timed(
            [partial(fix_prefix, model, text, p, own) for p in PREFIXES[name] * (args.repeats // 4)])
    bundle = load("transformer", "cpu")
    lm, tok = bundle.model, bundle.tokenizer
    pairs = [(ell, h) for ell in range(4) for h in range(4)]
    results["transformer: ablate heads (20 tokens)"] = timed(
        [partial(ablate_heads, lm, tok, SENTENCE, pairs[i % 16: i % 16 + 1 + i % 3], "zero" if i % 2 else "uniform")
         for i in range(args.repeats)])
    results["transformer: cut one edge (20 tokens)"] = timed(
        [partial(knock_out_edge, lm, tok, SENTENCE, 1 + i % 20, i % (1 + i % 20)) for i in range(args.repeats)])
    results["transformer: rank all 16 heads (20 tokens, one batched pass)"] = timed(
        [partial(rank_heads, lm, tok, SENTENCE, "zero" if i % 2 else "uniform") for i in range(args.repeats)])
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
