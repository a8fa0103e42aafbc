"""Human-written dates paired with ISO ``YYYY-MM-DD`` targets and the gold alignment between them.

For each of the 10 target characters an example records the half-open span of ``source`` it comes from:
the 4 year digits ← the whole year as written, the 2 month digits ← the month as written (a name such as
"Nov" or a number such as "7"), the 2 day digits ← the day's digits only (an ordinal suffix such as "st"
is never inside the span), and the two '-' ← None. The generator records spans while it builds the string,
so case and spacing variations cannot shift them; ``gold_spans`` recovers the same spans from text alone.
"""
from __future__ import annotations

import calendar
import random
import re
from dataclasses import dataclass
from datetime import date

Span = tuple[int, int]
Spans = tuple[Span | None, ...]

FIRST_YEAR, LAST_YEAR = 1900, 2099
TARGET_LEN = 10  # len("YYYY-MM-DD")

# Spelled out rather than taken from calendar.month_name, which follows the process locale.
MONTHS = ("january", "february", "march", "april", "may", "june",
          "july", "august", "september", "october", "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")  # date.weekday() order


@dataclass(frozen=True)
class DateFormat:
    """A named surface form: ``{Field}`` placeholders, ' ' for a (sometimes doubled) gap, anything else literal."""

    name: str
    template: str


@dataclass(frozen=True)
class DateExample:
    """A written date, its ISO target, and for each target character the source span it comes from."""

    source: str
    target: str
    spans: Spans


# Numeric formats are unambiguous as a set: "." with the year last is always day.month, "/" with the year
# last is always month/day (US), and a leading 4-digit year always means year, month, day.
FORMATS = (
    DateFormat("day_month_year", "{D} {Month} {YYYY}"),  # 21 November 2026
    DateFormat("month_day_comma_year", "{Month} {D}, {YYYY}"),  # November 21, 2026
    DateFormat("abbr_ordinal_comma_year", "{Mon} {Dth}, {YYYY}"),  # Nov 21st, 2026
    DateFormat("weekday_day_abbr_year", "{Weekday} {D} {Mon} {YYYY}"),  # saturday 21 nov 2026
    DateFormat("the_ordinal_of_month", "the {Dth} of {Month}, {YYYY}"),  # the 21st of November, 2026
    DateFormat("dotted_dmy", "{D}.{M}.{YYYY}"),  # 21.11.2026
    DateFormat("slash_ymd", "{YYYY}/{M}/{D}"),  # 2026/11/21
    DateFormat("day_abbr_year", "{D} {Mon} {YYYY}"),  # 21 Nov 2026
    DateFormat("weekday_month_ordinal_year", "{Weekday}, {Month} {Dth} {YYYY}"),  # Saturday, November 21st 2026
    DateFormat("iso", "{YYYY}-{MM}-{DD}"),  # 2026-11-21: the identity, copied character by character
    DateFormat("slash_mdy_us", "{M}/{D}/{YYYY}"),  # 11/21/2026
    DateFormat("dash_day_abbr_year", "{DD}-{Mon}-{YYYY}"),  # 21-Nov-2026
    DateFormat("abbr_dot_day_year", "{Mon}. {D} {YYYY}"),  # Nov. 21 2026
    DateFormat("short_weekday_day_abbr_year", "{Wkd}, {D} {Mon} {YYYY}"),  # Sat, 21 Nov 2026 (e-mail style)
)
FORMAT_NAMES = tuple(f.name for f in FORMATS)

# Which date part each field writes; the weekday writes none (it is redundant with the date).
_SLOT = {"YYYY": "year", "Month": "month", "Mon": "month", "MM": "month", "M": "month",
         "DD": "day", "D": "day", "Dth": "day"}
# M and D may or may not carry a leading zero; MM and DD always do; an ordinal day never does.
_FIELD_REGEX = {
    "YYYY": r"(?P<year>\d{4})",
    "Month": f"(?P<month>{'|'.join(MONTHS)})",
    "Mon": f"(?P<month>{'|'.join(m[:3] for m in MONTHS)})",
    "MM": r"(?P<month>\d{2})",
    "M": r"(?P<month>\d{1,2})",
    "DD": r"(?P<day>\d{2})",
    "D": r"(?P<day>\d{1,2})",
    "Dth": r"(?P<day>[1-9]\d?)(?P<suffix>st|nd|rd|th)",
    "Weekday": f"(?P<weekday>{'|'.join(WEEKDAYS)})",
    "Wkd": f"(?P<weekday>{'|'.join(w[:3] for w in WEEKDAYS)})",
}
_FIELD_WIDTH = {"YYYY": 4, "Month": max(map(len, MONTHS)), "Mon": 3, "MM": 2, "M": 2, "DD": 2, "D": 2,
                "Dth": 4, "Weekday": max(map(len, WEEKDAYS)), "Wkd": 3}
_TOKEN = re.compile(r"\{(\w+)\}|( )|([^{ ]+)")
# ASCII: otherwise \d accepts non-ASCII digits that int() would read, and IGNORECASE folds 'ſ' to 's'.
_FLAGS = re.IGNORECASE | re.ASCII

_STYLES = ("title", "lower", "upper")
_STYLE_WEIGHTS = (3, 1, 1)
_DOUBLE_GAP_P = 0.1  # chance that a gap between tokens is two spaces
_EDGE_SPACE_P = 0.05  # chance of a stray space before (and, independently, after) the date


def _tokens(template: str) -> list[tuple[str, str]]:
    """Split a template into ("field", name), ("gap", " ") and ("text", literal) tokens."""
    out = []
    for m in _TOKEN.finditer(template):
        field, gap, text = m.groups()
        out.append(("field", field) if field else ("gap", gap) if gap else ("text", text))
    return out


def _max_len(fmt: DateFormat) -> int:
    """Longest source ``fmt`` can produce: widest fields, every gap doubled, a space at each end."""
    widths = {"field": lambda v: _FIELD_WIDTH[v], "gap": lambda v: 2, "text": len}
    return 2 + sum(widths[kind](value) for kind, value in _tokens(fmt.template))


MAX_SOURCE_LEN = max(_max_len(f) for f in FORMATS)


def _format(name: str) -> DateFormat:
    """The format called ``name``."""
    for f in FORMATS:
        if f.name == name:
            return f
    raise ValueError(f"unknown date format {name!r}; expected one of {FORMAT_NAMES}")


def _ordinal_suffix(day: int) -> str:
    """"st", "nd", "rd" or "th" for a day of the month (11th, 12th and 13th are the exceptions)."""
    if day % 100 in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _cased(word: str, style: str, name: bool) -> str:
    """``word`` in the example's case style; Title capitalises names only, so "the"/"of"/"st" stay lower."""
    if style == "upper":
        return word.upper()
    if style == "title" and name:
        return word.capitalize()
    return word.lower()


def _sample_date(rng: random.Random) -> date:
    """A real calendar date: year and month uniform, then a day the month actually has."""
    year = rng.randint(FIRST_YEAR, LAST_YEAR)
    month = rng.randint(1, 12)
    return date(year, month, rng.randint(1, calendar.monthrange(year, month)[1]))


def _render_field(field: str, d: date, pad: bool, style: str) -> tuple[str, str]:
    """One field of ``d`` as (text its span covers, text after it that the span leaves out)."""
    if field == "YYYY":
        return f"{d.year:04d}", ""
    if field in ("Month", "Mon"):
        name = MONTHS[d.month - 1]
        return _cased(name if field == "Month" else name[:3], style, name=True), ""
    if field in ("Weekday", "Wkd"):
        name = WEEKDAYS[d.weekday()]
        return _cased(name if field == "Weekday" else name[:3], style, name=True), ""
    if field == "Dth":
        return str(d.day), _cased(_ordinal_suffix(d.day), style, name=False)
    number = d.month if _SLOT[field] == "month" else d.day
    width = 2 if pad or field in ("MM", "DD") else 1
    return f"{number:0{width}d}", ""


def _spans(slots: dict[str, Span]) -> Spans:
    """Per-target-character spans from the year, month and day spans (the dashes align to nothing)."""
    return (slots["year"],) * 4 + (None,) + (slots["month"],) * 2 + (None,) + (slots["day"],) * 2


def _render(fmt: DateFormat, d: date, rng: random.Random) -> DateExample:
    """Write ``d`` in ``fmt`` with a random case style and spacing, recording spans as the text grows."""
    style = rng.choices(_STYLES, weights=_STYLE_WEIGHTS)[0]
    pad = rng.random() < 0.5  # one choice per example: people pad both numbers or neither
    lead = " " if rng.random() < _EDGE_SPACE_P else ""
    pieces, pos = [lead], len(lead)
    slots: dict[str, Span] = {}
    for kind, value in _tokens(fmt.template):
        tail = ""
        if kind == "gap":
            text = "  " if rng.random() < _DOUBLE_GAP_P else " "
        elif kind == "text":
            text = _cased(value, style, name=False)
        else:
            text, tail = _render_field(value, d, pad, style)
            if value in _SLOT:
                slots[_SLOT[value]] = (pos, pos + len(text))
        pieces += [text, tail]
        pos += len(text) + len(tail)
    if rng.random() < _EDGE_SPACE_P:
        pieces.append(" ")
    return DateExample("".join(pieces), d.isoformat(), _spans(slots))


def sample_one(rng: random.Random, fmt: str | None = None) -> DateExample:
    """One example in the named format, or in a uniformly chosen one when ``fmt`` is None."""
    chosen = rng.choice(FORMATS) if fmt is None else _format(fmt)
    return _render(chosen, _sample_date(rng), rng)


def generate(n: int, seed: int) -> list[DateExample]:
    """``n`` examples, the same ones for the same seed (a private RNG; the global one is never touched)."""
    rng = random.Random(seed)
    return [sample_one(rng) for _ in range(n)]


def _pattern(fmt: DateFormat) -> str:
    """A regex for everything ``fmt`` can produce: any case, gaps of one or more spaces, spaces at the ends."""
    parts = {"field": _FIELD_REGEX.__getitem__, "gap": lambda v: " +", "text": re.escape}
    return " *" + "".join(parts[kind](value) for kind, value in _tokens(fmt.template)) + " *"


def _month_number(text: str) -> int:
    """1–12 from a month as matched: a number, a full name or a 3-letter abbreviation."""
    if text.isdigit():
        return int(text)
    low = text.lower()
    return next(i + 1 for i, name in enumerate(MONTHS) if low in (name, name[:3]))


def _read(fmt: DateFormat, source: str) -> tuple[str, Spans] | None:
    """(ISO date, spans) if ``source`` is ``fmt`` writing a valid date the generator could pick, else None."""
    m = re.fullmatch(_pattern(fmt), source, _FLAGS)
    if m is None:
        return None
    groups = m.groupdict()
    try:
        d = date(int(groups["year"]), _month_number(groups["month"]), int(groups["day"]))
    except ValueError:  # 31 April, month 13, day 0, ...
        return None
    if not FIRST_YEAR <= d.year <= LAST_YEAR:
        return None
    weekday = groups.get("weekday")
    if weekday is not None and not WEEKDAYS[d.weekday()].startswith(weekday.lower()):
        return None  # a wrong weekday is not something the generator writes
    suffix = groups.get("suffix")
    if suffix is not None and suffix.lower() != _ordinal_suffix(d.day):
        return None
    return d.isoformat(), _spans({slot: m.span(slot) for slot in ("year", "month", "day")})


def formats_matching(source: str) -> tuple[str, ...]:
    """Names of the formats that read ``source`` as a valid date."""
    return tuple(f.name for f in FORMATS if _read(f, source) is not None)


def parse(source: str) -> tuple[str, Spans] | None:
    """(ISO date, gold spans) for ``source``, or None if no format reads it or two formats read it differently."""
    readings = {r for f in FORMATS if (r := _read(f, source)) is not None}
    return readings.pop() if len(readings) == 1 else None


def gold_spans(source: str, target: str) -> Spans | None:
    """The gold spans of ``source``, or None if it cannot be parsed or does not mean ``target``."""
    reading = parse(source)
    return reading[1] if reading is not None and reading[0] == target else None
