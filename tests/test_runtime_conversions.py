"""runtime.conversions: text, numbers, booleans and timestamps.

Oracles are independent of the code under test: `datetime` for timestamps and
`fractions.Fraction` for exact numbers.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from accoil_map.runtime.conversions import (
    _to_timestamp_slow,
    to_boolean,
    to_integer,
    to_number,
    to_text,
    to_timestamp,
)
from accoil_map.runtime.groups import select_groups
from tests.conftest import no_runaway

FAST = settings(deadline=None, max_examples=150)
EPOCH = datetime(1970, 1, 1)
NUMERIC_GRAMMAR = r"[+-]?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?"


# --------------------------------------------------------------------------
# to_timestamp: oracle built on datetime
# --------------------------------------------------------------------------


def fmt(dt: datetime) -> str:
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T"
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}.{dt.microsecond // 1000:03d}Z"
    )


def oracle_from_ms(ms: int) -> str | None:
    try:
        return fmt(EPOCH + timedelta(milliseconds=ms))
    except OverflowError:
        return None


def oracle_unix(value: Fraction) -> str | None:
    ms = value if abs(value) >= 10**11 else value * 1000
    whole = ms.numerator // ms.denominator  # floor
    if not -(10**16) < whole < 10**16:
        return None
    return oracle_from_ms(whole)


@st.composite
def iso_texts(draw):
    """(text, expected) for a wall-clock time with a random offset and fraction."""
    wall = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)))
    if draw(st.booleans()):  # favour leap days and the ends of the calendar
        year = draw(st.sampled_from([1, 4, 100, 1900, 2000, 2023, 2024, 2100, 2400, 9999]))
        month, day = draw(st.sampled_from([(2, 28), (2, 29), (1, 1), (12, 31)]))
        if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 or year % 400 == 0)):
            day = 28
        wall = wall.replace(year=year, month=month, day=day)
    sep = draw(st.sampled_from(["T", " "]))
    with_seconds = draw(st.booleans())
    frac = ""
    if with_seconds:
        frac = draw(st.text("0123456789", min_size=1, max_size=12)) if draw(st.booleans()) else ""
    kind = draw(st.sampled_from(["none", "Z", "colon", "compact", "hours"]))
    sign = draw(st.sampled_from([1, -1]))
    oh = draw(st.integers(0, 23))
    om = 0 if kind == "hours" else draw(st.integers(0, 59))

    text = f"{wall.year:04d}-{wall.month:02d}-{wall.day:02d}{sep}{wall.hour:02d}:{wall.minute:02d}"
    second = wall.second if with_seconds else 0
    if with_seconds:
        text += f":{second:02d}"
        if frac:
            text += "." + frac
    offset = 0
    if kind == "Z":
        text += "Z"
    elif kind != "none":
        offset = sign * (oh * 60 + om)
        s = "+" if sign > 0 else "-"
        text += {
            "colon": f"{s}{oh:02d}:{om:02d}",
            "compact": f"{s}{oh:02d}{om:02d}",
            "hours": f"{s}{oh:02d}",
        }[kind]
    local = wall.replace(second=second, microsecond=int((frac + "000000")[:6]))
    try:
        expected = fmt(local - timedelta(minutes=offset))
    except OverflowError:
        expected = None
    return text, expected


@FAST
@given(iso_texts())
@example(("2024-05-01 12:00:00.123000", "2024-05-01T12:00:00.123Z"))
@example(("2024-05-01T12:00:00.123Z", "2024-05-01T12:00:00.123Z"))
@example(("0001-01-01T00:30:00+01:00", None))
@example(("9999-12-31T23:30:00-01:00", None))
@example(("2024-03-01T00:30:00+01:00", "2024-02-29T23:30:00.000Z"))
@example(("2024-05-01T12:00:00.9999999999Z", "2024-05-01T12:00:00.999Z"))
def test_to_timestamp_iso_against_datetime(case):
    text, expected = case
    assert to_timestamp(text) == expected


@FAST
@given(
    st.integers(0, 10000),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 61),
    st.sampled_from(["T", " "]),
    st.sampled_from(["", ".5", ".123456", "Z", ".1Z"]),
)
def test_to_timestamp_field_ranges_against_datetime(y, mo, d, h, mi, s, sep, tail):
    text = f"{y:04d}-{mo:02d}-{d:02d}{sep}{h:02d}:{mi:02d}:{s:02d}{tail}"
    try:
        dt = datetime(y, mo, d, h, mi, s)
    except ValueError:
        expected = None
    else:
        frac = tail.strip(".Z")
        expected = fmt(dt.replace(microsecond=int((frac + "000000")[:6])))
    assert to_timestamp(text) == expected
    date = f"{y:04d}-{mo:02d}-{d:02d}"
    try:
        expected_date = fmt(datetime(y, mo, d))
    except ValueError:
        expected_date = None
    assert to_timestamp(date) == expected_date


@pytest.mark.parametrize("year", [1, 4, 100, 1900, 2000, 2023, 2024, 9999])
def test_to_timestamp_month_ends_exhaustively(year):
    for month in range(1, 13):
        for day in range(27, 33):
            try:
                expected = fmt(datetime(year, month, day, 12, 0, 0, 123000))
            except ValueError:
                expected = None
            date = f"{year:04d}-{month:02d}-{day:02d}"
            for text in (
                f"{date} 12:00:00.123000",  # Amplitude
                f"{date}T12:00:00.123Z",  # ISO with Z
                f"{date}T12:00:00.123456",
                f"{date}T13:00:00.123+01:00",  # general parser
            ):
                assert to_timestamp(text) == expected, text


@FAST
@given(st.integers(-(10**15), 10**15) | st.integers(-(10**12), 10**12))
@example(0)
@example(99_999_999_999)
@example(100_000_000_000)
@example(-99_999_999_999)
@example(-100_000_000_000)
@example(253_402_300_799_999)
@example(253_402_300_800_000)
@example(-62_135_596_800_000)
@example(-62_135_596_800_001)
def test_to_timestamp_unix_int_against_datetime(n):
    expected = oracle_unix(Fraction(n))
    assert to_timestamp(n) == expected
    assert to_timestamp(str(n)) == expected
    assert to_timestamp(float(n)) == expected


@FAST
@given(st.floats(min_value=-1e15, max_value=1e15, allow_nan=False, allow_infinity=False))
@example(1714564800.123)
@example(-1.5)
@example(-0.0005)
@example(1e-05)
@example(99999999999.9)
def test_to_timestamp_unix_float_reads_its_shortest_repr(v):
    assert to_timestamp(v) == oracle_unix(Fraction(repr(v)))


@FAST
@given(st.from_regex(r"-?[0-9]{1,16}(\.[0-9]{1,12})?", fullmatch=True))
@example("-0.0005")
@example("-1.5000")
@example("-100000000000.000")
@example("-100000000000.0001")
@example("0001714564800")
@example("1714564800.1239")
def test_to_timestamp_unix_text_against_datetime(text):
    assert to_timestamp(text) == oracle_unix(Fraction(text))


@pytest.mark.parametrize(
    "value, expected",
    [
        (1714564800, "2024-05-01T12:00:00.000Z"),
        (1714564800123, "2024-05-01T12:00:00.123Z"),
        ("1714564800", "2024-05-01T12:00:00.000Z"),
        ("1714564800123", "2024-05-01T12:00:00.123Z"),
        (1714564800.5, "2024-05-01T12:00:00.500Z"),
        (99_999_999_999, "5138-11-16T09:46:39.000Z"),  # the largest count of seconds
        (100_000_000_000, "1973-03-03T09:46:40.000Z"),  # the smallest count of milliseconds
        ("99999999999.999", "5138-11-16T09:46:39.999Z"),
        (-1, "1969-12-31T23:59:59.000Z"),
        ("-0.0001", "1969-12-31T23:59:59.999Z"),
        (-100_000_000_000, "1966-10-31T14:13:20.000Z"),
        ("2024-05-01", "2024-05-01T00:00:00.000Z"),
        ("2024-05-01T12:00", "2024-05-01T12:00:00.000Z"),
        ("2024-05-01 12:00:00", "2024-05-01T12:00:00.000Z"),
        ("2024-05-01T12:00:00.1", "2024-05-01T12:00:00.100Z"),
        ("2024-05-01T12:00:00.123456789+05:30", "2024-05-01T06:30:00.123Z"),
        ("2024-05-01T12:00:00-0800", "2024-05-01T20:00:00.000Z"),
        ("2024-05-01T23:00:00-02", "2024-05-02T01:00:00.000Z"),
        ("2024-12-31T23:59:59.999-00:01", "2025-01-01T00:00:59.999Z"),
        ("2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000Z"),
        ("2000-02-29 00:00:00.000000", "2000-02-29T00:00:00.000Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
        ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999Z"),
    ],
)
def test_to_timestamp_examples(value, expected):
    assert to_timestamp(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        float("inf"),
        float("-inf"),
        float("nan"),
        "inf",
        "nan",
        "NaN",
        True,
        False,
        None,
        "",
        " ",
        [],
        {},
        "0000-00-00",
        "0000-01-01T00:00:00Z",
        "2023-02-29",
        "1900-02-29T00:00:00Z",
        "2024-13-01",
        "2024-04-31T00:00:00Z",
        "2024-05-01T24:00:00",
        "2024-05-01T12:60:00",
        "2024-05-01T12:00:60",
        "2024-05-01x",
        "2024-05-01T12:00:00Zx",
        "2024-05-01T12:00:00.Z",
        "2024-05-01T12:00:00+24:00",
        "2024-05-01T12:00:00+05:60",
        "2024-05-01T12:00:00+5",
        "2024-05-01t12:00:00z",
        "2024-05-01T12",
        "2024-5-1",
        " 2024-05-01",
        "2024-05-01 ",
        "２０２４-05-01",
        "٢٠٢٤-05-01",
        "1714564800 ",
        "+1714564800",
        "1e9",
        "1_714_564_800",
        "0x10",
        "1714564800.",
        ".5",
        "-",
        1e20,  # milliseconds far beyond year 9999
        10**20,
        "100000000000000000000",
        -(10**15),
        253_402_300_800_000,
        -62_135_596_800_001,
        -99_999_999_999,  # seconds before year 1
        "9" * 5000,
    ],
)
def test_to_timestamp_rejects(value):
    assert to_timestamp(value) is None


# --------------------------------------------------------------------------
# Conversions
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("x", "x"),
        ("", ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-12, "-12"),
        (1.0, "1.0"),
        (0.1, "0.1"),
        (1e20, "1e+20"),
        (float("nan"), None),
        (float("inf"), None),
        pytest.param(10**5000, None, id="huge-int"),
        ({"a": [1, None, True, "é"]}, '{"a":[1,null,true,"é"]}'),
        ([], "[]"),
        ([float("nan")], None),
        ([10**5000], None),
        (None, None),
        ((1, 2), None),
    ],
)
def test_to_text(value, expected):
    assert to_text(value) == expected


def test_to_text_recursive_structure_gives_none():
    a = []
    a.append(a)
    assert to_text(a) is None
    deep = []
    for _ in range(100_000):
        deep = [deep]
    assert to_text(deep) is None


@pytest.mark.parametrize(
    "value, expected",
    [
        (3, 3),
        (-0.5, -0.5),
        ("42", 42),
        ("-0", 0),
        ("+7", 7),
        ("1.0", 1.0),
        ("1e3", 1000.0),
        ("-2.5E-1", -0.25),
        ("12345678901234567890", 12345678901234567890),
        ("1e400", None),
        ("1" * 5000, None),
        (True, None),
        (False, None),
        (float("inf"), None),
        (float("nan"), None),
        (None, None),
        ([], None),
        ("", None),
        (" 1", None),
        ("1 ", None),
        ("1_000", None),
        ("01", None),
        ("0", 0),
        ("00", None),
        ("99900", 99900),
        ("²", None),
        ("1²", None),
        ("1.", None),
        (".5", None),
        ("nan", None),
        ("inf", None),
        ("Infinity", None),
        ("0x1f", None),
        ("١٢", None),
        ("1e", None),
        ("+-1", None),
    ],
)
def test_to_number(value, expected):
    result = to_number(value)
    assert result == expected and type(result) is type(expected)


@FAST
@given(st.from_regex(NUMERIC_GRAMMAR, fullmatch=True).filter(lambda s: len(s) < 300))
def test_to_number_on_grammar_text(text):
    result = to_number(text)
    if re.fullmatch(r"[+-]?[0-9]+", text):
        assert result == int(text) and type(result) is int
    else:
        f = float(text)
        assert result == (f if f not in (float("inf"), float("-inf")) else None)


@pytest.mark.parametrize(
    "value, expected",
    [
        (7, 7),
        (2.0, 2),
        (-0.0, 0),
        (2.5, None),
        (float("inf"), None),
        (float("nan"), None),
        (1e300, int(1e300)),
        ("12", 12),
        ("1.0", 1),
        ("1e3", 1000),
        ("10.0e-1", 1),
        ("-2.50e1", -25),
        ("12345678901234567890.0", 12345678901234567890),
        ("1.5", None),
        ("1e-3", None),
        ("0e999999999999999", 0),
        ("1e999999999999", None),
        ("1" * 5000, None),
        ("abc", None),
        (True, None),
        (None, None),
    ],
)
def test_to_integer(value, expected):
    result = to_integer(value)
    assert result == expected and type(result) is type(expected)


@FAST
@given(st.integers(-(10**30), 10**30), st.integers(0, 6), st.integers(-12, 12))
def test_to_integer_against_fraction(n, frac_len, exp):
    digits = str(abs(n)).rjust(frac_len + 1, "0")
    text = ("-" if n < 0 else "") + digits[: len(digits) - frac_len]
    if frac_len:
        text += "." + digits[len(digits) - frac_len :]
    text += f"e{exp}"
    if not re.fullmatch(NUMERIC_GRAMMAR, text):
        return  # e.g. a leading zero: not numeric text
    value = Fraction(text)
    assert to_integer(text) == (int(value) if value.denominator == 1 else None)


@pytest.mark.parametrize(
    "value, expected",
    [
        (True, True),
        (False, False),
        ("true", True),
        ("TRUE", True),
        ("False", False),
        ("fAlSe", False),
        (1, True),
        (0, False),
        (2, None),
        (1.0, None),
        ("1", None),
        ("yes", None),
        (" true", None),
        ("", None),
        (None, None),
        ([], None),
    ],
)
def test_to_boolean(value, expected):
    assert to_boolean(value) is expected


# --------------------------------------------------------------------------
# No catastrophic backtracking
# --------------------------------------------------------------------------

N = 100_000
ADVERSARIAL = [
    "1" * N + "x",
    "0" * N,
    "-" + "1" * N,
    "1." + "1" * N + "x",
    "1e" + "9" * N,
    "1" * N + "e" + "1" * N + "x",
    "2024-05-01T12:00:00." + "1" * N + "x",
    "2024-05-01 12:00:00." + "0" * N,
    "2024-05-01T12:00:00." + "1" * N + "+05:30x",
    "2024-05-01T" + "1" * N,
    "2024-" * (N // 5),
    "9" * N + "." + "9" * N,
    "-0." + "0" * N + "1",
]


@pytest.mark.parametrize("index", range(len(ADVERSARIAL)))
def test_no_catastrophic_backtracking(index):
    text = ADVERSARIAL[index]
    with no_runaway():
        to_timestamp(text)
        to_number(text)
        to_integer(text)
        to_boolean(text)
        select_groups({"a": [text, "1", text[:50]]}, {}, False, False, True, None, None)


def test_long_fraction_is_truncated_not_rejected():
    assert to_timestamp("2024-05-01 12:00:00." + "9" * N) == "2024-05-01T12:00:00.999Z"
    assert to_timestamp("-0." + "0" * N + "1") == "1969-12-31T23:59:59.999Z"


# The C-checked first tier of to_timestamp ----------------------------------

_NON_ASCII_DIGITS = [
    chr(c) for c in range(128, 0x110000) if chr(c).isdigit() or chr(c).isnumeric()
]


@pytest.mark.parametrize("shape", ["2024-05-01 12:00:00.123000", "2024-05-01T12:00:00.123Z"])
def test_timestamp_takes_ascii_digits_only(shape):
    positions = [i for i, ch in enumerate(shape) if ch.isdigit()]
    accepted = [
        shape[:i] + digit + shape[i + 1:]
        for i in positions
        for digit in _NON_ASCII_DIGITS
        if to_timestamp(shape[:i] + digit + shape[i + 1:]) is not None
    ]
    assert accepted == []


@given(
    st.text(alphabet="0123456789-: .TZW+", min_size=24, max_size=26)
    | st.builds(
        lambda d, sep, frac: d.isoformat(sep=sep, timespec="microseconds")[: 26 - frac],
        st.datetimes(),
        st.sampled_from([" ", "T"]),
        st.integers(0, 3),
    )
)
def test_timestamp_fast_shapes_agree_with_the_exact_parser(text):
    assert to_timestamp(text) == _to_timestamp_slow(text)
