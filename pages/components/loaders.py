"""Models load once per server (``st.cache_resource``) and are shared read-only by every session."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import streamlit as st

from models.checkpoint import CheckpointError
from models.live_train import warm_up
from models.readings.recurrent import Reading, read
from models.registry import Bundle, load
from models.runtime import one_thread_per_request
from models.scheduler import Limits, Scheduler
from serve.store import SQLiteClassStore, default_store


@dataclass(frozen=True)
class Loaded:
    """A model bundle, or the message that explains why it is missing and how to rebuild it."""

    bundle: Bundle | None
    error: str | None


@st.cache_resource(show_spinner=False)
def server_setup() -> None:
    """Once per server: one torch thread per request keeps many sessions from fighting over cores."""
    one_thread_per_request()


@st.cache_resource(show_spinner=False)
def class_store() -> SQLiteClassStore:
    """The class-mode database of this machine, opened once per server (every replica opens the same file)."""
    return default_store()


@st.cache_resource(show_spinner="Loading model…")
def get_model(name: str) -> Loaded:
    """Load (and verify) a checkpoint once per server; a broken one yields a message, not an exception."""
    try:
        return Loaded(load(name), None)
    except (CheckpointError, OSError, KeyError, RuntimeError, ValueError) as err:
        return Loaded(None, str(err))


def figure_cache(builder):
    """Keep built figures per input for the whole server: plotly validates every trace and frame as a
    figure is built (hundreds of ms for an animation), while serialising a built one is cheap.
    Shared figures are only read (``st.plotly_chart`` converts them with ``to_dict``)."""
    return st.cache_resource(max_entries=256, show_spinner=False)(builder)


def reading_cache(fn):
    """Keep a reading per input for the whole server (``st.cache_data``: each session gets its own copy), so
    a class on the same sentence computes it once."""
    return st.cache_data(max_entries=512, show_spinner=False)(fn)


@reading_cache
def recurrent_reading(name: str, text: str, max_steps: int) -> Reading:
    """A recurrent model reads <eos> + the sentence with its hand-written cell, every state and gate kept (cached
    per model and text, so the RNN and the gates pages share it)."""
    bundle = get_model(name).bundle
    return read(bundle.model, bundle.tokenizer, text, max_steps)


@st.cache_resource(show_spinner=False)
def get_scheduler() -> Scheduler:
    """The server's one training queue (DESIGN §5): its limits from LML_TRAIN_SLOTS / LML_TRAIN_CAP_S; autograd is
    warmed up on a side thread so the first student's first step does not pay for it."""
    threading.Thread(target=warm_up, name="train-warm-up", daemon=True).start()
    return Scheduler(Limits.from_env(os.environ))


def shared_data(fn):
    """Training data built once per server and shared read-only by every run (tokenizers, id tensors)."""
    return st.cache_resource(max_entries=16, show_spinner=False)(fn)
