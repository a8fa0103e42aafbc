"""Coloured tokens as HTML: every token goes through ``html.escape``; colours come from numbers only."""
from __future__ import annotations

import html
import math
from collections.abc import Sequence

from .palette import HIGHLIGHT, text_colour, viridis_rgb

_SPAN = (
    '<span title="{title}" style="background:rgb({r},{g},{b});color:{fg};padding:2px 4px;margin:2px;'
    'border-radius:4px;display:inline-block;font-family:monospace;{extra}">{text}</span>'
)


def token_spans(
    tokens: Sequence[str],
    values: Sequence[float],
    titles: Sequence[str] | None = None,
    flagged: Sequence[bool] | None = None,
) -> str:
    """One span per token, background = viridis(value in [0, 1]); flagged tokens get an outline."""
    parts = []
    for i, (tok, val) in enumerate(zip(tokens, values, strict=True)):
        r, g, b = viridis_rgb(float(val))
        flag = bool(flagged[i]) if flagged is not None else False
        extra = f"outline:3px solid {HIGHLIGHT};" if flag else ""
        title = titles[i] if titles is not None else f"{float(val):.3f}" if math.isfinite(float(val)) else ""
        parts.append(
            _SPAN.format(
                title=html.escape(str(title), quote=True),
                r=r, g=g, b=b, fg=text_colour((r, g, b)), extra=extra,
                text=html.escape(str(tok), quote=True),
            )
        )
    return '<div style="line-height:2.2">' + "".join(parts) + "</div>"
