"""Low-dimensional views of high-dimensional vectors (states, embeddings) for 2-D maps."""
from __future__ import annotations

import numpy as np


def pca_2d(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project rows of ``states`` (T, H) on their first two principal components: (T, 2), explained ratios."""
    centred = states - states.mean(0, keepdims=True)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    var = s**2
    return centred @ vt[:2].T, var[:2] / max(var.sum(), 1e-12)
