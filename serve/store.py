"""The shared state of class mode (open classes, what the teacher shows, the class's answers) behind a small
interface: SQLite here (standard library, WAL mode: one file that every replica on one machine reads and writes);
a server database (PostgreSQL) implements the same ``ClassStore`` for replicas on several hosts.

No personal data: a student is an anonymous random id per browser session, and a class and its answers are
deleted once it expires.
"""
from __future__ import annotations

import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud or off a projector
CODE_LENGTH = 5
TTL_S = 3 * 3600.0  # a class lasts one long lecture
MAX_TEXT = 2_000  # the longest page name, sentence or answer a class stores
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "logs" / "classes.sqlite3"


class ClassError(Exception):
    """A class that cannot be used, with the message a person reads."""


class UnknownClass(ClassError):
    """No class has this code."""


class ExpiredClass(ClassError):
    """The class existed but has ended."""


@dataclass(frozen=True)
class ClassView:
    """What the teacher shows: a page (its url path), the sentence, and a version that grows with every push."""

    code: str
    page: str
    sentence: str
    version: int
    expires: float


class ClassStore(Protocol):
    """The storage class mode needs (SQLite here; PostgreSQL for several hosts)."""

    def open_class(self, teacher: str) -> str:
        """A new class run by the session ``teacher``; returns its code."""

    def view(self, code: str) -> ClassView:
        """The teacher's current view (raises UnknownClass or ExpiredClass)."""

    def push(self, code: str, teacher: str, page: str, sentence: str) -> ClassView:
        """The teacher shows ``page`` with ``sentence`` (only the session that opened the class may push)."""

    def answer(self, code: str, question: str, session: str, choice: str) -> None:
        """Record (or replace) one session's answer to a question."""

    def counts(self, code: str, question: str) -> dict[str, int]:
        """How many sessions gave each answer."""

    def close(self, code: str, teacher: str) -> None:
        """End the class now and delete its answers."""


SCHEMA = """
CREATE TABLE IF NOT EXISTS classes (code TEXT PRIMARY KEY, teacher TEXT NOT NULL, expires REAL NOT NULL,
    page TEXT NOT NULL DEFAULT '', sentence TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS answers (code TEXT NOT NULL, question TEXT NOT NULL, session TEXT NOT NULL,
    choice TEXT NOT NULL, PRIMARY KEY (code, question, session));
"""


def normalise_code(code: str) -> str:
    """A code as typed (any case, spaces or dashes) in its stored form."""
    return "".join(ch for ch in code.upper() if ch.isalnum())[:16]


def _checked(text: str, what: str) -> str:
    if len(text) > MAX_TEXT:
        raise ValueError(f"{what} is {len(text):,} characters; a class stores at most {MAX_TEXT:,}")
    return text


class SQLiteClassStore:
    """``ClassStore`` in one SQLite file in WAL mode (readers never wait for the writer), shared by the replicas."""

    def __init__(self, path: Path | str = DEFAULT_PATH, ttl_s: float = TTL_S, clock=time.time) -> None:
        self.path = Path(path)
        self.ttl_s = ttl_s
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One short connection per call: safe across threads and processes (the busy timeout waits for a lock)."""
        db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=5000")
            yield db
        finally:
            db.close()

    def open_class(self, teacher: str) -> str:
        now = self.clock()
        with self._db() as db:
            expired = [r[0] for r in db.execute("SELECT code FROM classes WHERE expires < ?", (now,))]
            for code in expired:  # nothing of an ended class is kept
                db.execute("DELETE FROM answers WHERE code = ?", (code,))
                db.execute("DELETE FROM classes WHERE code = ?", (code,))
            for _ in range(20):
                code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
                try:
                    db.execute("INSERT INTO classes (code, teacher, expires) VALUES (?, ?, ?)",
                               (code, teacher, now + self.ttl_s))
                    return code
                except sqlite3.IntegrityError:
                    continue
        raise ClassError("could not find a free class code; try again")

    def _row(self, db: sqlite3.Connection, code: str) -> tuple:
        row = db.execute("SELECT code, page, sentence, version, expires, teacher FROM classes WHERE code = ?",
                         (normalise_code(code),)).fetchone()
        if row is None:
            raise UnknownClass(f"No class has the code {normalise_code(code) or '(empty)'}: check it with the teacher.")
        if row[4] < self.clock():
            raise ExpiredClass(f"Class {row[0]} has ended (a class lasts {self.ttl_s / 3600:g} hours).")
        return row

    def view(self, code: str) -> ClassView:
        with self._db() as db:
            return ClassView(*self._row(db, code)[:5])

    def push(self, code: str, teacher: str, page: str, sentence: str) -> ClassView:
        _checked(page, "the page name")
        _checked(sentence, "the sentence")
        with self._db() as db:
            row = self._row(db, code)
            if row[5] != teacher:
                raise ClassError("Only the teacher who opened the class can lead it.")
            if (row[1], row[2]) != (page, sentence):
                db.execute("UPDATE classes SET page = ?, sentence = ?, version = version + 1 WHERE code = ?",
                           (page, sentence, row[0]))
            return ClassView(*self._row(db, code)[:5])

    def answer(self, code: str, question: str, session: str, choice: str) -> None:
        with self._db() as db:
            row = self._row(db, code)
            db.execute("INSERT OR REPLACE INTO answers (code, question, session, choice) VALUES (?, ?, ?, ?)",
                       (row[0], _checked(question, "the question"), session, _checked(choice, "the answer")))

    def counts(self, code: str, question: str) -> dict[str, int]:
        with self._db() as db:
            row = self._row(db, code)
            return dict(db.execute("SELECT choice, COUNT(*) FROM answers WHERE code = ? AND question = ? "
                                   "GROUP BY choice", (row[0], question)).fetchall())

    def close(self, code: str, teacher: str) -> None:
        with self._db() as db:
            row = self._row(db, code)
            if row[5] != teacher:
                raise ClassError("Only the teacher who opened the class can close it.")
            db.execute("DELETE FROM answers WHERE code = ?", (row[0],))
            db.execute("DELETE FROM classes WHERE code = ?", (row[0],))


def default_store() -> SQLiteClassStore:
    """The store of this machine: ``LML_CLASS_DB`` if set (tests, another disk), else logs/classes.sqlite3."""
    return SQLiteClassStore(os.environ.get("LML_CLASS_DB", DEFAULT_PATH))
