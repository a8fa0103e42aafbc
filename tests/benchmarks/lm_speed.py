"""Speed of every zoo model: training tokens/s and ``trace`` time for a 30-token sentence.

Target: trace ≤ 20 ms per model on CPU. Prints one JSON line per model and a summary.

    python -m tests.benchmarks.lm_speed [--device cpu|cuda] [--threads N]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from models.optim import make_optimizer
from models.registry import LM_NAMES, SPECS, best_device, config_dict, load

SENTENCE = (  # written for the benchmark (not corpus text)
    "one morning , a tiny robot named tim rolled to the garden with his friend . he saw a blue kite stuck "
    "in a tall tree and wanted to help ."
)
TOKENS = 30
TRACE_TARGET_MS = 20.0


def time_ms(fn, repeats: int) -> list[float]:
    """Wall times of ``repeats`` calls, in milliseconds (after one warm-up call)."""
    fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(1000 * (time.perf_counter() - t))
    return out


def train_tokens_per_s(name: str, vocab_size: int, device: torch.device, steps: int = 6) -> float | None:
    """Tokens/s of the real training step (forward, backward, AdamW) at the recipe's batch shape."""
    spec = SPECS[name]
    if spec.family == "ngram":
        return None
    model = spec.build(config_dict(spec.default_config(vocab_size))).to(device).train()
    opt = make_optimizer(model, spec.train)
    x = torch.randint(3, vocab_size, (spec.train.batch_size, spec.train.block), device=device)

    def step() -> None:
        _, loss = model(x, x)
        opt.zero_grad()
        loss.backward()
        opt.step()

    ms = statistics.median(time_ms(step, steps))
    return x.numel() / (ms / 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the server uses 1)")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = best_device(args.device)
    rows = []
    for name in LM_NAMES:
        bundle = load(name, str(device))
        idx = torch.tensor([bundle.tokenizer.encode(SENTENCE)[:TOKENS]], device=device)
        assert idx.size(1) == TOKENS, idx.size(1)
        ms = time_ms(lambda model=bundle.model, idx=idx: model.trace(idx), args.repeats)
        tps = train_tokens_per_s(name, len(bundle.tokenizer), device)
        row = {
            "model": name,
            "device": str(device),
            "threads": args.threads,
            "trace_ms_median": round(statistics.median(ms), 2),
            "trace_ms_p95": round(sorted(ms)[int(0.95 * (len(ms) - 1))], 2),
            "trace_target_ms": TRACE_TARGET_MS,
            "train_tokens_per_s": None if tps is None else round(tps),
        }
        row["within_target"] = row["trace_ms_median"] <= TRACE_TARGET_MS
        rows.append(row)
        print(json.dumps(row))
    print(json.dumps({"summary": {r["model"]: r["trace_ms_median"] for r in rows},
                      "all_within_target": all(r["within_target"] for r in rows)}))


if __name__ == "__main__":
    main()
