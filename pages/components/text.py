"""Validation of what a student types: never fails, always says what it changed."""
from __future__ import annotations

from dataclasses import dataclass, field

MAX_CHARS = 500  # longest sentence the pages score; longer input is cut here, and the page says so
DEFAULT_SENTENCE = "The small robot Tim found a blue kite in the garden, and it wanted to fly."


@dataclass
class CleanText:
    """The text a page will use, and notes for the student about what was changed."""

    text: str
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.text


def clean_text(raw: str | None, max_chars: int = MAX_CHARS) -> CleanText:
    """Strip, drop control characters, and truncate to ``max_chars`` (with a note)."""
    text = "".join(ch for ch in (raw or "") if ch.isprintable() or ch in "\n\t").strip()
    notes = []
    if len(text) > max_chars:
        cut = text[:max_chars]
        # Cut at the last space so no word is split in half.
        text = cut[: cut.rfind(" ")] if " " in cut[max_chars // 2 :] else cut
        notes.append(f"Your text is {len(raw):,} characters long; only the first {len(text):,} are used "
                     f"(the limit is {max_chars:,}).")
    if not text:
        notes.append("Type a sentence to score (the box is empty).")
    return CleanText(text, notes)
