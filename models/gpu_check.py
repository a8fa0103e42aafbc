"""`make gpu-check`: every page's reading computed on the GPU against the CPU (|Δ| ≤ 1e-4) and how long each takes.

    python -m models.gpu_check [--device cuda] [--reference cpu] [--pages home sampling ...] [--repeats 5]

Prints one JSON line per reading (page, reading, largest difference, pass, median ms on each device) and a
summary line; exits 1 when a reading differs by more than the tolerance or fails on the device.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from functools import cache

import numpy as np
import torch

from .evaluate import chain_rule
from .readings.compare import score_sentence
from .readings.ffnn import walk
from .readings.gradients import products, word_gradients
from .readings.ngram import read_counts
from .readings.recurrent import read
from .readings.sampling import draw_samples, read_next_token, read_trade_off
from .readings.seq2seq import read_translation
from .readings.transformer import read_transformer
from .registry import LM_NAMES, Bundle, load
from .runtime import device_label
from .sampling import SamplingConfig

TEXT = "the little dog found a red ball in the park and lily was happy ."
TOLERANCE = 1e-4  # |a − b| ≤ TOLERANCE · max(1, |b|): logits of tens agree to 1e-4 relative
Loader = Callable[[str], Bundle]
RECURRENT = ("rnn", "lstm", "gru")

# page -> reading name -> (load -> reading); each reading is what the page computes on the student's sentence.
CHECKS: dict[str, dict[str, Callable[[Loader], object]]] = {
    "home": {f"chain_rule {n}": (lambda ld, n=n: chain_rule(ld(n).model, ld(n).tokenizer, TEXT, True))
             for n in LM_NAMES},
    "ngram": {"read_counts": lambda ld: read_counts(ld("ngram").model, ld("ngram").tokenizer, TEXT)},
    "ffnn": {"walk": lambda ld: walk(ld("ffnn").model, ld("ffnn").tokenizer, TEXT)},
    "rnn": {f"read {n}": (lambda ld, n=n: read(ld(n).model, ld(n).tokenizer, TEXT, 40)) for n in RECURRENT},
    "rnn_gradients": {
        **{f"products {n}": (lambda ld, n=n: products(ld(n).model, ld(n).tokenizer, TEXT, 30)) for n in RECURRENT},
        "word_gradients lstm": lambda ld: word_gradients(ld("lstm").model, ld("lstm").tokenizer, TEXT, "ball"),
    },
    "seq2seq": {n: (lambda ld, n=n, s=s: read_translation(ld(n).model, s)) for n, s in
                (("dates-additive", "march 3 , 2021"), ("fra-additive", "i am happy ."))},
    "transformer": {"read_transformer": lambda ld: read_transformer(ld("transformer").model,
                                                                    ld("transformer").tokenizer, TEXT)},
    "sampling": {
        "read_next_token": lambda ld: read_next_token(ld("transformer").model, ld("transformer").tokenizer, TEXT),
        "draw_samples": lambda ld: draw_samples(ld("transformer").model, ld("transformer").tokenizer, TEXT,
                                                SamplingConfig(top_k=10), 0, 30, 3),
        "read_trade_off": lambda ld: read_trade_off(ld("lstm").model, ld("transformer").model,
                                                    ld("lstm").tokenizer, TEXT, "top_k"),
    },
    "compare": {"score_sentence": lambda ld: score_sentence({n: (ld(n).model, ld(n).tokenizer) for n in LM_NAMES},
                                                            TEXT)},
}


def difference(a: object, b: object) -> float:
    """The largest |a − b| / max(1, |b|) over every number in two readings of the same shape (dataclasses,
    dicts, lists, arrays, scalars); inf where their structure, words or integers differ."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        if type(a) is not type(b):
            return math.inf
        return max((difference(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)), default=0.0)
    if isinstance(a, dict):
        if not isinstance(b, dict) or a.keys() != b.keys():
            return math.inf
        return max((difference(a[k], b[k]) for k in a), default=0.0)
    if isinstance(a, (list, tuple)) and not (a and isinstance(a[0], (int, float)) and not isinstance(a[0], bool)):
        if not isinstance(b, (list, tuple)) or len(a) != len(b):
            return math.inf
        return max((difference(x, y) for x, y in zip(a, b, strict=True)), default=0.0)
    if isinstance(a, (np.ndarray, list, tuple, float, int, np.floating, np.integer)) and not isinstance(a, bool):
        x, y = np.asarray(a), np.asarray(b)
        if x.shape != y.shape:
            return math.inf
        if x.size == 0:
            return 0.0
        if not (np.issubdtype(x.dtype, np.number) and np.issubdtype(y.dtype, np.number)):
            return 0.0 if np.array_equal(x, y) else math.inf
        x, y = x.astype(np.float64), y.astype(np.float64)
        both = np.isfinite(x) & np.isfinite(y)
        if not np.array_equal(np.isfinite(x), np.isfinite(y)) or not np.array_equal(x[~both], y[~both], equal_nan=True):
            return math.inf  # an inf or nan on one device only
        return float((np.abs(x - y)[both] / np.maximum(1.0, np.abs(y[both]))).max(initial=0.0))
    return 0.0 if a == b else math.inf


def timed(fn: Callable[[Loader], object], loader: Loader, repeats: int) -> tuple[object, float]:
    """The reading and its median time in ms (the first call, which loads models, not counted)."""
    out = fn(loader)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(loader)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(1000 * (time.perf_counter() - start))
    return out, statistics.median(times)


def compare(device: str, reference: str, pages: list[str] | None = None, repeats: int = 5) -> list[dict]:
    """One row per reading: the difference between ``device`` and ``reference`` and both timings."""
    on_device, on_reference = cache(lambda n: load(n, device)), cache(lambda n: load(n, reference))
    rows = []
    for page, readings in CHECKS.items():
        if pages and page not in pages:
            continue
        for name, fn in readings.items():
            row = {"page": page, "reading": name}
            try:
                ref, ref_ms = timed(fn, on_reference, repeats)
                out, dev_ms = timed(fn, on_device, repeats)
            except Exception as err:  # noqa: BLE001 (a reading that breaks on the device is the finding itself)
                rows.append({**row, "ok": False, "error": f"{type(err).__name__}: {err}"[:300]})
                continue
            diff = difference(out, ref)
            rows.append({**row, "max_rel_diff": diff, "ok": diff <= TOLERANCE, "reference_ms": round(ref_ms, 2),
                         "device_ms": round(dev_ms, 2), "speedup": round(ref_ms / max(dev_ms, 1e-9), 2)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--reference", default="cpu")
    parser.add_argument("--pages", nargs="*", default=None, help=f"some of: {' '.join(CHECKS)}")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here: run `make gpu-check` on a machine with an NVIDIA GPU", file=sys.stderr)
        return 2
    torch.set_num_threads(1)  # as the server runs (DESIGN §5)
    rows = compare(args.device, args.reference, args.pages, args.repeats)
    for row in rows:
        print(json.dumps(row))
    failed = [f"{r['page']}/{r['reading']}" for r in rows if not r["ok"]]
    print(json.dumps({"device": args.device, "label": device_label(), "reference": args.reference,
                      "readings": len(rows), "failed": failed, "tolerance": TOLERANCE}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
