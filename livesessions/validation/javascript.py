"""JavaScript's readings of the values Joi checked: whitespace, string length, numbers,
falsiness, the order of an object's keys and URL decoding.

Python's own notions differ from each of them (its `\\s`, `\\d` and `float()` take Unicode,
`len()` counts code points, dicts keep insertion order), so the validation layer asks this
module, never Python's, whenever the Node service's answer depended on them.
"""

import math
import re
from decimal import Decimal

MAX_SAFE_INTEGER = 2**53 - 1

# The whitespace of JavaScript's `\s` and `String.prototype.trim` (WhiteSpace and
# LineTerminator). Python's `\s` is another set: it takes U+001C-U+001F and U+0085 and leaves
# out U+FEFF.
WHITESPACE_CHARACTERS = (
    "\t\n\v\f\r \u00a0\u1680"
    + "".join(chr(code) for code in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
WHITESPACE = re.escape(WHITESPACE_CHARACTERS)  # the same set, to write in a character class

# Joi's number conversion of strings: its pattern in JavaScript's terms (`\d` is ASCII, `\s`
# the whitespace above, `$` the very end, the `i` flag for the exponent).
NUMERIC_STRING = re.compile(
    rf"^[{WHITESPACE}]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[{WHITESPACE}]*\Z"
)
PLAIN_INTEGER = re.compile(r"[+-]?0*[0-9]{1,15}\Z")
EXPONENT_PART = re.compile(r"[eE][+-]?[0-9]+\Z")
LEADING_SIGN_AND_ZEROS = re.compile(r"^[+-]?0*")
# decodeURIComponent throws on a `%` without two hex digits after it, and on escapes that are
# not UTF-8 (overlong forms and surrogates included, as Python's strict codec refuses them).
LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def trim(text: str) -> str:
    return text.strip(WHITESPACE_CHARACTERS)


def length(text: str) -> int:
    """`text.length`: UTF-16 code units, so a character beyond U+FFFF counts twice."""
    return len(text) + sum(1 for character in text if character > "\uffff")


def is_falsy(value) -> bool:
    """JavaScript's falsiness, which the Node controllers tested with `if (!value)`."""
    return (
        value is None
        or value is False
        or value == ""
        or (isinstance(value, int | float) and not isinstance(value, bool) and value == 0)
    )


def to_double(value: int | float) -> float:
    """The double JSON.parse made of a JSON number: integers beyond 2**1024 are Infinity."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def number_to_string(value: float) -> str:
    """`String(number)`, per ECMAScript's Number::toString: the shortest digits that read back
    as the same double (Python's repr finds the same ones), laid out as JavaScript does."""
    if math.isnan(value):
        return "NaN"
    if value == 0:
        return "0"
    if value < 0:
        return "-" + number_to_string(-value)
    if math.isinf(value):
        return "Infinity"
    _, digit_tuple, exponent = Decimal(repr(float(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    point = len(digit_tuple) + exponent  # value = 0.<digits> x 10**point
    count = len(digits)
    if count <= point <= 21:
        return digits + "0" * (point - count)
    if 0 < point <= 21:
        return digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return "0." + "0" * -point + digits
    power = f"{point - 1:+d}"
    return (digits if count == 1 else digits[0] + "." + digits[1:]) + "e" + power


def _significant_digits(text: str) -> str:
    text = EXPONENT_PART.sub("", text).replace(".", "", 1).rstrip("0")
    return LEADING_SIGN_AND_ZEROS.sub("", text, count=1)


def _normalized_decimal(text: str) -> str:
    text = text.removeprefix("+")
    text = re.sub(r"\.0*\Z", "", text)
    text = re.sub(r"^(-?)\.([^.]*)\Z", r"\g<1>0.\g<2>", text)
    text = re.sub(r"^(-?)0+([0-9])", r"\1\2", text)
    if "." in text and text.endswith("0"):
        text = text.rstrip("0")
    return "0" if text == "-0" else text


def string_to_number(text: str) -> tuple[float | None, bool]:
    """Joi's conversion of a string to a number (`convert: true`): `(number, safe)`, or
    `(None, True)` where the string is not numeric. A number that its string does not spell
    exactly (too many digits, out of range) is not safe: Joi's `must be a safe number`."""
    if not NUMERIC_STRING.match(text):
        return None, True
    trimmed = trim(text)
    if PLAIN_INTEGER.match(trimmed):  # up to 15 digits: always exact, the common case
        return float(trimmed) + 0.0, True
    number = float(trimmed) + 0.0  # ASCII only, correctly rounded like parseFloat; no -0
    if "e" in trimmed or "E" in trimmed:
        return number, _significant_digits(trimmed) == _significant_digits(number_to_string(number))
    spelled = number_to_string(number)
    return number, "e" in spelled or spelled == _normalized_decimal(trimmed)


def _array_index(key: str) -> int | None:
    """The integer a key is as an array index (canonical, below 2**32 - 1), or None."""
    if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0"):
        index = int(key)
        return index if index < 2**32 - 1 else None
    return None


def key_order(keys) -> list[str]:
    """An object's keys in JavaScript's order: array indexes ascending, then the others as
    they were written."""
    keys = list(keys)
    indexes = sorted((index, key) for key in keys if (index := _array_index(key)) is not None)
    return [key for _, key in indexes] + [key for key in keys if _array_index(key) is None]


def decode_uri_component(text: str) -> str | None:
    """decodeURIComponent, or None where it throws."""
    if LONE_PERCENT.search(text):
        return None
    try:
        return ESCAPES.sub(lambda run: bytes.fromhex(run[0].replace("%", "")).decode(), text)
    except UnicodeDecodeError:
        return None
