"""V8's `new Date(string)`, for the strings Joi's ISO pattern passes (`dates`).

V8 reads the ES5 form (`2099-01-01T10:00:00.000Z`; a date alone is UTC) and falls back to its
legacy reader for the rest of what the pattern admits (`2099-01-01 10:00`, `2099-001`),
rolling days over (`2099-02-30` is 2 March). This reader follows V8's on the characters the
pattern lets through (digits, `-+:.,`, `T`, `Z`, `W` and whitespace); the differential check
against Node (docs/testing.md) holds the two together. Local times are read as UTC, the
service's documented choice. The result is a time value: integer milliseconds since 1970.
"""

from .javascript import WHITESPACE_CHARACTERS

# V8's date reader skips JavaScript's whitespace but for U+2028 and U+2029, which it reads as
# letters (so a date with them is NaN).
DATE_SPACES = WHITESPACE_CHARACTERS.replace("\u2028", "").replace("\u2029", "")
MAX_TIME = 8.64e15  # ECMAScript's TimeClip
DAY_MS = 86_400_000


class _Tokens:
    """V8's date tokens: (kind, value, length); a number keeps its first 9 digits."""

    def __init__(self, text):
        self.text, self.position = text, 0
        self.peek = self._scan()

    def next(self):
        token, self.peek = self.peek, self._scan()
        return token

    def skip(self, symbol):
        if self.peek[:2] == ("symbol", symbol):
            self.next()
            return True
        return False

    def _scan(self):
        text, start = self.text, self.position
        if start >= len(text):
            return ("end", None, 0)
        character = text[start]
        end = start + 1
        if character.isascii() and character.isdigit():
            while end < len(text) and text[end].isascii() and text[end].isdigit():
                end += 1
            self.position = end
            # the value of its first 9 significant digits; the rest only count in its length
            return ("number", int(text[start:end].lstrip("0")[:9] or 0), end - start)
        self.position = end
        if character in ":-+.)":
            return ("symbol", character, 1)
        if character in DATE_SPACES:
            return ("space", None, 1)
        if character >= "A":
            while end < len(text) and text[end] >= "A" and text[end] not in DATE_SPACES:
                end += 1
            self.position = end
            return ("word", text[start:end].lower(), end - start)
        return ("unknown", None, 1)


def _number(token, size=None):
    return token[0] == "number" and (size is None or token[2] == size)


def _sign(token):
    return {"+": 1, "-": -1}.get(token[1]) if token[0] == "symbol" else None


def _milliseconds(token):
    """The first three digits of a fraction, as written (V8's ReadMilliseconds)."""
    value, size = token[1], min(token[2], 9)
    return value * 10 ** (3 - size) if size < 3 else value // 10 ** (size - 3)


class _Parts:
    """What V8's composers gather: day parts, time parts and the zone."""

    def __init__(self):
        self.day, self.time, self.iso = [], [], False
        self.sign = self.zone_hour = self.zone_minute = None

    def set_utc(self):
        self.sign, self.zone_hour, self.zone_minute = 1, 0, 0

    def time_expects(self, n):
        filled = len(self.time)
        return (filled in (1, 2) and n <= 59) or (filled == 3 and n <= 999)

    def add_time(self, n, final=False):
        if len(self.time) >= 4:
            return False
        self.time.append(n)
        if final:
            self.time += [0] * (4 - len(self.time))
        return True

    def zone_expects(self, n):
        return self.zone_hour is not None and self.zone_minute is None and 0 <= n <= 59


def _es5(tokens, parts):
    """V8's ES5 reader: the token the legacy reader goes on from, "end", or None (invalid)."""
    left = _es5_date(tokens, parts)
    if left is not None:
        return left
    if tokens.peek[:2] != ("word", "t"):
        if tokens.peek[0] != "end":
            return tokens.next()
    else:
        tokens.next()
        if not (_es5_clock(tokens, parts) and _es5_zone(tokens, parts)):
            return None
        if tokens.peek[0] != "end":
            return None
    if parts.sign is None and not parts.time:
        parts.set_utc()  # a date alone is UTC
    parts.iso = True
    return ("end", None, 0)


def _es5_date(tokens, parts):
    """`[+-]yyyyyy` or `yyyy`, then `-MM` and `-DD`: None, or the token to go on from."""
    if _sign(tokens.peek):
        sign_token = tokens.next()
        if not _number(tokens.peek, 6):
            return sign_token
        year = tokens.next()[1]
        if _sign(sign_token) < 0 and year == 0:
            return sign_token
        parts.day.append(_sign(sign_token) * year)
    elif _number(tokens.peek, 4):
        parts.day.append(tokens.next()[1])
    else:
        return tokens.next()
    for highest in (12, 31):  # the month, then the day
        if not tokens.skip("-"):
            break
        if not (_number(tokens.peek, 2) and 1 <= tokens.peek[1] <= highest):
            return tokens.next()
        parts.day.append(tokens.next()[1])
    return None


def _two_digits(tokens, highest):
    return _number(tokens.peek, 2) and tokens.peek[1] <= highest


def _es5_clock(tokens, parts):
    """`HH:mm[:ss[.sss]]` after the T; 24:00[:00[.000]] is the only hour 24."""
    if not _two_digits(tokens, 24):
        return False
    midnight = tokens.peek[1] == 24
    parts.time.append(tokens.next()[1])
    for required in (True, False):  # minutes, then optional seconds
        if not tokens.skip(":"):
            return not required
        if not _two_digits(tokens, 59) or (midnight and tokens.peek[1] > 0):
            return False
        parts.time.append(tokens.next()[1])
    if tokens.skip("."):
        if not _number(tokens.peek) or (midnight and tokens.peek[1] > 0):
            return False
        parts.time.append(_milliseconds(tokens.next()))
    return True


def _es5_zone(tokens, parts):
    """`Z`, `+hh:mm` or `+hhmm`, or nothing."""
    if tokens.peek[:3] == ("word", "z", 1):
        tokens.next()
        parts.set_utc()
    elif _sign(tokens.peek):
        parts.sign = _sign(tokens.next())
        if _number(tokens.peek, 4):
            parts.zone_hour, parts.zone_minute = divmod(tokens.next()[1], 100)
            return parts.zone_hour <= 23 and parts.zone_minute <= 59
        if not _two_digits(tokens, 23):
            return False
        parts.zone_hour = tokens.next()[1]
        if not (tokens.skip(":") and _two_digits(tokens, 59)):
            return False
        parts.zone_minute = tokens.next()[1]
    return True


def _legacy_time(tokens, parts, n):
    """A number followed by `:` (or `::`) is an hour, minute or second."""
    if tokens.skip(":"):
        if parts.time:
            return False
        parts.time += [n, 0]
        return True
    if not parts.add_time(n):
        return False
    tokens.skip(".")
    return True


def _legacy_number(tokens, parts, n):
    if tokens.skip(":"):
        return _legacy_time(tokens, parts, n)
    if tokens.skip(".") and parts.time_expects(n):
        parts.add_time(n)
        if not _number(tokens.peek):
            return False
        parts.add_time(_milliseconds(tokens.next()), final=True)  # V8 ignores a full clock
        return True
    if parts.zone_expects(n):
        parts.zone_minute = n
    elif parts.time_expects(n):
        parts.add_time(n, final=True)
        after = tokens.peek
        return after[0] in ("end", "space") or after[:3] == ("word", "z", 1) or bool(_sign(after))
    elif len(parts.day) >= 3:
        return False
    else:
        parts.day.append(n)
        tokens.skip("-")
    return True


def _legacy_zone(tokens, parts, sign):
    """`+hh`, `+hhmm` or `+hh:` after a time or UTC."""
    parts.sign = sign
    value, size = tokens.next()[1:] if _number(tokens.peek) else (0, 0)
    if tokens.peek[:2] == ("symbol", ":"):
        parts.zone_hour, parts.zone_minute = value, None
    elif size in (1, 2):
        parts.zone_hour, parts.zone_minute = value, 0
    elif size in (3, 4):
        parts.zone_hour, parts.zone_minute = divmod(value, 100)
    else:
        return False
    return True


def _legacy(tokens, parts, token):
    """V8's legacy reader, from `token` to the end; False where it gives up."""
    read_number = bool(parts.day)
    while token[0] != "end":
        sign = _sign(token)
        if token[0] == "number":
            read_number = True
            if not _legacy_number(tokens, parts, token[1]):
                return False
        elif token[0] == "word":
            if token[1] == "z" and read_number:  # the only zone name Joi's pattern admits
                parts.set_utc()
            elif read_number or _number(tokens.peek):
                return False
        elif sign and ((parts.zone_hour, parts.zone_minute) == (0, 0) or parts.time):
            read_number = True
            if not _legacy_zone(tokens, parts, sign):
                return False
        elif (sign or token[:2] == ("symbol", ")")) and read_number:
            return False
        token = tokens.next()
    return True


def _days_from_civil(year, month, day):
    """Days from 1970-01-01 to a proleptic Gregorian date (any year)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def _time_value(parts):
    """The time value of what was read, or None where V8's composers refuse it."""
    if not parts.day:
        return None
    first, second, third = [*parts.day, 1, 1][:3]
    if parts.iso or not 1 <= first <= 31:
        year, month, day = first, second, third
    else:
        month, day, year = first, second, third
    if not parts.iso and 0 <= year <= 99:
        year += 2000 if year <= 49 else 1900
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    hour, minute, second, millisecond = [*parts.time, 0, 0, 0, 0][:4]
    in_day = hour <= 23 and minute <= 59 and second <= 59 and millisecond <= 999
    if not in_day and (hour, minute, second, millisecond) != (24, 0, 0, 0):
        return None
    offset = 0
    if parts.sign is not None:
        offset = parts.sign * ((parts.zone_hour or 0) * 3600 + (parts.zone_minute or 0) * 60)
    days = _days_from_civil(year, month, 1) + day - 1
    time = days * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000 + millisecond
    time -= offset * 1000
    return time if abs(time) <= MAX_TIME else None


def parse_date(text: str) -> int | None:
    """`new Date(text).getTime()` for a string Joi's pattern passed, or None for NaN."""
    tokens, parts = _Tokens(text), _Parts()
    token = _es5(tokens, parts)
    if token is None or not _legacy(tokens, parts, token):
        return None
    return _time_value(parts)
