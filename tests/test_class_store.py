"""Class mode's storage: SQLite in WAL mode behind the ClassStore interface; codes, pushes, answers, expiry."""
from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from pages.components.catalog import ROOT
from serve.store import (
    CODE_ALPHABET,
    CODE_LENGTH,
    MAX_TEXT,
    ClassError,
    ExpiredClass,
    SQLiteClassStore,
    UnknownClass,
    normalise_code,
)


class Clock:
    """A settable clock, so expiry is tested without waiting."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    return SQLiteClassStore(tmp_path / "classes.sqlite3", ttl_s=60.0, clock=clock)


def test_a_class_gets_a_short_readable_code_and_the_file_is_in_wal_mode(store):
    code = store.open_class("teacher-1")
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    assert store.view(code).version == 0
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_teacher_pushes_and_a_version_counts_real_changes(store):
    code = store.open_class("t")
    first = store.push(code, "t", "transformer", "the cat sat .")
    again = store.push(code, "t", "transformer", "the cat sat .")
    moved = store.push(code, "t", "sampling", "the cat sat .")
    assert (first.version, again.version, moved.version) == (1, 1, 2)
    assert store.view(code.lower()).page == "sampling"  # a code typed in lower case still works


def test_only_the_teacher_leads_or_closes(store):
    code = store.open_class("t")
    with pytest.raises(ClassError):
        store.push(code, "student", "home", "x")
    with pytest.raises(ClassError):
        store.close(code, "student")


def test_answers_are_counted_once_per_session(store):
    code = store.open_class("t")
    for session, choice in [("a", "3. dog"), ("b", "3. dog"), ("c", "1. the"), ("a", "1. the")]:
        store.answer(code, "home:q", session, choice)
    assert store.counts(code, "home:q") == {"3. dog": 1, "1. the": 2}
    assert store.counts(code, "other") == {}


def test_unknown_and_expired_classes_say_so(store, clock):
    with pytest.raises(UnknownClass, match="No class has the code"):
        store.view("ZZZZZ")
    code = store.open_class("t")
    store.answer(code, "q", "s", "x")
    clock.now += 61
    with pytest.raises(ExpiredClass, match="has ended"):
        store.view(code)
    with pytest.raises(ExpiredClass):
        store.answer(code, "q", "s2", "x")
    store.open_class("t2")  # opening a class deletes what ended
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM answers WHERE code = ?", (code,)).fetchone()[0] == 0


def test_a_huge_sentence_is_refused_and_the_class_keeps_its_view(store):
    code = store.open_class("t")
    store.push(code, "t", "home", "a short one")
    with pytest.raises(ValueError, match="at most"):
        store.push(code, "t", "home", "x" * (MAX_TEXT + 3_000))
    assert store.view(code).sentence == "a short one"


def test_normalise_code():
    assert normalise_code(" k7q-x2 ") == "K7QX2"
    assert normalise_code("") == ""


def test_replicas_share_one_file(tmp_path):
    """Another process (a second replica) sees the class and its pushes through the same file."""
    store = SQLiteClassStore(tmp_path / "shared.sqlite3")
    code = store.open_class("t")
    store.push(code, "t", "seq2seq", "i am happy .")
    script = (f"from serve.store import SQLiteClassStore; s = SQLiteClassStore({str(store.path)!r}); "
              f"v = s.view({code!r}); s.answer({code!r}, 'q', 'other-replica', 'x'); print(v.page, v.version)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["seq2seq", "1"]
    assert store.counts(code, "q") == {"x": 1}
