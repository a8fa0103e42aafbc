"""Benchmark against nanoGPT's published CPU result on Tiny Shakespeare (character level).

nanoGPT (config/train_shakespeare_char.py with its CPU overrides: 4 layers, 4 heads, width 128,
block 64, batch 12, 2,000 iterations, no dropout, lr 1e-3 → 1e-4, warm-up 100, β₂ 0.99) reports a
validation loss of about 1.88. This trains our TransformerLM with our trainer at that configuration
and prints the validation loss (estimated as nanoGPT does: mean loss over random validation blocks)
and the wall time.

    python -m tests.benchmarks.shakespeare_char [--data PATH] [--device cpu|cuda]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from models.data import SHAKESPEARE, Corpus, random_windows
from models.registry import TrainConfig, best_device
from models.tokenizer import CharTokenizer
from models.train import train_model
from models.transformer import TransformerConfig, TransformerLM

NANOGPT_VAL_LOSS = 1.88


@torch.no_grad()
def nanogpt_loss(model: TransformerLM, ids: torch.Tensor, batches: int, batch_size: int, block: int) -> float:
    """Mean loss over ``batches`` random (batch_size × block) windows, as nanoGPT's estimate_loss."""
    gen = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(batches):
        x, y = random_windows(ids, batch_size, block, gen)
        losses.append(model(x.to(model.device), y.to(model.device))[1].item())
    return sum(losses) / len(losses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHAKESPEARE)
    parser.add_argument("--device", default=None)
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1337, help="nanoGPT's seed")
    args = parser.parse_args()
    corpus = Corpus.split_file(args.data)  # first 90% train, last 10% valid
    tok = CharTokenizer.build(corpus.train + corpus.valid)
    train = torch.tensor(tok.encode(corpus.train))
    valid = torch.tensor(tok.encode(corpus.valid))
    cfg = TrainConfig(
        batch_size=12, block=64, lr=1e-3, min_lr_ratio=0.1, warmup=100, max_steps=args.iters,
        weight_decay=0.1, beta2=0.99, grad_clip=1.0, eval_every=args.iters, patience=1, eval_tokens=4096,
        seed=args.seed,
    )
    model = TransformerLM(TransformerConfig(len(tok), block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0,
                                            bias=False))  # as nanoGPT's train.py (bias = False)
    device = best_device(args.device)
    start = time.perf_counter()
    result = train_model(model, train, valid, cfg, device, progress=False)
    wall = time.perf_counter() - start
    val = nanogpt_loss(model, valid, batches=200, batch_size=12, block=64)
    train_loss = nanogpt_loss(model, train, batches=200, batch_size=12, block=64)
    print(json.dumps({
        "benchmark": "tinyshakespeare char, nanoGPT CPU config",
        "device": str(device),
        "threads": torch.get_num_threads(),
        "iters": result.steps,
        "seed": args.seed,
        "params": model.num_parameters(),
        "train_loss": round(train_loss, 4),
        "val_loss": round(val, 4),
        "nanogpt_val_loss": NANOGPT_VAL_LOSS,
        "ratio_to_nanogpt": round(val / NANOGPT_VAL_LOSS, 4),
        "reached": val <= NANOGPT_VAL_LOSS,
        "wall_time_s": round(wall, 1),
        "tokens_per_s": round(result.per_s),
    }, indent=2))


if __name__ == "__main__":
    main()
