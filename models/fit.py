"""The one fit loop every trainer uses (nanoGPT's ``train.py`` loop, parameterised by two callables).

Seeded; AdamW with linear warm-up then cosine decay (``optim``); gradient-norm clipping; validation
every ``eval_every`` steps with early stopping that keeps the best weights; an optional time cap;
a progress bar with the loss and the throughput. What a batch is and how it is scored is the
trainer's business: ``train.py`` (windows, or truncated BPTT with a carried state) and
``seq2seq_train.py`` (teacher forcing on shuffled pairs) each pass a ``Batches`` factory.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from tqdm import tqdm

from .optim import EarlyStopping, lr_at, make_optimizer, seed_everything
from .registry import TrainConfig

NextLoss = Callable[[], tuple[torch.Tensor, int]]  # draw the next batch: (mean loss with graph, units in it)
Batches = Callable[[torch.Generator], NextLoss]  # given the seeded generator, the trainer's batch source


@dataclass(frozen=True)
class StepReport:
    """What a watcher of the loop learns after each step (the live Train page draws these)."""

    step: int  # steps done, 1-based
    loss: float  # this step's training loss
    elapsed_s: float  # since the loop started
    valid_loss: float | None  # set on the steps that validated


OnStep = Callable[[StepReport], bool]  # called after every step; True stops the loop (a stop button, a time cap)


@dataclass
class FitResult:
    """What a training run reports (the best model by valid loss is kept)."""

    steps: int
    best_step: int
    best_valid_loss: float
    seen: int  # units trained on (tokens or pairs; see ``unit``)
    wall_time_s: float
    unit: str  # "tokens" or "pairs"

    @property
    def per_s(self) -> float:
        """Training throughput in units per second."""
        return self.seen / self.wall_time_s if self.wall_time_s else 0.0

    def record(self, train_size: int, device: torch.device, cfg: TrainConfig) -> dict:
        """The manifest's training fields: epochs, steps, timing, device and recipe."""
        return {
            "epochs": round(self.seen / train_size, 2),
            "steps": self.steps,
            "best_step": self.best_step,
            "wall_time_s": round(self.wall_time_s, 1),
            "device": str(device),
            "threads": torch.get_num_threads(),
            f"{self.unit}_per_s": round(self.per_s),
            "train": asdict(cfg),
        }


def fit(
    model: torch.nn.Module,
    cfg: TrainConfig,
    device: torch.device,
    batches: Batches,
    validate: Callable[[], float],
    unit: str,
    max_minutes: float | None = None,
    progress: bool = True,
    on_step: OnStep | None = None,
) -> FitResult:
    """Train ``model`` for up to ``cfg.max_steps`` steps; restore the best weights by ``validate()`` loss.

    The random draws happen in a fixed order, so a seed gives the same weights: ``seed_everything``
    first (torch, numpy and the generator handed to ``batches``), then per step the batch, then
    the forward pass (dropout). ``on_step`` sees every step and may stop the loop.
    """
    gen = seed_everything(cfg.seed)
    next_loss = batches(gen)
    model.to(device).train()
    opt = make_optimizer(model, cfg)
    stopper = EarlyStopping(cfg.patience)
    seen, steps = 0, 0
    start = time.perf_counter()
    bar = tqdm(range(cfg.max_steps), disable=not progress, mininterval=2.0)
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        loss, count = next_loss()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        seen, steps = seen + count, step + 1
        elapsed = time.perf_counter() - start
        step_loss = loss.item()
        bar.set_postfix({"loss": f"{step_loss:.3f}", f"{unit}_s": f"{seen / elapsed:.0f}"})
        vloss, early = None, False
        if steps % cfg.eval_every == 0 or steps == cfg.max_steps:
            model.eval()
            vloss = validate()
            model.train()
            # Perplexity means something for a next-token loss only (not for word2vec's "centres").
            ppl = f" (ppl {math.exp(vloss):.2f})" if unit == "tokens" else ""
            _say(bar, progress, f"step {steps}: valid loss {vloss:.4f}{ppl}")
            early = stopper.update(vloss, steps, model)
        if on_step is not None and on_step(StepReport(steps, step_loss, time.perf_counter() - start, vloss)):
            break
        if early:
            _say(bar, progress, "early stop: valid loss stopped improving")
            break
        if max_minutes is not None and elapsed > 60 * max_minutes:
            _say(bar, progress, f"stopping at the {max_minutes}-minute limit")
            break
    bar.close()
    wall = time.perf_counter() - start
    stopper.restore(model)
    model.eval()
    return FitResult(steps, stopper.best_step, stopper.best_loss, seen, wall, unit)


def _say(bar: tqdm, progress: bool, line: str) -> None:
    """A line under the progress bar; silent when there is no bar (a server's background run)."""
    if progress:
        bar.write(line)
