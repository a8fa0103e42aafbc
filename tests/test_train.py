"""The training loop: schedule, learning, determinism for a seed."""
from __future__ import annotations

import math

import torch

from models.optim import lr_at
from models.registry import TrainConfig
from models.train import train_model

from .conftest import V, tiny_models


def test_lr_schedule():
    cfg = TrainConfig(lr=1.0, min_lr_ratio=0.1, warmup=10, max_steps=110)
    assert math.isclose(lr_at(0, cfg), 0.1)
    assert math.isclose(lr_at(9, cfg), 1.0)
    assert math.isclose(lr_at(60, cfg), 0.55)
    assert math.isclose(lr_at(110, cfg), 0.1)


def _stream() -> torch.Tensor:
    pattern = torch.arange(3, 13)  # a repeating sequence: learnable from context
    return pattern.repeat(300)


def test_training_learns_and_is_deterministic():
    cfg = TrainConfig(batch_size=8, block=16, lr=1e-2, warmup=5, max_steps=60, eval_every=30, eval_tokens=200)
    for name in ("transformer", "gru", "ffnn"):
        runs = []
        for _ in range(2):
            model = tiny_models()[name]
            result = train_model(model, _stream(), _stream()[:300], cfg, torch.device("cpu"), progress=False)
            runs.append(result.best_valid_loss)
        assert runs[0] == runs[1], name
        assert runs[0] < 0.5 * math.log(V), name
        assert not model.training
