"""Property-based tests over the parsers: CSV records and line numbers, timestamp parsing."""

import csv
import datetime as dt
import functools
import io
import re

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.ingest.readers import UnreadableFile, parse_csv_text
from core.warehouse import WHITESPACE, prepare

field_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\r"), max_size=12
)
rows = st.lists(st.lists(field_text, min_size=3, max_size=3), max_size=12)


@given(rows=rows, terminator=st.sampled_from(["\n", "\r\n"]))
@settings(max_examples=200, deadline=None)
def test_csv_records_and_start_lines_survive_a_round_trip(rows, terminator):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=terminator)
    writer.writerow(["a", "b", "c"])
    expected, line = [], 2
    for row in rows:
        start = buffer.tell()
        writer.writerow(row)
        written = buffer.getvalue()[start:]
        if any(field.strip() for field in row):
            expected.append((line, row))
        # A record spans as many physical lines as its text holds line breaks.
        line += len(re.findall(r"\r\n|\n|\r", written))
    parsed = parse_csv_text(buffer.getvalue())
    assert parsed.header == ["a", "b", "c"]
    assert [(r.line, r.fields) for r in parsed.records] == expected


# Mostly the characters CSV gives a meaning to: quotes, separators and line breaks of every kind.
csv_like_text = st.one_of(
    st.text(max_size=200), st.text(alphabet=st.sampled_from(list('ab,"\r\n \t')), max_size=80)
)


@given(csv_like_text)
@settings(max_examples=500, deadline=None)
def test_any_text_parses_or_is_unreadable(text):
    try:
        parsed = parse_csv_text(text)
    except UnreadableFile:
        return
    if not parsed.header:
        assert parsed.records == []
        return
    # Every physical line is the header's, a blank one or a record's, each exactly once, in order.
    breaks = len(re.findall(r"\r\n|\n|\r", text))
    assert parsed.lines == breaks + (0 if text.endswith(("\n", "\r")) else 1)
    assert parsed.lines == parsed.header_lines + parsed.blank_lines + sum(r.lines for r in parsed.records)
    next_free = parsed.header_lines + 1
    for record in parsed.records:
        assert record.line >= next_free and record.lines >= 1
        next_free = record.line + record.lines
    assert next_free <= parsed.lines + 1


TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?\Z", re.ASCII
)


def reference_parse(text: str) -> dt.datetime | None:
    """The rulebook's timestamp grammar, in plain Python."""
    match = TIMESTAMP.match(text)
    if not match:
        return None
    day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = dt.datetime.combine(
            dt.date.fromisoformat(day),
            dt.time(
                int(hour or 0), int(minute or 0), int(second or 0), int((fraction or "0")[:6].ljust(6, "0"))
            ),
        )
    except ValueError:
        return None
    if zone and zone != "Z":
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            return None
        offset = dt.timedelta(hours=hours, minutes=minutes)
        moment = moment - offset if zone[0] == "+" else moment + offset
    if not dt.datetime(2000, 1, 1) <= moment < dt.datetime(2100, 1, 1):
        return None
    return moment


timestamps = st.builds(
    lambda d, sep, t, z: d + (sep + t + z if t else ""),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2110, 1, 1)).map(dt.date.isoformat),
    st.sampled_from(["T", " "]),
    st.one_of(st.just(""), st.times().map(lambda t: t.isoformat()), st.from_regex(r"\A\d{2}:\d{2}\Z")),
    st.sampled_from(["", "Z", "+02:00", "-05:30", "+14:00", "+24:00", "-00:61"]),
)


# The exports' own shape with any two digits in each field.
# (Hour 24 is left out: DuckDB reads 24:00:00 as the next midnight, the reference does not.)
canonical_timestamps = st.builds(
    lambda year, month, day, hour, minute, second: (
        f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"
    ),
    st.integers(1990, 2110),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 99).filter(lambda hour: hour != 24),
    st.integers(0, 61),
    st.integers(0, 61),
)


@functools.cache
def _connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    prepare(con)
    return con


@given(st.one_of(timestamps, canonical_timestamps, st.text(max_size=30)))
@settings(max_examples=400, deadline=None)
def test_sql_timestamp_parser_agrees_with_the_reference(text):
    (parsed,) = _connection().execute("SELECT rma_parse_timestamp(?)", [text]).fetchone()
    assert parsed == reference_parse(text)


TRIMMED = WHITESPACE  # Unicode white space, the no-break space included (rulebook §2)


@given(
    st.text(
        # the fast path's edges too: printable ASCII is "!" to "~"
        alphabet=st.sampled_from(
            [*" \t\n\x0b\x0c\r\xa0\u2003\x85\u3000\x1c\x1f\u2028", "a", "é", ",", "\u200b", "!", "~", "\x7f"]
        ),
        max_size=8,
    )
)
@settings(max_examples=300, deadline=None)
def test_value_cleaning_trims_exactly_its_whitespace_set(text):
    (cleaned,) = _connection().execute("SELECT rma_clean(?)", [text]).fetchone()
    assert cleaned == (text.strip(TRIMMED) or None)
