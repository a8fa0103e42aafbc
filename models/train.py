"""Train one zoo model and ship it: ``python -m models.train NAME [--data DIR] [--device cpu|cuda]``.

Language models train through the shared ``fit`` loop (seeded AdamW, warm-up + cosine, early stopping
on valid loss); seq2seq models go to ``seq2seq_train``, word2vec to ``word2vec_train``. All write the checkpoint to
``assets/checkpoints/`` and its manifest entry (``checkpoint.write_entry``) with their own metrics.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from .check_text import CHECK_TEXT
from .checkpoint import CHECKPOINT_DIR, ship, write_entry
from .context_curve import position_curves
from .data import TINYSTORIES, encode_stream, parallel_streams, random_windows, zoo_data
from .evaluate import evaluate_text, token_nll
from .fit import FitResult, NextLoss, OnStep, fit
from .lm import IGNORE, LanguageModel, RecurrentLanguageModel
from .mlm_train import train_mlm_model
from .ngram import NGramLM
from .ngram_heldout import counted_table, curves
from .optim import seed_everything
from .registry import (
    EMBEDDING_SPECS,
    MASKED_SPECS,
    SEQ2SEQ_SPECS,
    SPECS,
    TrainConfig,
    best_device,
    checkpoint_file,
    config_dict,
)
from .seq2seq_train import train_seq2seq_model
from .tokenizer import Tokenizer
from .word2vec_train import train_word2vec_model


class _LMBatches:
    """Loss of the next batch: random windows, or truncated BPTT over parallel streams with the state carried.

    A recurrent model reads each of ``batch_size`` contiguous rows chunk by chunk, its state carried
    across chunks but not differentiated through them (truncated BPTT, Williams & Peng 1990); each
    epoch starts the rows at a random offset.
    """

    def __init__(self, model: LanguageModel, train: torch.Tensor, cfg: TrainConfig, gen: torch.Generator,
                 device: torch.device):
        self.model, self.train, self.cfg, self.gen, self.device = model, train, cfg, gen, device
        self.recurrent = isinstance(model, RecurrentLanguageModel)
        self.rows, self.pos, self.state = None, 0, None

    def _new_epoch(self) -> None:
        offset = int(torch.randint(self.cfg.block, (1,), generator=self.gen))
        self.rows = parallel_streams(self.train[offset:], self.cfg.batch_size)  # (B, N)
        self.pos, self.state = 0, None

    def __call__(self) -> tuple[torch.Tensor, int]:
        cfg = self.cfg
        if not self.recurrent:
            x, y = random_windows(self.train, cfg.batch_size, cfg.block, self.gen)
            if self.model.max_len is None:
                # A fixed-window model sees <eos> padding before a window's first tokens, which is
                # wrong mid-text: score only positions with a full real context.
                y[:, : self.model.context_size - 1] = IGNORE
            _, loss = self.model(x.to(self.device), y.to(self.device))
            return loss, x.numel()
        if self.rows is None or self.pos + cfg.block + 1 > self.rows.size(1):
            self._new_epoch()
        chunk = self.rows[:, self.pos : self.pos + cfg.block + 1].to(self.device)  # (B, block + 1)
        self.pos += cfg.block
        logits, state = self.model.run(chunk[:, :-1], self.state)
        self.state = _detach(state)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), chunk[:, 1:].reshape(-1))
        return loss, chunk[:, :-1].numel()


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
    on_step: OnStep | None = None,
) -> FitResult:
    """Train any neural LM on a token stream; early stopping on the evaluator's NLL of ``valid``."""
    eval_ids = valid[: cfg.eval_tokens + 1].to(device)

    def batches(gen: torch.Generator) -> NextLoss:
        return _LMBatches(model, train, cfg, gen, device)

    def validate() -> float:
        return float(token_nll(model, eval_ids).mean())

    return fit(model, cfg, device, batches, validate, "tokens", max_minutes, progress, on_step)


def _lm_metrics(model: LanguageModel, tokenizer: Tokenizer, valid_text: str) -> dict:
    """The manifest's quality fields: vocabulary, valid OOV rate and perplexity, check-text perplexity."""
    valid = evaluate_text(model, tokenizer, valid_text)
    check = evaluate_text(model, tokenizer, CHECK_TEXT)
    return {
        "vocab_size": len(tokenizer),
        "valid_tokens": valid["tokens"],
        "valid_oov_rate": valid["oov_rate"],
        "valid_ppl": round(valid["perplexity"], 4),
        "check_ppl": round(check["perplexity"], 4),
        "loss_by_position": position_curves(model, tokenizer, valid_text),
    }


def _scored(model: NGramLM, tokenizer: Tokenizer, text: str) -> dict:
    """The evaluator's perplexity of ``text`` (∞ stored as null) and its zero-probability tokens."""
    result = evaluate_text(model, tokenizer, text)
    ppl = result["perplexity"]
    return {"ppl": round(ppl, 4) if math.isfinite(ppl) else None, "zero_tokens": result["zero_prob_tokens"],
            "tokens": result["tokens"]}


def ngram_heldout(model: NGramLM, tokenizer: Tokenizer, texts: dict[str, str]) -> dict:
    """The manifest's "heldout" entry, per named text: perplexity over the α grid and the λ simplex, and orders
    1–3 × {MLE, add-α at its best α, interpolation at its best λ, Kneser–Ney} (``ngram_heldout``; Kneser–Ney
    scored by the evaluator)."""
    out = {}
    for name, text in texts.items():
        ids = encode_stream(tokenizer, text).numpy()
        found = curves(model, ids)
        rows = counted_table(model, ids, found)
        for n, row in rows.items():
            row["kneser_ney"] = _scored(model.configured(order=int(n), estimator="kn"), tokenizer, text)
        out[name] = {**found, "table": rows}
    return out


def train_zoo_model(name: str, data: Path, device: torch.device, root: Path, max_minutes: float | None,
                    steps: int | None = None) -> dict:
    """Build the vocabulary, train ``name``, write its checkpoint and manifest entry."""
    spec = SPECS[name]
    corpus, tokenizer, train_ids = zoo_data(data)
    root.mkdir(parents=True, exist_ok=True)
    path = root / checkpoint_file(name)
    if spec.family == "ngram":
        start = time.perf_counter()
        model = NGramLM.from_ids(train_ids.numpy(), spec.default_config(len(tokenizer)))
        model.save(path, {"tokenizer": tokenizer.to_dict()})
        wall = time.perf_counter() - start
        record = {"epochs": 1, "steps": 0, "wall_time_s": round(wall, 1), "device": "cpu",
                  "tokens_per_s": round(len(train_ids) / wall), "train": None,
                  "heldout": ngram_heldout(model, tokenizer, {"valid": corpus.valid, "check": CHECK_TEXT})}
    else:
        cfg = spec.train if steps is None else replace(spec.train, max_steps=steps)
        seed_everything(cfg.seed)  # the initial weights
        model = spec.build(config_dict(spec.default_config(len(tokenizer))))
        result = train_model(model, train_ids, encode_stream(tokenizer, corpus.valid), cfg, device, max_minutes)
        # Evaluate what was shipped (float16 weights), not the float32 weights still in memory.
        ship(path, name, model, config_dict(model.config), tokenizer.to_dict())
        record = result.record(len(train_ids), device, cfg)
    return write_entry(name, path, model, config_dict(model.config), corpus.sha256, root, **record,
                       **_lm_metrics(model, tokenizer, corpus.valid))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=(*SPECS, *MASKED_SPECS, *SEQ2SEQ_SPECS, *EMBEDDING_SPECS))
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
    if args.name in MASKED_SPECS:
        entry = train_mlm_model(args.name, args.data, device, args.out, args.max_minutes, args.steps)
        print(f"{args.name}: cloze {json.dumps(entry['cloze'])}, {entry['wall_time_s']:.0f} s")
        return 0
    if args.name in EMBEDDING_SPECS:
        entry = train_word2vec_model(args.name, args.data, device, args.out, args.max_minutes, args.steps)
        print(f"{args.name}: analogies {json.dumps(entry['analogies'])}, {entry['wall_time_s']:.0f} s")
        return 0
    entry = train_zoo_model(args.name, args.data, device, args.out, args.max_minutes, args.steps)
    print(f"{args.name}: valid perplexity {entry['valid_ppl']:.2f}, {entry['params']:,} parameters, "
          f"{entry['bytes'] / 1e6:.1f} MB, {entry['wall_time_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
