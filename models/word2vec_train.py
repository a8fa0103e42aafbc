"""Training of the word2vec model on the TinyStories train split, with the zoo's vocabulary, through ``fit``.

An epoch drops frequent words from the stream (subsampling), then visits every remaining position once as a
centre word, in a shuffled order, with all its context words at once (Mikolov et al. 2013).
"""
from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from .checkpoint import ship, write_entry
from .data import encode_stream, zoo_data
from .fit import FitResult, NextLoss, fit
from .optim import seed_everything
from .readings.embeddings import ANALOGY_FILE, read_analogies, score_analogies
from .registry import EMBEDDING_SPECS, TrainConfig, checkpoint_file
from .word2vec import Word2Vec, Word2VecConfig, context_slots, keep_probability, noise_distribution


class _SkipGramBatches:
    """Loss of the next ``batch_size`` centre words: their context slots and K noise words per slot."""

    def __init__(self, model: Word2Vec, stream: torch.Tensor, cfg: TrainConfig, gen: torch.Generator,
                 device: torch.device):
        self.model, self.stream, self.cfg, self.gen, self.device = model, stream, cfg, gen, device
        counts = torch.bincount(stream, minlength=model.config.vocab_size)  # (V,)
        self.noise = noise_distribution(counts, model.config.noise_power)
        self.keep = keep_probability(counts, model.config.subsample)
        self.kept, self.order = None, torch.empty(0, dtype=torch.long)

    def _new_epoch(self) -> None:
        drawn = torch.rand(len(self.stream), generator=self.gen)
        self.kept = self.stream[drawn < self.keep[self.stream]]  # (N',) the subsampled stream
        self.order = torch.randperm(len(self.kept), generator=self.gen)

    def __call__(self) -> tuple[torch.Tensor, int]:
        if len(self.order) < self.cfg.batch_size:
            self._new_epoch()
        centres, self.order = self.order[: self.cfg.batch_size], self.order[self.cfg.batch_size :]
        batch = skipgram_batch(self.kept, centres, self.noise, self.model.config, self.gen)
        loss = self.model(*(t.to(self.device) for t in batch))
        return loss, len(centres)


def skipgram_batch(stream: torch.Tensor, centres: torch.Tensor, noise: torch.Tensor, config: Word2VecConfig,
                   gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    """(centre ids (B,), context ids (B, C), noise ids (B, C, K), mask (B, C)) for centre positions (B,)."""
    context, mask = context_slots(stream, centres, config.window, gen)  # (B, C) each
    B, C = context.shape
    drawn = torch.multinomial(noise, B * C * config.negatives, replacement=True, generator=gen)
    return stream[centres], context, drawn.view(B, C, config.negatives), mask


def train_word2vec(model: Word2Vec, train: torch.Tensor, valid: torch.Tensor, cfg: TrainConfig,
                   device: torch.device, max_minutes: float | None = None, progress: bool = True) -> FitResult:
    """SGNS on a token stream; early stopping on the loss of fixed valid batches (same draws every time)."""
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    valid_source = _SkipGramBatches(model, valid, replace(cfg, batch_size=cfg.eval_tokens), gen, device)
    held_out = [t.to(device) for t in skipgram_batch(
        valid, torch.randperm(len(valid), generator=gen)[: cfg.eval_tokens], valid_source.noise, model.config, gen)]

    def batches(g: torch.Generator) -> NextLoss:
        return _SkipGramBatches(model, train, cfg, g, device)

    @torch.no_grad()
    def validate() -> float:
        return float(model(*held_out))

    return fit(model, cfg, device, batches, validate, "centres", max_minutes, progress)


def train_word2vec_model(name: str, data: Path, device: torch.device, root: Path, max_minutes: float | None,
                         steps: int | None = None) -> dict:
    """Build the zoo's vocabulary, train word2vec, write its checkpoint and manifest entry (with analogy scores)."""
    spec = EMBEDDING_SPECS[name]
    corpus, tokenizer, train_ids = zoo_data(data)
    cfg = spec.train if steps is None else replace(spec.train, max_steps=steps)
    seed_everything(cfg.seed)  # the initial weights
    config = Word2VecConfig(vocab_size=len(tokenizer))
    model = Word2Vec(config)
    start = time.perf_counter()
    result = train_word2vec(model, train_ids, encode_stream(tokenizer, corpus.valid), cfg, device, max_minutes)
    root.mkdir(parents=True, exist_ok=True)
    path = root / checkpoint_file(name)
    ship(path, name, model, asdict(config), tokenizer.to_dict())
    analogies = score_analogies(model.embed.weight.detach().cpu().numpy(), tokenizer.vocab.stoi,
                                read_analogies(ANALOGY_FILE))
    # An epoch is one pass over the subsampled stream: its expected length, not the full stream's.
    counts = torch.bincount(train_ids, minlength=len(tokenizer))
    record = result.record(round(float(keep_probability(counts, config.subsample)[train_ids].sum())), device, cfg)
    record["total_time_s"] = round(time.perf_counter() - start, 1)
    return write_entry(name, path, model, asdict(config), corpus.sha256, root, **record,
                       valid_loss=round(result.best_valid_loss, 4), vocab_size=len(tokenizer),
                       analogies=asdict(analogies))
