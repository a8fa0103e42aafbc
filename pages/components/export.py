"""Every figure with its exports: PNG from the chart's toolbar and the numbers as CSV, both named after the page,
the chart and the settings; larger fonts in presenter mode."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from . import links, presenter
from .plotting import figure_table

PAGE_KEY = "_lml_page"  # url path of the page this run draws (set by the router)


def chart(figure, key: str, where=st, name: str = "", **options) -> None:
    """A plotly figure with its PNG (the toolbar's camera, named after page, chart and settings) and its numbers as
    CSV (from the figure's own traces, built only when clicked); larger fonts in presenter mode. ``options`` go to
    ``plotly_chart`` (e.g. ``on_select``)."""
    picked = {k: v for k, v in links.settings().items() if k not in links.UNBOUND and len(str(v)) <= 40}
    stem = links.file_stem(st.session_state.get(PAGE_KEY, "page"), key, name,
                           *(f"{k}-{v}" for k, v in picked.items()))
    shown = figure
    if presenter.requested():  # a copy: built figures are cached and shared by every session
        shown = go.Figure(figure).update_layout(font_size=presenter.FIGURE_FONT)
    config = {"toImageButtonOptions": {"format": "png", "filename": stem, "scale": 2}}
    where.plotly_chart(shown, key=key, width="stretch", config=config, **options)
    where.download_button("CSV of this figure", lambda: figure_table(figure).to_csv(index=False).encode(),
                          file_name=f"{stem}.csv", mime="text/csv", key=f"csv_{key}", type="tertiary",
                          on_click="ignore")
