"""Small numpy helpers the readings share: unit-length rows (so dot products are cosines) and a stable softmax."""
from __future__ import annotations

import numpy as np


def unit_rows(table: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1, so a dot product is a cosine."""
    return table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-12)


def softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(s_j) / Σ_k exp(s_k), computed as exp(s_j − max s) (the same result: softmax ignores a shift; −∞ gets 0)."""
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
