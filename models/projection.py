"""Low-dimensional views of high-dimensional vectors (states, embeddings) for 2-D maps."""
from __future__ import annotations

import numpy as np


def pca_axes(states: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean (H,), first two principal axes (2, H) of the rows of ``states`` (T, H), and their explained ratios."""
    mean = states.mean(0)
    _, s, vt = np.linalg.svd(states - mean, full_matrices=False)
    var = s**2
    return mean, vt[:2], var[:2] / max(var.sum(), 1e-12)


def pca_2d(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project rows of ``states`` (T, H) on their first two principal components: (T, 2), explained ratios."""
    mean, axes, ratios = pca_axes(states)
    return (states - mean) @ axes.T, ratios
