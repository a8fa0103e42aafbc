"""Heavy first-time work (sweeps, Jacobians of three models) waits for an explicit button, remembered per input."""
from __future__ import annotations

from collections.abc import Hashable

import streamlit as st


def asked(label: str, key: str, inputs: Hashable, note: str) -> bool:
    """Whether the student asked for this work on these inputs: a button (with ``note`` on its cost) the first
    time; afterwards remembered for the session, so reruns by other controls do not ask again. A new sentence
    costs nothing here until the button is pressed (DESIGN §5: a class typing sentences shares one server)."""
    done = st.session_state.setdefault(f"{key}_done", set())
    if inputs in done:
        return True
    st.caption(note)
    if st.button(label, key=key, type="primary"):
        done.add(inputs)
        return True
    return False
