"""Colour-blind-safe colours (Okabe & Ito 2008; viridis) shared by the charts and token HTML."""
from __future__ import annotations

import numpy as np

CATEGORICAL = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
SEQUENTIAL = "Viridis"
DIVERGING = "PuOr"
HIGHLIGHT = "#D55E00"  # vermilion: unknown words, flagged tokens

# Viridis at 0, 0.25, 0.5, 0.75, 1 (RGB), for colouring tokens by a number.
_VIRIDIS = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=float)


def viridis_rgb(value: float) -> tuple[int, int, int]:
    """RGB of viridis at ``value`` in [0, 1] (clipped; NaN maps to 0)."""
    v = 0.0 if not np.isfinite(value) else float(np.clip(value, 0.0, 1.0))
    pos = v * (len(_VIRIDIS) - 1)
    i = min(int(pos), len(_VIRIDIS) - 2)
    rgb = _VIRIDIS[i] + (pos - i) * (_VIRIDIS[i + 1] - _VIRIDIS[i])
    return int(round(rgb[0])), int(round(rgb[1])), int(round(rgb[2]))


def relative_luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0 black … 1 white)."""
    c = np.asarray(rgb, dtype=float) / 255
    linear = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2])


def text_colour(rgb: tuple[int, int, int]) -> str:
    """Black or white, whichever has the higher WCAG contrast ratio on ``rgb`` (never below 4.58:1)."""
    lum = relative_luminance(rgb)
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"
