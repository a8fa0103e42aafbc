"""Language Model Lab: the router. One shared sidebar, then the page the student picked."""
from __future__ import annotations

import streamlit as st

from pages.components.catalog import built_pages
from pages.components.loaders import server_setup
from pages.components.widgets import sidebar

st.set_page_config(page_title="Language Model Lab", page_icon=":material/school:", layout="wide")
server_setup()
navigation = st.navigation(
    [st.Page(p.path, title=p.title, icon=p.icon, default=(i == 0)) for i, p in enumerate(built_pages())]
)
sidebar()
navigation.run()
