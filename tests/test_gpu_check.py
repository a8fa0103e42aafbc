"""`make gpu-check` and the GPU path, with the device mocked (this machine has no GPU: the real run is pending)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from models import gpu_check
from models.registry import best_device
from models.runtime import device_label

from .apptest import open_page


@dataclass
class Fake:
    words: list[str]
    probs: np.ndarray
    total: float


def test_difference_is_relative_and_strict_about_words():
    a = Fake(["a", "b"], np.array([0.5, np.nan, 20.0]), 3.0)
    assert gpu_check.difference(a, Fake(["a", "b"], np.array([0.5, np.nan, 20.0]), 3.0)) == 0.0
    assert gpu_check.difference(a, Fake(["a", "b"], np.array([0.5 + 1e-6, np.nan, 20.001]), 3.0)) < 1e-4
    assert gpu_check.difference(a, Fake(["a", "b"], np.array([0.5, np.nan, 20.01]), 3.0)) > 1e-4
    assert gpu_check.difference(a, Fake(["a", "c"], a.probs, 3.0)) == math.inf
    assert gpu_check.difference(a, Fake(["a", "b"], np.array([0.5, 1.0, 20.0]), 3.0)) == math.inf  # nan on one side
    assert gpu_check.difference({"x": [1, 2]}, {"x": [1, 2, 3]}) == math.inf


def test_every_page_reading_runs_and_agrees_between_two_devices():
    rows = gpu_check.compare("cpu", "cpu", pages=["home", "rnn", "transformer"], repeats=1)
    assert {r["page"] for r in rows} == {"home", "rnn", "transformer"}
    assert all(r["ok"] and r["max_rel_diff"] == 0.0 and r["device_ms"] > 0 for r in rows), rows


def test_the_check_needs_a_gpu(capsys):
    if torch.cuda.is_available():
        pytest.fail("this test expects a machine without CUDA; on a GPU machine run `make gpu-check` instead")
    assert gpu_check.main(["--pages", "home"]) == 2
    assert "no CUDA device" in capsys.readouterr().err


@pytest.fixture
def mocked_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "NVIDIA H200 (mocked)")


def test_models_go_to_cuda_when_it_is_there(mocked_gpu):
    assert best_device() == torch.device("cuda")
    assert best_device("cpu") == torch.device("cpu")
    assert device_label() == "GPU (NVIDIA H200 (mocked))"


def test_the_sidebar_says_gpu(mocked_gpu, monkeypatch):
    import models.registry

    real = models.registry.best_device
    monkeypatch.setattr(models.registry, "best_device", lambda requested=None: real(requested or "cpu"))
    at = open_page("pages/views/home.py", "the cat sat .")
    assert any("Device: **GPU (NVIDIA H200 (mocked))**" in c.value for c in at.sidebar.caption)
