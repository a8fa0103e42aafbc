"""What a live run records and a page reads: loss curves, alignment frames, samples, a sentence's losses.

The training thread appends to a ``Recorder`` under a lock; a page rerun takes a ``LiveView``, an immutable snapshot of
numpy arrays (never tensors), so it never waits for a training step and never sees half of one.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from .fit import StepReport
from .readings.training import SentenceLoss


@dataclass(frozen=True)
class Curve:
    """One model's losses so far: every step's training loss, and the validation loss every few steps."""

    steps: np.ndarray  # (N,) 1-based step numbers
    seconds: np.ndarray  # (N,) wall time since this model started
    train: np.ndarray  # (N,) training loss of the batch at that step
    valid_steps: np.ndarray  # (M,) steps that validated (0 = before training)
    valid: np.ndarray  # (M,) validation loss there

    def early_stop(self, patience: int) -> tuple[int | None, int | None]:
        """(best step, the step where early stopping with ``patience`` evaluations would have stopped, or None)."""
        if not len(self.valid):
            return None, None
        best, bad = 0, 0
        for i in range(1, len(self.valid)):
            if self.valid[i] < self.valid[best]:
                best, bad = i, 0
            else:
                bad += 1
                if bad >= patience:
                    return int(self.valid_steps[best]), int(self.valid_steps[i])
        return int(self.valid_steps[best]), None


@dataclass(frozen=True)
class Frame:
    """What a seq2seq model did at one step: α of the fixed input (None without attention), exact match, loss."""

    model: str
    step: int
    alpha: np.ndarray | None  # (T_out + 1, T_in) teacher-forced on the gold output, the last row for <eos>
    exact_match: float  # share of fresh dates translated exactly (greedy)
    valid_loss: float


@dataclass(frozen=True)
class Sample:
    """Text a language model wrote at one step."""

    model: str
    step: int
    text: str


@dataclass(frozen=True)
class LiveView:
    """A snapshot of a run's record: safe to keep and draw while the run goes on."""

    curves: dict[str, Curve]
    frames: tuple[Frame, ...] = ()
    samples: tuple[Sample, ...] = ()
    sentence: tuple[SentenceLoss, ...] = ()
    source_tokens: tuple[str, ...] = ()  # the fixed date as the encoder reads it
    target_tokens: tuple[str, ...] = ()  # its gold output, then <eos>

    @property
    def first_loss(self) -> bool:
        """At least one training step has been recorded."""
        return any(len(c.steps) for c in self.curves.values())


@dataclass
class Recorder:
    """Append-only record of a run, written by the training thread, read by page reruns (under one lock)."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _curves: dict[str, dict[str, list]] = field(default_factory=dict)
    _frames: list[Frame] = field(default_factory=list)
    _samples: list[Sample] = field(default_factory=list)
    _sentence: list[SentenceLoss] = field(default_factory=list)
    _tokens: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())

    def _curve(self, name: str) -> dict[str, list]:
        return self._curves.setdefault(name, {k: [] for k in ("steps", "seconds", "train", "valid_steps", "valid")})

    def step(self, name: str, report: StepReport) -> None:
        with self._lock:
            c = self._curve(name)
            c["steps"].append(report.step)
            c["seconds"].append(report.elapsed_s)
            c["train"].append(report.loss)
            if report.valid_loss is not None:
                c["valid_steps"].append(report.step)
                c["valid"].append(report.valid_loss)

    def valid(self, name: str, step: int, loss: float) -> None:
        with self._lock:
            c = self._curve(name)
            c["valid_steps"].append(step)
            c["valid"].append(loss)

    def frame(self, frame: Frame) -> None:
        with self._lock:
            self._frames.append(frame)

    def sample(self, sample: Sample, sentence: SentenceLoss | None = None) -> None:
        with self._lock:
            self._samples.append(sample)
            if sentence is not None:
                self._sentence.append(sentence)

    def tokens(self, source: tuple[str, ...], target: tuple[str, ...]) -> None:
        with self._lock:
            self._tokens = (source, target)

    def view(self) -> LiveView:
        """Copies of everything so far, as numpy arrays."""
        with self._lock:
            curves = {name: Curve(*(np.asarray(c[k], dtype=np.float64 if k in ("seconds", "train", "valid")
                                                else np.int64)
                                    for k in ("steps", "seconds", "train", "valid_steps", "valid")))
                      for name, c in self._curves.items()}
            return LiveView(curves, tuple(self._frames), tuple(self._samples), tuple(self._sentence), *self._tokens)
