"""Widgets shared by every page: the sidebar, the shared sentence, model pickers, code, charts with PNG and CSV."""
from __future__ import annotations

import functools
import html
import inspect
from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from models.checkpoint import rebuild_command
from models.registry import EMBEDDING_NAMES, LM_NAMES, SEQ2SEQ_SPECS
from models.registry import label as model_label
from models.runtime import device_label

from . import classroom, presenter
from .export import chart as chart  # the pages' one import for widgets
from .loaders import get_model
from .text import DEFAULT_SENTENCE, MAX_CHARS, CleanText, clean_text

SENTENCE_KEY = "sentence"
URL_KEY = "s"
COPY_LINK = """<button id="copy" type="button" style="font: 14px sans-serif; padding: 6px 12px; cursor: pointer;
 border: 1px solid #8a8986; border-radius: 8px; background: #ffffff; color: #262730">Copy link to this view</button>
<span id="done" role="status" style="font: 14px sans-serif; color: #262730; margin-left: 8px"></span>
<script>
document.getElementById("copy").addEventListener("click", async () => {
  const url = window.parent.location.href;  // the page's address: page, sentence and every control
  try { await navigator.clipboard.writeText(url); }
  catch (err) {  // plain http on a class network: no Clipboard API, the old way still works on a click
    const box = document.createElement("textarea"); box.value = url; document.body.appendChild(box);
    box.select(); document.execCommand("copy"); box.remove();
  }
  document.getElementById("done").textContent = "Copied";
});
</script>"""


def _keep_in_url() -> None:
    st.query_params[URL_KEY] = st.session_state[SENTENCE_KEY][:MAX_CHARS]


def sidebar(here: str) -> None:
    """The one shared sidebar: the example sentence (kept in the URL), a link to this view, presenter and class
    mode, the device, the checkpoints (``here``: the url path of the page shown)."""
    if SENTENCE_KEY not in st.session_state:
        st.session_state[SENTENCE_KEY] = st.query_params.get(URL_KEY, DEFAULT_SENTENCE)
    with st.sidebar:
        st.text_area(
            "Example sentence (shared by every page)", key=SENTENCE_KEY, height=100,
            help=f"Kept when you switch pages and in the page address, so a copied link opens the same "
                 f"sentence. Up to {MAX_CHARS} characters are used.",
        )
        _keep_in_url()
        st.iframe(COPY_LINK, height=44)
        presenter.switch()
        classroom.panel(here, st.session_state[SENTENCE_KEY])
        classroom.push(here, st.session_state[SENTENCE_KEY])
        st.caption(f"Device: **{device_label()}**")
        with st.expander("Checkpoints", expanded=False):
            for name in (*LM_NAMES, *EMBEDDING_NAMES, *SEQ2SEQ_SPECS):
                loaded = get_model(name)
                if loaded.bundle is not None:
                    st.write(f"✅ {model_label(name)} — {loaded.bundle.meta['params']:,} parameters")
                else:
                    st.error(f"{model_label(name)} is not available: {loaded.error}")
                    st.code(rebuild_command(name), language="bash")


def shared_sentence() -> CleanText:
    """The sidebar's sentence, cleaned; notes about truncation or emptiness are shown."""
    cleaned = clean_text(st.session_state.get(SENTENCE_KEY, DEFAULT_SENTENCE))
    for note in cleaned.notes:
        st.info(note)
    return cleaned


def available_models(names: Sequence[str] = LM_NAMES) -> list[str]:
    """Models whose checkpoints loaded (a broken one is left out, with its message in the sidebar)."""
    return [n for n in names if get_model(n).bundle is not None]


def model_select(label: str, key: str, names: Sequence[str], index: int = 0, extra: Sequence[str] = ()) -> str:
    """A selectbox over model names shown with readable labels."""
    options = list(extra) + list(names)
    return st.selectbox(label, options, index=min(index, len(options) - 1), key=key,
                        format_func=model_label)


@functools.cache
def source_of(obj: Callable) -> str:
    """``inspect.getsource`` once per function per server: it re-reads and re-parses the file on every call."""
    return inspect.getsource(obj)


def show_source(*objects: Callable) -> None:
    """The real source of the functions that computed the figure (``inspect.getsource``); hidden when presenting."""
    if presenter.requested():
        return
    with st.expander("Show the code that computed this"):
        for obj in objects:
            st.code(source_of(obj), language="python")


def try_this(*prompts: str) -> None:
    """The page's "predict, then reveal" prompts, numbered, open by default (fixed text: may use Markdown)."""
    with st.expander("Try this: predict, then reveal", expanded=True):
        st.write("\n".join(f"{i}. {prompt}" for i, prompt in enumerate(prompts, start=1)))


def table_with_csv(df: pd.DataFrame, file_name: str, key: str) -> None:
    """The numbers behind a figure, with a CSV download."""
    st.dataframe(df, hide_index=True, width="stretch")
    st.download_button("Download CSV", df.to_csv(index=False).encode(), file_name=file_name, mime="text/csv", key=key)


def say(template: str, **parts: object) -> None:
    """A paragraph whose fixed wording may use <b>/<i> and whose ``parts`` (user or model text) are
    HTML-escaped — never Markdown, so a typed '*', '[' or '<' is shown as typed."""
    escaped = {k: html.escape(str(v), quote=True) for k, v in parts.items()}
    st.html(f'<p style="margin:0.2rem 0 0.8rem 0">{template.format(**escaped)}</p>')

