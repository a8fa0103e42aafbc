"""Train one zoo model and ship it: ``python -m models.train NAME [--data DIR] [--device cpu|cuda]``.

Seeded; AdamW with warm-up and cosine decay; early stopping on valid loss; writes the checkpoint
to ``assets/checkpoints/`` and its manifest entry (hash, size, data hash, timings, perplexities).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from tqdm import tqdm

from .check_text import CHECK_TEXT
from .checkpoint import CHECKPOINT_DIR, load_torch, save_torch, update_manifest
from .data import TINYSTORIES, Corpus, encode_stream, parallel_streams, random_windows, sha256_file
from .evaluate import evaluate_text, token_nll
from .lm import IGNORE, LanguageModel, RecurrentLanguageModel
from .ngram import NGramLM
from .optim import EarlyStopping, lr_at, make_optimizer, seed_everything
from .registry import SEQ2SEQ_SPECS, SPECS, TrainConfig, best_device, checkpoint_file, config_dict
from .seq2seq_train import train_seq2seq_model
from .tokenizer import WordTokenizer


@dataclass
class TrainResult:
    """What a training run reports (the best model by valid loss is kept)."""

    steps: int
    best_step: int
    best_valid_loss: float
    tokens_seen: int
    wall_time_s: float
    tokens_per_s: float


class _Batches:
    """Training batches: random windows, or truncated-BPTT chunks of parallel streams with state."""

    def __init__(self, model: LanguageModel, train: torch.Tensor, cfg: TrainConfig, gen: torch.Generator):
        self.model, self.train, self.cfg, self.gen = model, train, cfg, gen
        self.recurrent = isinstance(model, RecurrentLanguageModel)
        self.rows, self.pos, self.state = None, 0, None

    def _new_epoch(self) -> None:
        offset = int(torch.randint(self.cfg.block, (1,), generator=self.gen))
        self.rows = parallel_streams(self.train[offset:], self.cfg.batch_size)  # (B, N)
        self.pos, self.state = 0, None

    def next(self, device: torch.device):
        """(x, y, state) for one step; state is None for window models."""
        cfg = self.cfg
        if not self.recurrent:
            x, y = random_windows(self.train, cfg.batch_size, cfg.block, self.gen)
            if self.model.max_len is None:
                # A fixed-window model sees <eos> padding before a window's first tokens, which is
                # wrong mid-text: score only positions with a full real context.
                y[:, : self.model.context_size - 1] = IGNORE
            return x.to(device), y.to(device), None
        if self.rows is None or self.pos + cfg.block + 1 > self.rows.size(1):
            self._new_epoch()
        chunk = self.rows[:, self.pos : self.pos + cfg.block + 1]
        self.pos += cfg.block
        return chunk[:, :-1].to(device), chunk[:, 1:].to(device), self.state


def _detach(state):
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def train_model(
    model: LanguageModel,
    train: torch.Tensor,
    valid: torch.Tensor,
    cfg: TrainConfig,
    device: torch.device,
    max_minutes: float | None = None,
    progress: bool = True,
) -> TrainResult:
    """The one training loop for every neural LM; restores the best weights by valid loss."""
    gen = seed_everything(cfg.seed)
    model.to(device).train()
    opt = make_optimizer(model, cfg)
    batches = _Batches(model, train, cfg, gen)
    eval_ids = valid[: cfg.eval_tokens + 1]
    stopper = EarlyStopping(cfg.patience)
    tokens, step = 0, 0
    start = time.perf_counter()
    bar = tqdm(range(cfg.max_steps), disable=not progress, mininterval=2.0)
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        x, y, state = batches.next(device)
        if batches.recurrent:
            logits, new_state = model.run(x, state)
            batches.state = _detach(new_state)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        else:
            _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        tokens += x.numel()
        elapsed = time.perf_counter() - start
        bar.set_postfix(loss=f"{loss.item():.3f}", tok_s=f"{tokens / elapsed:.0f}")
        last = step == cfg.max_steps - 1
        if (step + 1) % cfg.eval_every == 0 or last:
            model.eval()
            vloss = float(token_nll(model, eval_ids.to(device)).mean())
            model.train()
            bar.write(f"step {step + 1}: valid loss {vloss:.4f} (ppl {math.exp(vloss):.2f})")
            if stopper.update(vloss, step + 1, model):
                bar.write("early stop: valid loss stopped improving")
                break
        if max_minutes is not None and elapsed > 60 * max_minutes:
            bar.write(f"stopping at the {max_minutes}-minute limit")
            break
    bar.close()
    wall = time.perf_counter() - start
    stopper.restore(model)
    model.eval()
    return TrainResult(step + 1, stopper.best_step, stopper.best_loss, tokens, wall, tokens / wall)


def _finish(name: str, path: Path, model, tokenizer, corpus, valid_text, extra: dict, root: Path) -> dict:
    """Evaluate the written checkpoint on valid and the check text, then record it in the manifest."""
    valid = evaluate_text(model, tokenizer, valid_text)
    check = evaluate_text(model, tokenizer, CHECK_TEXT)
    entry = {
        "file": path.name,
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "params": model.num_parameters(),
        "config": config_dict(model.config),
        "data_sha256": corpus.sha256,
        "vocab_size": len(tokenizer),
        "valid_tokens": valid["tokens"],
        "valid_oov_rate": valid["oov_rate"],
        "valid_ppl": round(valid["perplexity"], 4),
        "check_ppl": round(check["perplexity"], 4),
        "torch": torch.__version__,
        **extra,
    }
    update_manifest(name, entry, root)
    return entry


def train_zoo_model(name: str, data: Path, device: torch.device, root: Path, max_minutes: float | None,
                    steps: int | None = None) -> dict:
    """Build the vocabulary, train ``name``, write its checkpoint and manifest entry."""
    spec = SPECS[name]
    corpus = Corpus.tinystories(data)
    tokenizer = WordTokenizer.build(corpus.train)
    train_ids = encode_stream(tokenizer, corpus.train)
    root.mkdir(parents=True, exist_ok=True)
    path = root / checkpoint_file(name)
    start = time.perf_counter()
    if spec.family == "ngram":
        model = NGramLM.from_ids(train_ids.numpy(), spec.default_config(len(tokenizer)))
        model.save(path, {"tokenizer": tokenizer.to_dict()})
        wall = time.perf_counter() - start
        extra = {"epochs": 1, "steps": 0, "wall_time_s": round(wall, 1), "device": "cpu",
                 "tokens_per_s": round(len(train_ids) / wall), "train": None}
        return _finish(name, path, model, tokenizer, corpus, corpus.valid, extra, root)
    cfg = spec.train if steps is None else replace(spec.train, max_steps=steps)
    seed_everything(cfg.seed)
    model = spec.build(config_dict(spec.default_config(len(tokenizer))))
    result = train_model(model, train_ids, encode_stream(tokenizer, corpus.valid), cfg, device, max_minutes)
    model.cpu()
    save_torch(path, name, model, config_dict(model.config), tokenizer.to_dict())
    # Evaluate what was shipped (float16 weights), not the float32 weights still in memory.
    model.load_state_dict({k: v.float() for k, v in load_torch(path, name)["state_dict"].items()})
    extra = {
        "epochs": round(result.tokens_seen / len(train_ids), 2),
        "steps": result.steps,
        "best_step": result.best_step,
        "wall_time_s": round(result.wall_time_s, 1),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "tokens_per_s": round(result.tokens_per_s),
        "train": asdict(cfg),
    }
    return _finish(name, path, model, tokenizer, corpus, corpus.valid, extra, root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=(*SPECS, *SEQ2SEQ_SPECS))
    parser.add_argument("--data", type=Path, default=TINYSTORIES,
                        help="TinyStories folder (language models) or eng-fra.txt (fra-* models)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--out", type=Path, default=CHECKPOINT_DIR, help="checkpoint folder")
    parser.add_argument("--max-minutes", type=float, default=30.0, help="stop training after this long")
    parser.add_argument("--steps", type=int, default=None, help="override the recipe's step count")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = best_device(args.device)
    if args.name in SEQ2SEQ_SPECS:
        data = None if args.data == TINYSTORIES else args.data
        entry = train_seq2seq_model(args.name, data, device, args.out, args.max_minutes, args.steps)
        print(f"{args.name}: {json.dumps(entry['metrics'], indent=1)}")
        return 0
    entry = train_zoo_model(args.name, args.data, device, args.out, args.max_minutes, args.steps)
    print(f"{args.name}: valid perplexity {entry['valid_ppl']:.2f}, {entry['params']:,} parameters, "
          f"{entry['bytes'] / 1e6:.1f} MB, {entry['wall_time_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
