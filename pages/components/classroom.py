"""Class mode: the teacher opens a class and leads it (page and sentence), students follow and answer the
predict-then-reveal questions; the teacher sees the answers live. State lives in ``serve.store``."""
from __future__ import annotations

import hashlib
import urllib.parse
import uuid
from collections.abc import Sequence

import plotly.graph_objects as go
import streamlit as st

from serve.store import ClassError, ClassView, ExpiredClass, normalise_code

from . import links
from .catalog import ROOT, built_pages
from .export import chart
from .loaders import class_store
from .palette import CATEGORICAL
from .plotting import plot_text
from .text import MAX_CHARS

SESSION = "_class_session"  # anonymous random id of this browser session (never a name)
CODE = "_class"  # the class this session is in
TEACHER = "_class_teacher"  # True for the session that opened it
APPLIED = "_class_applied"  # the teacher's version this follower last took
PENDING = "_class_pending"  # a teacher's view to apply at the start of the next run
NOTE = "_class_note"  # a message that survives the rerun that follows it
FOLLOW = "class_follow"
LINK_KEY = "class"  # ?class=CODE: a link that joins a class
POLL_S = 1.5  # followers see a change within this plus one rerun (the issue asks for 3 s)


def session_id() -> str:
    """This session's anonymous id."""
    if SESSION not in st.session_state:
        st.session_state[SESSION] = uuid.uuid4().hex
    return st.session_state[SESSION]


def current() -> str | None:
    """The code of the class this session is in, if any."""
    return st.session_state.get(CODE)


def is_teacher() -> bool:
    return bool(current() and st.session_state.get(TEACHER))


def _leave(note: str | None = None) -> None:
    for key in (CODE, TEACHER, APPLIED, PENDING):
        st.session_state.pop(key, None)
    if note:
        st.session_state[NOTE] = note


def apply_pending(sentence_key: str) -> str | None:
    """Before the sidebar is drawn: take a teacher's view the poll found; returns the page to switch to, if any."""
    view: ClassView | None = st.session_state.pop(PENDING, None)
    if view is None:
        return None
    st.session_state[sentence_key] = view.sentence
    st.session_state[APPLIED] = view.version
    return view.page or None


def switch_to(page: str | None, here: str) -> None:
    """Go to the teacher's page (a url path of a built page; anything else is ignored)."""
    paths = {(ROOT / p.path).stem: ROOT / p.path for p in built_pages()}
    if page and page != here and page in paths:
        links.release_bound_params()
        st.switch_page(paths[page])


def _open() -> None:
    code = class_store().open_class(session_id())
    st.session_state[CODE], st.session_state[TEACHER] = code, True


def _join(typed: str | None = None) -> None:
    code = normalise_code(st.session_state.get("class_code", "") if typed is None else typed)
    try:
        view = class_store().view(code)
    except ClassError as err:
        st.session_state[NOTE] = str(err)
        return
    st.session_state[CODE], st.session_state[TEACHER] = view.code, False
    if view.version:  # a new student starts on the teacher's view, once the teacher has shown one
        st.session_state[PENDING] = view


def _close() -> None:
    try:
        class_store().close(current(), session_id())
    except ClassError:
        pass  # already ended
    _leave("The class is closed; its answers are deleted.")


def _back() -> None:
    try:
        st.session_state[PENDING] = class_store().view(current())
    except ClassError as err:
        _leave(str(err))


def push(page: str, sentence: str) -> None:
    """The teacher's page and sentence go to the class (the first MAX_CHARS characters, as every page uses)."""
    if not is_teacher():
        return
    if len(sentence) > MAX_CHARS:
        st.sidebar.warning(f"Your sentence has {len(sentence):,} characters: the class receives the first "
                           f"{MAX_CHARS}, as every page uses. Your own text is unchanged.")
    try:
        class_store().push(current(), session_id(), page, sentence[:MAX_CHARS])
    except ExpiredClass as err:
        _leave(f"{err} Your page and sentence are kept.")
    except ClassError as err:
        st.sidebar.warning(str(err))


@st.fragment(run_every=POLL_S)
def _follow(here: str, sentence: str) -> None:
    """A follower's poll (only drawn while in a class): the teacher's new view is taken with one app rerun."""
    try:
        view = class_store().view(current())
    except ClassError as err:
        _leave(f"{err} Your page and sentence are kept.")
        st.rerun()
    if st.session_state.get(FOLLOW, True) and view.version > st.session_state.get(APPLIED, 0):
        st.session_state[PENDING] = view
        st.rerun()
    if (view.page, view.sentence) != (here, sentence[:MAX_CHARS]):
        if st.button("Back to the teacher's view", key="class_back", type="primary"):
            _back()
            st.rerun()
    else:
        st.caption("You see the teacher's page and sentence.")


def join_link(url: str | None, code: str) -> str:
    """The address a student opens to join: the app's root with ``?class=CODE``."""
    parts = urllib.parse.urlsplit(url or "")
    root = f"{parts.scheme}://{parts.netloc}/" if parts.netloc else "/"
    return f"{root}?{LINK_KEY}={code}"


def _join_from_link() -> None:
    """A link with ?class=CODE joins that class (once; the parameter then leaves the address)."""
    typed = st.query_params.get(LINK_KEY)
    if typed is None:
        return
    st.query_params.pop(LINK_KEY, None)
    if current() is None:
        _join(typed)
        if current() is not None:
            st.rerun()  # the router applies the teacher's view before the sidebar is drawn again


def panel(here: str, sentence: str) -> None:
    """The sidebar's class box: open or join a class; lead it (teacher) or follow it (student)."""
    _join_from_link()
    note = st.session_state.pop(NOTE, None)
    # Open while in use: Streamlit folds an expander again when ``expanded`` turns False.
    with st.expander("Class mode", expanded=bool(current() or note or st.session_state.get("class_code"))):
        if note:
            st.info(note)
        if current() is None:
            st.text_input("Class code", key="class_code", max_chars=16, placeholder="e.g. K7QX2")
            c1, c2 = st.columns(2)
            c1.button("Join", on_click=_join, key="class_join")
            c2.button("Open a class", on_click=_open, key="class_open", help="For the teacher: students follow "
                      "your page and sentence and send their guesses; a class ends after 3 hours.")
        elif is_teacher():
            st.markdown(f"Class code: **{current()}** — students join with it and follow your page and sentence. "
                        "Or they open this link:")
            st.code(join_link(st.context.url, current()), language=None, wrap_lines=True)
            st.button("Close the class", on_click=_close, key="class_close")
        else:
            st.markdown(f"In class **{current()}**.")
            st.toggle("Follow the teacher", value=True, key=FOLLOW,
                      help="Off: explore on your own; the button below brings you back.")
            _follow(here, sentence)
            st.button("Leave the class", on_click=_leave, key="class_leave")


def question_id(name: str, options: Sequence[str], context: str = "") -> str:
    """A question's id: its name, options and context (a new sentence or model asks a new question)."""
    digest = hashlib.sha1("\x1f".join([context, *options]).encode()).hexdigest()[:10]
    return f"{name}:{digest}"


def answers_figure(options: Sequence[str], counts: dict[str, int]) -> go.Figure:
    """The class's answers as bars, one per option."""
    return go.Figure(go.Bar(x=[plot_text(o) for o in options], y=[counts.get(o, 0) for o in options],
                            marker_color=CATEGORICAL[0]),
                     layout=dict(height=260, margin=dict(l=40, r=10, t=30, b=40), yaxis_title="students",
                                 title="The class's answers"))


@st.fragment(run_every=POLL_S)
def _live_answers(qid: str, options: tuple[str, ...]) -> None:
    try:
        counts = class_store().counts(current(), qid)
    except ClassError as err:
        st.info(str(err))
        return
    st.write(f"{sum(counts.values())} answer(s) so far — reveal when the class has answered.")
    chart(answers_figure(options, counts), key=f"class_answers_{qid.split(':')[0]}")


def question(name: str, options: Sequence[str], choice: int, context: str = "") -> None:
    """One call on a predict-then-reveal question: in a class, a student sends the current guess and the teacher
    sees the class's answers live; outside a class it draws nothing."""
    if current() is None:
        return
    qid, options = question_id(name, options, context), tuple(options)
    if is_teacher():
        _live_answers(qid, options)
        return
    if st.button("Send my guess to the class", key=f"class_send_{name}"):
        try:
            class_store().answer(current(), qid, session_id(), options[choice])
            st.success("Sent (anonymously). You can change it and send again before the reveal.")
        except ClassError as err:
            st.warning(str(err))
