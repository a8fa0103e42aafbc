"""Lesson links: every keyed control travels in the page address, and a stale link gets a notice, not an error.

Streamlit 1.67 syncs a widget with the URL when it is created with ``bind="query-params"``: the key is the
parameter's name, a default value is left out of the address, the browser rewrites the address as the control
changes (inside fragments too), and a value the widget cannot take (an option that is not offered, a number out
of range or malformed) is dropped before the widget is drawn. ``bind_keyed_widgets`` makes that the default for
every keyed control, so a page gets its links without naming them; ``link_notice`` says what a link asked for
that was not used.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable

from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
from streamlit.runtime.state.query_params import parse_url_param

# Controls with a value to share (buttons and uploads have none; a text area holds long text, too long for an
# address: the sidebar sentence has its own ?s=, cut at the length the pages read).
BINDABLE = ("checkbox", "toggle", "radio", "selectbox", "multiselect", "slider", "select_slider", "number_input",
            "text_input", "segmented_control", "pills")
# Parameters the app reads itself: the sentence (?s=), presenter mode, a class to join.
RESERVED = frozenset({"s", "present", "class"})
# Keyed controls that stay out of the address: the sentence has its own short ?s=, the presenter switch its
# ?present=1; class mode and guesses belong to one student, not to a lesson.
UNBOUND = frozenset({"sentence", "presenter", "class_code", "class_follow"})
MARK = "_lml_bound"
SETTINGS_KEY = "_lml_settings"  # key -> value of every keyed control drawn in this script run (chart filenames)


def _bound(method: Callable, name: str) -> Callable:
    @functools.wraps(method)
    def widget(self, *args, **kwargs):
        key = kwargs.get("key")
        if key is not None and str(key) not in UNBOUND and not str(key).startswith("_"):
            kwargs.setdefault("bind", "query-params")
        value = method(self, *args, **kwargs)
        if key is not None:
            _remember(str(key), value)
        return value

    setattr(widget, MARK, name)
    return widget


def _remember(key: str, value: object) -> None:
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is not None:
        settings = ctx.session_state[SETTINGS_KEY] if SETTINGS_KEY in ctx.session_state else {}
        settings[key] = value
        ctx.session_state[SETTINGS_KEY] = settings


def bind_keyed_widgets() -> None:
    """Make ``bind="query-params"`` the default of every keyed control (``st.x`` and ``container.x``); idempotent."""
    import streamlit as st

    for name in BINDABLE:
        method = getattr(DeltaGenerator, name)
        if not getattr(method, MARK, None):
            setattr(DeltaGenerator, name, _bound(method, name))
        # ``st.selectbox`` is a method of the main container bound when streamlit was imported: rebind it.
        if getattr(getattr(st, name), MARK, None) is None:
            setattr(st, name, getattr(st._main, name))


def begin_run() -> dict[str, str]:
    """At the start of a full script run: forget the last run's settings; returns the address's parameters."""
    import streamlit as st

    st.session_state[SETTINGS_KEY] = {}
    return {k: st.query_params.get(k, "") for k in st.query_params}


def settings() -> dict[str, object]:
    """The keyed controls drawn so far in this run, in order (a chart's filename names them)."""
    import streamlit as st

    return dict(st.session_state.get(SETTINGS_KEY, {}))


def _unused_value(key: str, raw: str) -> bool:
    """Whether a parameter asked for something the control does not show (unknown name, refused or clamped value)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    state = ctx.session_state._state  # Streamlit's SessionState: the widget's own parser decides
    widget_id = state._key_id_mapper.get_id_from_key(key)
    metadata = state._new_widget_state.widget_metadata.get(widget_id) if widget_id else None
    if metadata is None:
        return True  # no control of that name on this page
    try:
        return metadata.serializer(state[key]) != parse_url_param(raw, metadata.value_type)
    except (ValueError, TypeError, IndexError, KeyError):
        return True


def unused(asked: dict[str, str]) -> list[str]:
    """Parameters of the opened link that no control took (unknown names, values a control does not allow)."""
    return [k for k, raw in asked.items() if k not in RESERVED and _unused_value(k, raw)]


def release_bound_params() -> None:
    """Drop the address's control parameters before ``st.switch_page``, which refuses to clear bound ones (the
    next page's controls bind their own)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    with ctx.session_state.query_params() as params:
        for key in [k for k in list(params) if params.is_bound(k)]:
            params.remove_param(key)


def link_notice(dropped: list[str]) -> str:
    """The short notice for a link whose parameters were partly ignored."""
    names = ", ".join(dropped[:6]) + (" …" if len(dropped) > 6 else "")
    return (f"This link asked for settings this page does not have or no longer allows ({names}); "
            "they were ignored (a number out of range moves to the nearest allowed value).")


def file_stem(*parts: object, limit: int = 120) -> str:
    """A filename stem from parts (page, chart, settings): letters, digits, '.', '-' and '_' only."""
    text = "_".join(str(p) for p in parts if str(p) != "")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-_")[:limit] or "figure"
