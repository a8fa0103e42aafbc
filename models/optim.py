"""Optimisation shared by every trainer: seeding, AdamW, warm-up then cosine learning rate."""
from __future__ import annotations

import copy
import math

import numpy as np
import torch

from .registry import TrainConfig


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch and numpy; return a generator for batch sampling."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    return torch.Generator().manual_seed(seed)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to ``lr``, then cosine decay to ``lr * min_lr_ratio`` at ``max_steps``."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = min(1.0, (step - cfg.warmup) / max(1, cfg.max_steps - cfg.warmup))
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * progress))


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW with weight decay on matrices only (not biases, norms or embeddings' 1-D params)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, cfg.beta2))


class EarlyStopping:
    """Keep the weights with the lowest validation loss; say when ``patience`` evaluations brought none lower."""

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best_loss, self.best_step, self._state, self._bad = float("inf"), 0, None, 0

    def update(self, loss: float, step: int, model: torch.nn.Module) -> bool:
        """Record an evaluation; True when training should stop."""
        if loss < self.best_loss:
            self.best_loss, self.best_step, self._bad = loss, step, 0
            self._state = copy.deepcopy(model.state_dict())
        else:
            self._bad += 1
        return self._bad >= self.patience

    def restore(self, model: torch.nn.Module) -> None:
        """Load the best weights seen (if any evaluation happened)."""
        if self._state is not None:
            model.load_state_dict(self._state)
