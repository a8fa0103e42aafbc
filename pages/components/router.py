"""The router behind ``app.py``: page config, the navigation of built pages, the shared sidebar, lesson links.

The page scripts live in ``pages/views/``, not directly in ``pages/``: Streamlit treats ``*.py`` files
directly under a ``pages/`` folder beside the entry script as a legacy multipage app, and on a
fresh server it would run a linked page on its own, without this router and its sidebar.
"""
from __future__ import annotations

import contextlib

import streamlit as st
from streamlit.errors import StreamlitAPIException

from . import classroom, links, presenter
from .catalog import ROOT, built_pages
from .export import PAGE_KEY
from .loaders import server_setup
from .widgets import SENTENCE_KEY, sidebar

# A file, not a ":material/…" name: Streamlit turns a Material page icon into a favicon fetched from Google's
# font CDN on every page load — a request off the machine, which fails offline and tells a third party who is here.
ICON = ROOT / "assets" / "icon.png"


def run(default: str | None = None) -> None:
    """Render the app; ``default`` (a page path) is the page shown at the root URL (Home unless given)."""
    st.set_page_config(page_title="Language Model Lab", page_icon=str(ICON), layout="wide",
                       initial_sidebar_state="collapsed" if presenter.requested() else "auto")
    server_setup()
    links.bind_keyed_widgets()
    asked = links.begin_run()
    pages = built_pages()
    default = default or pages[0].path
    navigation = st.navigation([
        st.Page(ROOT / p.path, title=p.title, icon=p.icon, url_path=(ROOT / p.path).stem, default=p.path == default)
        for p in pages
    ])
    here = navigation.url_path or (ROOT / default).stem
    classroom.switch_to(classroom.apply_pending(SENTENCE_KEY), here)  # a follower takes the teacher's view
    st.session_state[PAGE_KEY] = here
    sidebar(here)
    notice = st.empty()
    navigation.run()
    dropped = links.unused(asked)
    if dropped:
        notice.info(links.link_notice(dropped), icon="🔗")
        for key in dropped:  # an unknown name leaves the address; a control's own parameter is Streamlit's to fix
            with contextlib.suppress(StreamlitAPIException):
                st.query_params.pop(key, None)
