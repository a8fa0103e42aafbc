"""Training of the seq2seq models: teacher forcing on shuffled pairs, through the shared ``fit`` loop.

Decoder input <eos> y₁..y_{T−1}, target y₁..y_T <eos> (Sutskever et al. 2014; Bahdanau et al. 2015).
The scorers (teacher-forced loss, exact match, BLEU, alignment accuracy) live in ``evaluate``.
"""
from __future__ import annotations

import random
from dataclasses import asdict, replace
from pathlib import Path

import torch

from .checkpoint import ship, write_entry
from .dates import generate as generate_dates
from .dates import gold_spans
from .evaluate import score_pairs, teacher_forced_loss
from .fit import FitResult, NextLoss, OnStep, fit
from .optim import seed_everything
from .pairs import ENG_FRA, PairSet, batch, encode_pairs, eng_fra
from .pairs import dates as dates_pairs
from .registry import SEQ2SEQ_SPECS, TrainConfig, checkpoint_file
from .seq2seq import Seq2Seq, Seq2SeqConfig


class _PairBatches:
    """Loss of the next mini-batch: pairs drawn without replacement from a ``random.Random(seed)`` shuffle."""

    def __init__(self, model: Seq2Seq, train, cfg: TrainConfig, device: torch.device):
        self.model, self.train, self.cfg, self.device = model, train, cfg, device
        self.rng = random.Random(cfg.seed)
        self.order: list[int] = []

    def __call__(self) -> tuple[torch.Tensor, int]:
        if len(self.order) < self.cfg.batch_size:
            self.order = list(range(len(self.train)))
            self.rng.shuffle(self.order)
        chunk, self.order = self.order[: self.cfg.batch_size], self.order[self.cfg.batch_size :]
        src, tgt_in, tgt_out = (t.to(self.device) for t in batch([self.train[i] for i in chunk]))
        _, loss = self.model(src, tgt_in, tgt_out)
        return loss, len(chunk)


def train_seq2seq(model: Seq2Seq, train, valid, cfg: TrainConfig, device: torch.device,
                  max_minutes: float | None = None, progress: bool = True, on_step: OnStep | None = None) -> FitResult:
    """Teacher forcing on shuffled mini-batches; early stopping on the teacher-forced valid loss."""

    def batches(_: torch.Generator) -> NextLoss:
        # The order comes from random.Random(cfg.seed), as when the shipped checkpoints were trained.
        return _PairBatches(model, train, cfg, device)

    def validate() -> float:
        return teacher_forced_loss(model, valid[: cfg.eval_tokens])

    return fit(model, cfg, device, batches, validate, "pairs", max_minutes, progress, on_step)


# Inputs the project wrote itself: their greedy outputs are recorded in the manifest and the tests
# check that the shipped checkpoints still produce them.
CHECK_INPUTS = {
    "dates": ["21 November 2026", "November 21, 2026", "the 3rd of march, 1999", "2026/11/21", "31.12.1900",
              "saturday 21 nov 2026", "Jul. 4 1976", "02/29/2000"],
    "fra": ["i am happy .", "she is my friend .", "we are going home .", "he is not here .", "you are very tall ."],
}
DATES_TEST_SIZE = 2000
DATES_LENGTH_EDGES = (1, 11, 15, 19, 23, 27, 36)
FRA_LENGTH_EDGES = (1, 4, 6, 8, 11)


def build_pairs(spec, data: Path | None) -> PairSet:
    """The pairs and tokenizers of a task."""
    if spec.task == "dates":
        return dates_pairs(n_train=40_000, n_valid=2_000, seed=0)
    return eng_fra(data or ENG_FRA)


def dates_test_set(train: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """2,000 freshly generated dates whose sources never occur in training."""
    seen = {s for s, _ in train}
    fresh = [(e.source, e.target) for e in generate_dates(3 * DATES_TEST_SIZE, seed=99) if e.source not in seen]
    return fresh[:DATES_TEST_SIZE]


def check_outputs(model: Seq2Seq, task: str) -> dict[str, str]:
    """Greedy outputs for the project's own check inputs."""
    return {text: model.translate(text).text for text in CHECK_INPUTS[task]}


def train_seq2seq_model(name: str, data: Path | None, device: torch.device, root: Path,
                        max_minutes: float | None, steps: int | None = None) -> dict:
    """Build data and model, train, write the checkpoint and its manifest entry with the metrics."""
    spec = SEQ2SEQ_SPECS[name]
    pairs = build_pairs(spec, data)
    cfg = spec.train if steps is None else replace(spec.train, max_steps=steps)
    seed_everything(cfg.seed)  # the initial weights
    config = Seq2SeqConfig(len(pairs.src_tok), len(pairs.tgt_tok), spec.attention, **spec.sizes)
    model = Seq2Seq(config, pairs.src_tok, pairs.tgt_tok)
    train_ids = encode_pairs(pairs.train, pairs.src_tok, pairs.tgt_tok, config.max_src_len)
    valid_ids = encode_pairs(pairs.valid, pairs.src_tok, pairs.tgt_tok, config.max_src_len)
    result = train_seq2seq(model, train_ids, valid_ids, cfg, device, max_minutes)
    root.mkdir(parents=True, exist_ok=True)
    path = root / checkpoint_file(name)
    ship(path, name, model, asdict(config), {"src": pairs.src_tok.to_dict(), "tgt": pairs.tgt_tok.to_dict()})
    if spec.task == "dates":
        metrics = score_pairs(model, dates_test_set(pairs.train), gold_spans, DATES_LENGTH_EDGES)
    else:
        metrics = score_pairs(model, pairs.valid, None, FRA_LENGTH_EDGES)
    return write_entry(
        name, path, model, asdict(config), pairs.data_sha256, root,
        **result.record(len(pairs.train), device, cfg),
        task=spec.task,
        train_pairs=len(pairs.train),
        valid_pairs=len(pairs.valid),
        valid_loss=round(result.best_valid_loss, 4),
        metrics=metrics,
        check=check_outputs(model, spec.task),
    )
