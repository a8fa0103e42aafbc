"""Presenter mode for a projector: ``?present=1`` or the sidebar switch; larger text and figure fonts, the sidebar
collapsed, the code expanders hidden."""
from __future__ import annotations

import streamlit as st

KEY = "presenter"
URL_KEY = "present"
SCALE = 1.35  # body text and figure fonts, against Streamlit's 16 px and plotly's 12 px
FIGURE_FONT = round(12 * SCALE)

# Streamlit sizes its text in rem, so scaling the root font scales headings, captions, tables and controls alike.
STYLE = f"<style>html {{ font-size: {SCALE * 100:.0f}% !important; }}</style>"
# Always on: a formula wider than its column would scroll inside a box a keyboard cannot reach (WCAG 2.1.1, which
# axe-core flags on the gates and transformer pages): it overflows visibly instead.
BASE_STYLE = "<style>.katex-display { overflow: visible !important; }</style>"


def requested() -> bool:
    """Whether this session presents: the switch once drawn, else the page address (a link can open it)."""
    if KEY in st.session_state:
        return bool(st.session_state[KEY])
    return st.query_params.get(URL_KEY, "") in ("1", "true", "yes")


def _keep_in_url() -> None:
    if st.session_state[KEY]:
        st.query_params[URL_KEY] = "1"
    else:
        st.query_params.pop(URL_KEY, None)


def switch() -> bool:
    """The sidebar switch (starts from the address); applies the larger fonts while on."""
    if KEY not in st.session_state:
        st.session_state[KEY] = requested()
    on = st.toggle("Presenter mode", key=KEY, on_change=_keep_in_url,
                   help="For a projector: larger text and figures, the sidebar folded away, no code boxes. "
                        "A link with ?present=1 opens in this mode.")
    st.html(BASE_STYLE + (STYLE if on else ""))
    return on
