"""Readings of the LSTM's and GRU's gates: summaries, the state as a highway, and units that track features.

Torch's conventions (those of our models): the LSTM keeps c_{t−1} through f_t; the GRU computes
h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}, so its z_t is the share of h_{t−1} *kept* (the lectures' 1 − z_t).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..inputs import model_input
from ..probes import FEATURES, PROBE_SENTENCES, token_features, unit_correlations
from ..rnn import RecurrentLM
from ..tokenizer import Tokenizer
from .recurrent import Reading, read_ids

KEEP_GATE = {"lstm": "f", "gru": "z"}  # the gate that multiplies the old state (torch's z: the lectures' 1 − z)
MEMORY = {"lstm": "c", "gru": "h"}  # the state the gate carries forward


@dataclass
class GateSummary:
    """How open a gate is over the sentence."""

    mean: float  # over units and steps
    open_share: float  # share of values above 0.9
    closed_share: float  # share of values below 0.1


def gate_summary(values: np.ndarray) -> GateSummary:
    """Mean of a gate (T, H), and the shares of nearly open (> 0.9) and nearly closed (< 0.1) values."""
    return GateSummary(float(values.mean()), float((values > 0.9).mean()), float((values < 0.1).mean()))


def survival(keep: np.ndarray, start: int) -> np.ndarray:
    """∏_{s=start+1..t} keep_s for every unit: how much of the state at ``start`` reaches step t. (H, T)."""
    T, H = keep.shape
    out = np.full((H, T), np.nan)
    out[:, start] = 1.0
    for t in range(start + 1, T):
        out[:, t] = out[:, t - 1] * keep[t]
    return out


@dataclass
class Highway:
    """The direct path of the state: ∏ f_s (LSTM, ∂c_t/∂c_k along it) or ∏ z_s (GRU, torch's z)."""

    carried: np.ndarray  # (H, T) share of the state at ``start`` still carried at step t (nan before start)
    start: int
    over_half: float  # share of units that carry more than half of it to the last step
    median: float  # the median unit's share at the last step


def highway(reading: Reading, cell: str, start: int) -> Highway:
    """How much of the state at step ``start`` survives to every later step, per unit (``cell``: lstm or gru)."""
    carried = survival(reading.parts[KEEP_GATE[cell]], start)
    last = carried[:, -1]
    return Highway(carried, start, float(np.mean(last > 0.5)), float(np.median(last)))


@dataclass
class UnitFinder:
    """For each feature, the units whose memory correlates with it most (one row per unit)."""

    feature: list[str]
    unit: list[int]
    r: list[float]  # Pearson r across every probe token


def unit_finder(model: RecurrentLM, tokenizer: Tokenizer, per_feature: int = 5) -> UnitFinder:
    """Read every probe sentence; rank units by |r| between their memory (c_t or h_t) and each feature."""
    memory = MEMORY[model.config.cell]
    acts, feats = [], []
    for sentence in PROBE_SENTENCES:
        reading = read_ids(model, tokenizer.vocab.itos, model_input(tokenizer, sentence).ids)
        acts.append(reading.parts[memory][1:])  # skip the start <eos>
        feats.append(token_features(reading.inputs[1:]))
    r = unit_correlations(np.concatenate(acts), np.concatenate(feats))  # (H, F)
    rows = [(feature, int(unit), float(r[unit, j])) for j, feature in enumerate(FEATURES)
            for unit in np.argsort(-np.abs(r[:, j]))[:per_feature]]
    feature, unit, corr = zip(*rows, strict=True)
    return UnitFinder(list(feature), list(unit), list(corr))
