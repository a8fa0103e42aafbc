"""Date generator invariants: determinism, real dates, exact gold spans, and an unambiguous set of formats."""
from __future__ import annotations

import random
from datetime import date

import pytest

from models.dates import (
    FORMAT_NAMES,
    FORMATS,
    MAX_SOURCE_LEN,
    MONTHS,
    WEEKDAYS,
    DateExample,
    formats_matching,
    generate,
    gold_spans,
    parse,
    sample_one,
)

MANY = generate(3000, seed=7)
PER_FORMAT = {name: [sample_one(random.Random(i), name) for i in range(150)] for name in FORMAT_NAMES}
ALL = MANY + [ex for examples in PER_FORMAT.values() for ex in examples]


def covered(ex: DateExample, k: int) -> str:
    """The source text that target character k is aligned to."""
    start, end = ex.spans[k]
    return ex.source[start:end]


def test_same_seed_same_examples_and_different_seeds_differ():
    assert generate(200, seed=3) == generate(200, seed=3)
    assert generate(200, seed=3) != generate(200, seed=4)


def test_global_rng_is_untouched():
    state = random.getstate()
    generate(50, seed=1)
    assert random.getstate() == state


def test_at_least_twelve_named_formats_all_produced():
    assert len(FORMATS) >= 12 and len(set(FORMAT_NAMES)) == len(FORMATS)
    seen = {name for ex in MANY for name in formats_matching(ex.source)}
    assert seen == set(FORMAT_NAMES)
    for name, examples in PER_FORMAT.items():
        assert all(name in formats_matching(ex.source) for ex in examples), name


def test_unknown_format_is_rejected():
    with pytest.raises(ValueError):
        sample_one(random.Random(0), "julian")


def test_targets_are_iso_dates_in_range():
    for ex in ALL:
        assert len(ex.target) == 10 and ex.target[4] == ex.target[7] == "-"
        assert date(1900, 1, 1) <= date.fromisoformat(ex.target) <= date(2099, 12, 31)
        assert ex.target == date.fromisoformat(ex.target).isoformat()


def test_years_span_the_whole_range():
    years = [date.fromisoformat(ex.target).year for ex in MANY]
    assert min(years) < 1905 and max(years) > 2094
    assert any(ex.target.endswith("-02-29") for ex in generate(20000, seed=0))  # leap days do occur


def test_sources_fit_max_source_len():
    assert max(len(ex.source) for ex in ALL) <= MAX_SOURCE_LEN <= 40


@pytest.mark.parametrize("source, target, year, month, day", [
    ("21 November 2026", "2026-11-21", "2026", "November", "21"),
    ("November 21, 2026", "2026-11-21", "2026", "November", "21"),
    ("Nov 21st, 2026", "2026-11-21", "2026", "Nov", "21"),
    ("saturday 21 nov 2026", "2026-11-21", "2026", "nov", "21"),
    ("the 21st of November, 2026", "2026-11-21", "2026", "November", "21"),
    ("THE 3RD OF MAY,  1999 ", "1999-05-03", "1999", "MAY", "3"),
    ("21.11.2026", "2026-11-21", "2026", "11", "21"),
    ("3.7.1901", "1901-07-03", "1901", "7", "3"),
    ("2026/11/21", "2026-11-21", "2026", "11", "21"),
    ("7/3/2026", "2026-07-03", "2026", "7", "3"),
    ("2026-11-21", "2026-11-21", "2026", "11", "21"),
    ("21-Nov-2026", "2026-11-21", "2026", "Nov", "21"),
    ("Nov. 21 2026", "2026-11-21", "2026", "Nov", "21"),
    ("Saturday, November 21st 2026", "2026-11-21", "2026", "November", "21"),
    (" Sat,  21 Nov 2026", "2026-11-21", "2026", "Nov", "21"),
])
def test_gold_spans_on_hand_written_cases(source, target, year, month, day):
    spans = gold_spans(source, target)
    assert spans is not None and len(spans) == 10
    ex = DateExample(source, target, spans)
    assert [covered(ex, k) for k in (0, 1, 2, 3)] == [year] * 4
    assert [covered(ex, k) for k in (5, 6)] == [month] * 2
    assert [covered(ex, k) for k in (8, 9)] == [day] * 2
    assert spans[4] is None and spans[7] is None


def test_gold_spans_recover_the_generated_spans():
    for ex in ALL:
        assert gold_spans(ex.source, ex.target) == ex.spans, ex


def test_spans_cover_the_right_text():
    for ex in ALL:
        y, m, d = (int(part) for part in ex.target.split("-"))
        assert all(covered(ex, k) == f"{y:04d}" for k in range(4)), ex
        month = covered(ex, 5).lower()
        assert month in (MONTHS[m - 1], MONTHS[m - 1][:3]) or (month.isdigit() and int(month) == m), ex
        assert covered(ex, 8).isdigit() and int(covered(ex, 8)) == d, ex  # digits only, no ordinal suffix
        assert ex.spans[5] == ex.spans[6] and ex.spans[8] == ex.spans[9]


def test_case_and_spacing_vary():
    sources = [ex.source for ex in MANY]
    assert any(s != s.strip() for s in sources) and any("  " in s.strip() for s in sources)
    words = [w for s in sources for w in s.split() if w.isalpha()]
    assert any(w.isupper() for w in words) and any(w.islower() for w in words) and any(w.istitle() for w in words)


def test_weekday_names_match_the_date():
    weekday_formats = [f.name for f in FORMATS if "{Weekday}" in f.template or "{Wkd}" in f.template]
    assert weekday_formats
    for name in weekday_formats:
        for ex in PER_FORMAT[name]:
            word = ex.source.split()[0].rstrip(",").lower()
            assert WEEKDAYS[date.fromisoformat(ex.target).weekday()].startswith(word) and len(word) >= 3, ex


def test_no_source_is_ambiguous():
    for ex in ALL:
        assert parse(ex.source) == (ex.target, ex.spans), ex


def test_numeric_formats_each_fix_the_day_month_order():
    # The same digits in different numeric formats mean different dates, and each reads only one way.
    assert parse("3.7.2026")[0] == "2026-07-03"
    assert parse("3/7/2026")[0] == "2026-03-07"
    assert parse("2026/3/7")[0] == "2026-03-07"
    assert gold_spans("13/7/2026", "2026-07-13") is None  # "/" with the year last is never day-first
    assert gold_spans("7.13.2026", "2026-07-13") is None  # "." is never month-first


def test_gold_spans_reject_garbage_and_disagreeing_targets():
    assert gold_spans("hello", "2026-11-21") is None
    assert gold_spans("", "2026-11-21") is None
    assert gold_spans("21 November 2026", "2026-11-22") is None
    assert gold_spans("31 April 2026", "2026-04-31") is None  # not a real date
    assert gold_spans("29 Feb 2023", "2023-02-29") is None
    assert gold_spans("29 Feb 2024", "2024-02-29") is not None
    assert gold_spans("21 November 1850", "1850-11-21") is None  # outside 1900–2099
    assert gold_spans("friday 21 nov 2026", "2026-11-21") is None  # 21 Nov 2026 is a Saturday
    assert gold_spans("Nov 21nd, 2026", "2026-11-21") is None  # wrong ordinal suffix
    assert gold_spans("٢١.١١.٢٠٢٦", "2026-11-21") is None  # non-ASCII digits are not ours
