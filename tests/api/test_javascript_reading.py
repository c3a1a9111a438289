"""The validation layer's JavaScript readings, alone and under hypothesis.

Tables hold what Node 20 printed; the properties compare with what Python computes in other
terms (UTF-16 encoding, datetime arithmetic), so a regression is caught without Node.
"""

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livesessions.errors import ValidationFailed
from livesessions.schemas import CreateSessionSchema
from livesessions.validation import load
from livesessions.validation.dates import JOI_ISO_DATE, joi_iso_time
from livesessions.validation.javascript import (
    decode_uri_component,
    key_order,
    length,
    number_to_string,
    string_to_number,
)
from tests.support.factories import session_payload

PROPERTIES = settings(max_examples=300, deadline=None)
CREATE_SESSION = CreateSessionSchema()


def refusal_of(body):
    """The message creating a session with `body` is refused with, or None."""
    try:
        load(CREATE_SESSION, body)
    except ValidationFailed as refusal:
        return refusal.message
    return None


# String(number) in Node 20
NUMBER_STRINGS = [
    (1e21, "1e+21"),
    (1e-7, "1e-7"),
    (123456789012345680000.0, "123456789012345680000"),
    (0.000001, "0.000001"),
    (1.5, "1.5"),
    (-0.0, "0"),
    (2.0**53, "9007199254740992"),
    (5e-324, "5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
    (1e20, "100000000000000000000"),
    (123e-20, "1.23e-18"),
    (1 / 3, "0.3333333333333333"),
    (-1e-7, "-1e-7"),
    (25e20, "2.5e+21"),
    (1.25e-6, "0.00000125"),
    (9.5e-7, "9.5e-7"),
    (math.inf, "Infinity"),
]


@pytest.mark.parametrize(("number", "text"), NUMBER_STRINGS)
def test_number_to_string_lays_digits_out_as_javascript(number, text):
    assert number_to_string(number) == text


@PROPERTIES
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_number_to_string_reads_back_and_uses_an_exponent_only_where_javascript_does(number):
    text = number_to_string(number)
    assert float(text) == number
    assert ("e" in text) == (number != 0 and not 1e-6 <= abs(number) < 1e21)


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("60", (60.0, True)),
        ("\ufeff 6e1\u3000", (60.0, True)),
        ("60.00000000000000001", (60.0, False)),
        ("1e400", (math.inf, False)),
        ("1e-400", (0.0, False)),
        ("-0", (0.0, True)),
        ("0x10", (None, True)),
        ("\u0666\u0660", (None, True)),
    ],
)
def test_string_to_number_is_joi_conversion(text, answer):
    assert string_to_number(text) == answer


@PROPERTIES
@given(st.integers(-(2**53) + 1, 2**53 - 1))
def test_every_safe_integer_spelled_plainly_converts_exactly(number):
    assert string_to_number(str(number)) == (float(number), True)


@PROPERTIES
@given(st.text(st.characters(categories=["Nd"]), min_size=1, max_size=4))
def test_a_numeric_string_with_a_digit_beyond_ascii_is_not_a_number(digits):
    assert (refusal_of(session_payload(duration=digits)) == '"duration" must be a number') == (
        not digits.isascii()
    )


@PROPERTIES
@given(st.text(max_size=40))
def test_length_counts_utf16_code_units(text):
    assert length(text) == len(text.encode("utf-16-le", "surrogatepass")) // 2


@PROPERTIES
@given(st.integers(0, 110), st.integers(0, 12), st.booleans())
def test_titles_around_the_limits_are_measured_in_utf16_units(astral, plain, astral_first):
    pieces = ["\U0001f600"] * astral, ["e"] * plain
    title = "".join(pieces[0] + pieces[1] if astral_first else pieces[1] + pieces[0])
    refusal = refusal_of(session_payload(title=title))
    assert (refusal is None) == (3 <= 2 * astral + plain <= 200), refusal


@PROPERTIES
@given(st.lists(st.sampled_from(["0", "1", "2", "10", "01", "-1", "x", "", "4294967295"])))
def test_key_order_puts_array_indexes_first_then_the_written_order(keys):
    keys = list(dict.fromkeys(keys))
    ordered = key_order(keys)
    indexes = [key for key in keys if key in ("0", "1", "2", "10")]
    assert ordered == sorted(indexes, key=int) + [key for key in keys if key not in indexes]


@pytest.mark.parametrize(
    ("text", "decoded"),
    [("a%20b", "a b"), ("%E2%82%AC", "\u20ac"), ("%ff", None), ("%ED%A0%80", None), ("%2", None)],
)
def test_decode_uri_component_or_none_where_javascript_throws(text, decoded):
    assert decode_uri_component(text) == decoded


# Strings Joi's pattern passes, with Node 20's `new Date(text).getTime()` (None: NaN): 16
# picked from 55,203 random ones so that together they take every path of the V8 reader that
# any of them took.
V8_READINGS = [
    ("+159999-05\x0c15:51:16.06694139430-21:05", 4986924065776669),
    ("2027-06-22T01:05:12.505096706+07:08", 1813600632505),
    ("-000000-024\u200a04:16+2255", None),
    ("-880000-W14T220952.9915809", None),
    ("2026-06T21:43Z", 1780350180000),
    ("+222027231\u205f0540,6545900540,3693776", None),
    ("20270321\t23:41.747109Z", None),
    ("2026-08-27T0105-17", None),
    ("2026-02T08:02:27-2142", 1770011067000),
    ("2026", 1767225600000),
    ("+629999-01-28T23:37.245599743-22", None),
    ("+471970-12-23\ufeff08:27:44-15", None),
    ("00000918\u1680014248,11850091+01:11", None),
    ("2027-08T21:33:11+06", None),
    ("-000000", None),
    ("2099-01T24:0000", None),
]


@pytest.mark.parametrize(("text", "time"), V8_READINGS, ids=ascii)
def test_v8_readings_of_odd_iso_strings(text, time):
    assert JOI_ISO_DATE.match(text)
    assert joi_iso_time(text) == time


# ISO variants, with what they mean computed by datetime arithmetic: V8 rolls a day past the
# month's end over, reads no offset as local time (UTC here) and `24:00` as the next midnight.
ZONES = st.sampled_from(["", "Z", "+05:30", "-0800", "+00:00", "-23:59"])


@st.composite
def iso_variants(draw):
    year, month = draw(st.integers(1000, 9998)), draw(st.integers(1, 12))
    day, hour = draw(st.integers(1, 31)), draw(st.integers(0, 24))
    minute = 0 if hour == 24 else draw(st.integers(0, 59))
    second = None if hour == 24 else draw(st.none() | st.integers(0, 59))
    millis = None if second is None else draw(st.none() | st.integers(0, 999))
    separator = "T" if hour == 24 else draw(st.sampled_from(["T", " ", "\u3000"]))
    zone = draw(ZONES)
    text = f"{year:04d}-{month:02d}-{day:02d}{separator}{hour:02d}:{minute:02d}"
    if second is not None:
        text += f":{second:02d}" + ("" if millis is None else f".{millis:03d}")
    text += zone
    offset = timedelta()
    if zone not in ("", "Z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    moment = datetime(year, month, 1, tzinfo=UTC) + timedelta(
        days=day - 1, hours=hour, minutes=minute, seconds=second or 0, milliseconds=millis or 0
    )
    return text, moment - offset


@PROPERTIES
@given(iso_variants())
def test_iso_variants_mean_what_v8_made_of_them(variant):
    text, moment = variant
    expected = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    assert joi_iso_time(text) == expected


@PROPERTIES
@given(iso_variants(), st.sampled_from(["+05", "-11", "+0560", "+05:60", "+24:00", "z"]))
def test_a_t_form_with_an_offset_joi_or_v8_refused_is_no_date(variant, zone):
    text = variant[0].replace(" ", "T").replace("\u3000", "T")
    for suffix in ("Z", "+05:30", "-0800", "+00:00", "-23:59"):
        text = text.removesuffix(suffix)
    assert joi_iso_time(text + zone) is None
