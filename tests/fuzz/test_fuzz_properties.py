"""Property-based fuzzing (hypothesis) of the 13 endpoints of the spec.

Arbitrary JSON (huge numbers, -0.0, NaN, unicode, NUL, long text, lone UTF-16 surrogates,
Mongo operators, `$` and `.` keys, arrays and nulls for scalars, extra keys), valid bodies
with one field replaced, ISO-like dates, ids, paths, query strings, raw bytes and wrong
content types; strings Python and JavaScript read differently (numbers padded with control
characters or Unicode spaces, other scripts' digits, GUIDs and dates followed by a newline);
and the seeded session stored without some of the fields Mongoose defaulted. Whatever is
sent, with the fake Daily.co succeeding:

- the status is below 500 and the body is JSON (every JSON body is also checked against
  `/openapi.json` by the test client, `tests/support/openapi_client.py`);
- a 4xx body is exactly `{"message": <non-empty string>}`;
- no body shows a traceback or an exception class name (unless the request carried it);
- every stored session still fits the schema (`check_stored_session`, read with the
  defaults), and a refused create, update or delete changes nothing;
- such a string, alone in an otherwise valid body or query, is read as Joi read it
  (`tests/support/joi.py`): refused with Joi's type message exactly where JavaScript's rules
  refuse it, and converted (or stored) as JavaScript converts it;
- a sparse session is shown with its defaults.

Each example starts from the same state (`reset`). The examples are derandomized: the same
command runs the same examples, so a failure reproduces (hypothesis also draws on constants
of the loaded modules, so this file alone and the whole suite differ a little). The number
of examples and requests of each test is asserted and printed at the end of the run.
"""

import contextlib
import json
import math
import os
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.factories import (
    ADMIN,
    COURSE,
    INSTRUCTOR,
    OTHER_INSTRUCTOR,
    READ_DEFAULTS,
    future,
    iso,
    seed_recording,
    seed_session,
    session_payload,
)
from tests.support.joi import is_guid, iso_verdict, js_number, type_refusal
from tests.support.tally import register_tally

pytestmark = pytest.mark.slow  # hundreds of hypothesis examples per test

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,  # derandomized: a failure reproduces without a saved example
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],  # a timing, which varies between machines
)
STATUSES = ["scheduled", "live", "ended", "cancelled"]
SESSION_STATUSES = set(STATUSES)
SEEDED_ID = "5eed0000-0000-4000-8000-000000000001"
SEEDED_ROOM = "seeded-room"
SEEDED_RECORDING = "5eed0000-0000-4000-8000-00000000000a"
SEEDED_DAILY_RECORDING = "daily-recording-1"
# An exception's name or a stack trace in a body means an error escaped the handlers.
LEAK = re.compile(r"Traceback|File \"|\b[A-Z]\w*(?:Error|Exception)\b")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
TALLY = Counter()  # (test name, "examples" | "requests" | status) -> count

# -- strategies ---------------------------------------------------------------------------

# Any code point, lone surrogates included: json.dumps writes them as `\ud800` escapes.
any_char = st.characters(exclude_categories=())
surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
special_text = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\ud800",
        "a\udfffb",
        "\ufeff",
        "\u202e",
        "\U0001f4a5\U0001f4a5\U0001f4a5",
        "$where",
        "$gt",
        "a.b",
        ".",
        "..",
        "/",
        "__proto__",
        "constructor",
        "null",
        "true",
        "0",
        "-0",
        "1e1",
        " 60 ",
        "60.0",
        "NaN",
        "Infinity",
        "ab",
        "abc",
        "C++ (intro) [a-z]*",
        "x" * 128,
        "x" * 129,
        "x" * 200,
        "x" * 201,
        "x" * 1000,
        "x" * 1001,
    ]
)
short_text = st.text(any_char, max_size=30)
long_text = st.builds(lambda s, n: ((s or "x") * n)[:n], short_text, st.integers(100, 3000))
# Lone surrogates are rare among all code points: this makes them common.
surrogate_text = st.text(surrogate | st.characters(codec="ascii"), min_size=1, max_size=12)
texts = st.one_of(short_text, special_text, long_text, surrogate_text)

integers = st.one_of(
    st.integers(),
    st.integers(-(10**40), 10**40),
    st.sampled_from(
        [-1, 0, 1, 14, 15, 480, 481, 999, 1000, 1001, 2**53 - 1, 2**53, -(2**53), 10**400]
    ),
)
floats = st.one_of(
    st.floats(),  # NaN and infinities included: json.dumps writes them, the API must refuse
    st.sampled_from([-0.0, 0.5, 15.0, 60.5, 1e308, 5e-324, 2.0**53, 1e21]),
)
scalars = st.one_of(st.none(), st.booleans(), integers, floats, texts)
mongo_operators = st.sampled_from(
    [
        {"$gt": ""},
        {"$ne": None},
        {"$where": "sleep(1000)"},
        {"$regex": ".*"},
        {"$in": ["a", "b"]},
        {"$set": {"status": "live"}},
        {"a.b": 1},
        {"$x": {"$y": 1}},
        {},
        [],
        [1],
        ["abc"],
        [None],
    ]
)
BODY_KEYS = [
    "title",
    "description",
    "courseId",
    "instructorId",
    "scheduledAt",
    "duration",
    "maxParticipants",
    "studentId",
    "status",
    "roomName",
    "recordingId",
    "participants",
    "_id",
    "deletedAt",
    "isRecorded",
    "type",
    "payload",
]
keys = st.one_of(
    texts, st.sampled_from([*BODY_KEYS, "$set", "$where", "a.b", "$", ".", "constructor"])
)
json_values = st.recursive(
    st.one_of(scalars, mongo_operators),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=12,
)

OFFSETS = ["", "Z", "z", "+00:00", "-00:00", "+14:00", "-12:00", "+2359", "-23:59", "+99:99", "+1"]


def around(low, high, *edges):
    """An integer in [low, high] or one of the edges (in range or just outside it)."""
    return st.one_of(st.integers(low, high), st.sampled_from([low, high, *edges]))


# Years, months, days... with the edges where date arithmetic breaks: year 0 and 9999,
# month 0 and 13, 29 February, 31 December 23:59 (plus an offset), second 60.
years = around(0, 9999, 1, 1969, 1970, 2038, 2099, 9998)


def shifted(edge, minutes, offset):
    """`edge` moved by some minutes, as ISO text with `offset` (the edge itself if that
    would leave Python's range)."""
    with contextlib.suppress(OverflowError):
        edge += timedelta(minutes=minutes)
    return edge.isoformat(timespec="milliseconds") + offset


# Just around now (past or future), the API's maximum (9999-01-01), the last minutes of
# 9999 (where adding the duration and the room's grace overflows) and year 1.
edge_dates = st.builds(
    shifted,
    st.sampled_from(
        [
            datetime(9999, 12, 31, 23, 59, 59, 999000),
            datetime(9999, 1, 1),
            datetime(1, 1, 1),
        ]
    )
    | st.builds(lambda: datetime.now(UTC).replace(tzinfo=None)),
    st.integers(-1500, 1500),
    st.sampled_from(OFFSETS),
)
iso_dates = st.one_of(
    edge_dates,
    st.builds(
        lambda y, mo, d, h, mi, s, frac, sep, off: (
            f"{y:04d}-{mo:02d}-{d:02d}{sep}{h:02d}:{mi:02d}:{s:02d}{frac}{off}"
        ),
        years,
        around(1, 12, 0, 2, 13),
        around(1, 31, 0, 28, 29, 30, 32),
        around(0, 23, 24, 25),
        around(0, 59, 60),
        around(0, 59, 60, 61),
        st.sampled_from(["", ".", ".5", ".123", ".999", ".123456789", ".1234567890123"]),
        st.sampled_from(["T", "T", "t", " "]),
        st.sampled_from(OFFSETS),
    ),
    st.builds(
        lambda y, mo, d: f"{y:04d}-{mo:02d}-{d:02d}",
        years,
        around(1, 12, 0, 13),
        around(1, 31, 0, 29, 32),
    ),
    st.builds(
        lambda d, off: iso(d)[:-1] + off,
        st.datetimes(datetime(2000, 1, 1), datetime(9999, 12, 31), timezones=st.just(UTC)),
        st.sampled_from(OFFSETS),
    ),
    st.sampled_from(
        [
            "9999-01-01T00:00:00.000Z",
            "9999-01-01T00:00:00.001Z",
            "9998-12-31T23:00:00-12:00",
            "9999-12-31T23:59:59.999+14:00",
            "0001-01-01T00:00:00+01:00",
            "+010000-01-01T00:00:00Z",
            "-000001-01-01T00:00:00Z",
            "2030-02-29T10:00:00Z",
            "2032-02-29T10:00:00Z",
            "2030-W01-1",
            "2030-001",
            "20300101T100000Z",
            "2030-01-01T10:00",
            "2030-01-01T24:00:00Z",
            "now",
            "",
        ]
    ),
)
# From a day after the moment each example is drawn (not after the import) to some 7,900
# years later, short of 9998 (the API's range).
future_dates = st.builds(
    lambda ahead: iso(future(days=1) + ahead),
    st.timedeltas(timedelta(0), datetime(9998, 1, 1) - datetime(2100, 1, 1)),
)
uuids = st.uuids().map(str)
valid_titles = st.text(st.characters(codec="utf-8"), min_size=3, max_size=200)
valid_create_bodies = st.fixed_dictionaries(
    {
        "title": valid_titles,
        "courseId": st.sampled_from([COURSE]) | uuids,
        "scheduledAt": future_dates,
        "duration": st.integers(15, 480),
    },
    optional={
        "description": st.text(max_size=1000),
        "instructorId": uuids,
        "maxParticipants": st.integers(1, 1000),
    },
)


def update_base():
    """A valid update, its date two weeks from when the test runs."""
    return {
        "title": "New title",
        "description": "Updated",
        "scheduledAt": iso(future(days=14)),
        "duration": 90,
        "maxParticipants": 50,
    }


valid_update_bodies = st.fixed_dictionaries(
    {},
    optional={
        "title": valid_titles,
        "description": st.text(max_size=1000),
        "scheduledAt": future_dates,
        "duration": st.integers(15, 480),
        "maxParticipants": st.integers(1, 1000),
    },
)
# Strings Python and JavaScript read differently. Numbers: padded with JavaScript's
# whitespace or with what only Python takes for space (U+001C-U+001F, U+0085, U+180E...),
# written with other scripts' digits (Python's `\d` and float() read them). GUIDs and dates:
# followed by a newline (Python's `$` matches before it) or other trailing characters.
PADDING = [
    *" \t\n\v\f\r\u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u3000\ufeff",
    *"\x1c\x1d\x1e\x1f\x85\u180e\u200b\x00",
]
DIGITS = "0123456789\u0660\u0666\uff10\uff16\u09e6\u09ec\U0001d7ce\U0001d7d4"
TAILS = ["", "\n", "\n", "\n", "\r\n", "\n\n", " ", "\u2028", "\x00"]  # mostly "\n"
padding = st.text(st.sampled_from(PADDING), max_size=2)
numeric_strings = st.builds(
    lambda before, number, after: before + number + after,
    padding,
    st.one_of(
        st.integers(1, 480).map(str),
        st.sampled_from(["60", "6e1", "1.5e1", "60.0", "+60", "060", ".5", "60."]),
        st.text(st.sampled_from(DIGITS), min_size=1, max_size=3),
    ),
    padding,
)
guids_with_tails = st.builds(
    lambda guid, tail: guid + tail, st.sampled_from([COURSE]) | uuids, st.sampled_from(TAILS)
)
dates_with_tails = st.builds(lambda date, tail: date + tail, future_dates, st.sampled_from(TAILS))
TRICKY = {
    "courseId": guids_with_tails,
    "instructorId": guids_with_tails,
    "scheduledAt": dates_with_tails,
    "duration": numeric_strings,
    "maxParticipants": numeric_strings,
}


def one_tricky_field(base, names):
    """`base` with one of `names` given a string Python and JavaScript read differently."""
    return st.sampled_from(names).flatmap(
        lambda key: TRICKY[key].map(lambda value: {**base, key: value})
    )


field_values = st.one_of(
    json_values,
    iso_dates,
    st.integers(-5, 2000),
    st.sampled_from(["60", " 60 ", "1e1", "6e1", "60.0", "0x3c", "60abc", "1_000"]),
    numeric_strings,
    guids_with_tails,
)


def one_field_replaced(base, values=field_values):
    """`base` (a valid body) with one key given another value, removed, or added."""
    return st.one_of(
        st.builds(lambda key, value: {**base, key: value}, st.sampled_from(list(base)), values),
        st.builds(lambda key, value: {**base, key: value}, keys, values),
        st.sampled_from(list(base)).map(lambda key: {k: v for k, v in base.items() if k != key}),
    )


# Path segments: anything percent-encoded, plus hand-picked raw ones (encoded slashes, NUL,
# invalid UTF-8, a UTF-8 encoded surrogate, dot segments, very long ids).
path_segments = st.one_of(
    texts.map(lambda s: quote(s.encode("utf-8", "surrogatepass"), safe="")),
    st.sampled_from(
        [
            "%2F",
            "a%2Fb",
            "%00",
            "%FF",
            "%ED%A0%80",
            "%",
            "%zz",
            ".",
            "..",
            "$where",
            "{id}",
            ":id",
            "x" * 3000,
            "a%20b",
            "undefined",
            "null",
        ]
    ),
)
# Query strings as Express saw them: repeated keys, operator-looking keys, garbage encoding.
query_keys = st.one_of(
    st.sampled_from(
        ["page", "pageCount", "search", "page[$gt]", "search[]", "$where", "__proto__", "x"]
    ),
    short_text,
)
query_values = st.one_of(
    texts,
    integers.map(lambda n: str(n) if abs(n) < 10**300 else "9" * 500),
    st.sampled_from(["1", "0", "-1", "100", "101", "1.5", "1e1", " 2 ", "", "%", "%zz", "%00"]),
    numeric_strings,
)
query_strings = st.one_of(
    st.lists(st.tuples(query_keys, query_values), max_size=6).map(
        lambda pairs: "&".join(
            quote(k.encode("utf-8", "surrogatepass"), safe="[]$")
            + "="
            + quote(v.encode("utf-8", "surrogatepass"), safe="%")
            for k, v in pairs
        )
    ),
    st.sampled_from(
        [
            "page=1&page=2",
            "pageCount=5&pageCount=5",
            "search=a&search=b&search=c",
            "page",
            "=1",
            "&&&",
            "page=1=2",
            "search=%ED%A0%80",
            "search=%FF%FE",
            "search=" + "x" * 201,
            "page=9007199254740991&pageCount=100",
            "page=9007199254740992",
        ]
    ),
)
# One number or date of the list, alone, as a string Python and JavaScript read differently.
tricky_queries = st.sampled_from(["page", "pageCount", "from", "to"]).flatmap(
    lambda key: (numeric_strings if key.startswith("page") else dates_with_tails).map(
        lambda value: f"{key}={quote(value)}"
    )
)
# Raw JSON values: escaped lone surrogates, numbers past Python's and JavaScript's limits,
# NaN, deep nesting, duplicate keys.
RAW_JSON_VALUES = [
    '"\\ud800"',
    '"a\\udfffb"',
    '"Intro \\udc00\\ud800 to JS"',
    '"\\udc00\\ud800"',
    '"\\u0000"',
    '"\\"$gt\\""',
    "1e400",
    "-1e400",
    "-0",
    "1" + "0" * 5000,
    "NaN",
    "-Infinity",
    "[" * 5000 + "]" * 5000,
    '{"$gt": "", "$gt": 1}',
    "true",
    "null",
]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "APPLICATION/JSON",
    "application/vnd.api+json",
    "application/jsonx",
    "text/plain",
    "text/html",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/octet-stream",
    "",
]
AUTH_KINDS = ["owner"] * 7 + ["admin", "other", "none", "garbage", "basic"]


# -- checks -------------------------------------------------------------------------------


def strings_in(value):
    """Every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(key)
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


def check_no_dollar_keys(value, where):
    if isinstance(value, dict):
        for key, item in value.items():
            assert not str(key).startswith("$"), (key, where)
            check_no_dollar_keys(item, where)
    elif isinstance(value, list):
        for item in value:
            check_no_dollar_keys(item, where)


def check_stored_session(stored):
    """A stored session as the Mongoose schema (and the serializer) expects it, once read
    with the defaults of the fields Mongoose defaulted."""
    doc = {**READ_DEFAULTS, **stored}
    check_no_dollar_keys(doc, doc)
    for text in strings_in(doc):
        text.encode("utf-8")  # a lone surrogate would fail here, as BSON encoding does
    assert isinstance(doc["_id"], str), doc
    assert isinstance(doc["title"], str), doc
    assert 3 <= len(doc["title"]) <= 200, doc
    assert isinstance(doc["description"], str), doc
    assert len(doc["description"]) <= 1000, doc
    assert is_guid(doc["course"]), doc  # a string, and nothing after the GUID
    assert is_guid(doc["instructor"]), doc
    assert isinstance(doc["roomName"], str), doc
    assert isinstance(doc["roomUrl"], str), doc
    for key in ("scheduledAt", "createdAt", "updatedAt"):
        assert isinstance(doc[key], datetime), doc
    assert doc.get("deletedAt") is None or isinstance(doc["deletedAt"], datetime), doc
    assert type(doc["duration"]) is int, doc
    assert 15 <= doc["duration"] <= 480, doc
    assert type(doc["maxParticipants"]) is int, doc
    assert 1 <= doc["maxParticipants"] <= 1000, doc
    participants = doc["participants"]
    assert isinstance(participants, list), doc
    assert len(set(participants)) == len(participants) <= doc["maxParticipants"], doc
    assert all(isinstance(p, str) and 1 <= len(p) <= 128 for p in participants), doc
    assert doc["status"] in SESSION_STATUSES, doc
    assert type(doc["isRecorded"]) is bool, doc
    assert doc["recordingUrl"] is None or isinstance(doc["recordingUrl"], str), doc
    duration = doc["recordingDuration"]
    assert duration is None or (isinstance(duration, int | float) and math.isfinite(duration))


def check_store(db):
    for doc in db.livesessions.find():
        check_stored_session(doc)
    for collection in ("recordings", "recording_jobs"):
        for doc in db[collection].find():
            check_no_dollar_keys(doc, doc)
            for text in strings_in(doc):
                text.encode("utf-8")


def check_response(response, sent):
    """The invariants of every answer; `sent` is what the request carried, as text."""
    status = response.status_code
    text = response.get_data(as_text=True)
    assert status < 500, (status, text[:500], sent[:500])
    assert response.is_json, (status, response.content_type, text[:200], sent[:300])
    body = response.get_json()
    if 400 <= status < 500:
        assert isinstance(body, dict), (status, body, sent[:300])
        assert list(body) == ["message"], (status, body, sent[:300])
        assert isinstance(body["message"], str), body
        assert body["message"].strip(), body
    for found in LEAK.findall("\n".join(strings_in(body))):
        # The API echoes unknown keys and stored titles; only what it made up is a leak.
        assert found in sent, (found, status, text[:500])


TYPE_MESSAGES = ("must be a number", "must be a valid GUID", "must be in ISO 8601 date format")


def check_joi_reading(body, base, response):
    """A string in `body`'s one field that differs from the valid `base` is read as Joi read
    it: refused with Joi's type message where JavaScript refuses it; otherwise (GUIDs, finite
    numbers and plain ISO forms, whose type the oracle knows) never refused for its type, and a
    number converted as JavaScript converts it."""
    if response.status_code == 401 or not isinstance(body, dict) or set(base) - set(body):
        return
    changed = [key for key in body if key not in base or body[key] != base[key]]
    if len(changed) != 1 or not isinstance(body[changed[0]], str):
        return
    key, value = changed[0], body[changed[0]]
    shown = response.get_json()
    message = shown.get("message") if response.status_code == 400 else None
    refusal = type_refusal(key, value)
    if refusal is not None:
        assert (response.status_code, message) == (400, refusal), (key, value, shown)
        return
    number = js_number(value) if key in ("duration", "maxParticipants") else None
    surely_typed = key in ("courseId", "instructorId") or (
        key == "scheduledAt" and iso_verdict(value)
    )
    if surely_typed or (number is not None and math.isfinite(number)):
        assert message not in {f'"{key}" {text}' for text in TYPE_MESSAGES}, (key, value)
    if number is not None and response.status_code < 300:
        assert shown[key] == number, (key, value, shown)


# The list's query keys in declared order, and those whose type the oracle knows.
LIST_KEYS = ["page", "pageCount", "search", "status", "courseId", "instructorId", "from", "to"]
TYPED_LIST_KEYS = {"page", "pageCount", "from", "to"}


def check_list_query(response):
    """The list's numbers and dates, each given once, read as Joi read them; in declared
    order, so the first key refused hides the next."""
    if response.status_code == 401:
        return
    shown = response.get_json()
    for key in LIST_KEYS:
        values = response.request.args.getlist(key)
        if len(values) > 1:
            return  # repeated: an array, refused as such
        refusal = type_refusal(key, values[0]) if values and key in TYPED_LIST_KEYS else None
        if refusal is not None:
            assert (response.status_code, shown) == (400, {"message": refusal}), values
            return
        if values and response.status_code == 200 and key in ("page", "pageCount"):
            assert shown[key] == js_number(values[0]), (values, shown)
        if response.status_code == 400 and shown["message"].startswith(f'"{key}"'):
            return


# -- plumbing -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def tally(request):
    """Count this test's examples (tried, so aborted ones too) and requests; check them."""
    register_tally(
        request.config,
        "fuzz-properties-summary",
        "hypothesis fuzzing (test_fuzz_properties.py)",
        TALLY,
        "examples",
    )
    name = request.node.name
    TALLY[name, "examples"] = TALLY[name, "requests"] = 0
    failed = request.session.testsfailed
    yield name
    if request.session.testsfailed == failed:  # a failure stops the examples early
        assert TALLY[name, "examples"] >= MAX_EXAMPLES, TALLY
        assert TALLY[name, "requests"] >= MAX_EXAMPLES, TALLY  # each valid example sends 1+


class Fuzzer:
    """Sends requests, checks each answer and the store, and resets the state per example."""

    def __init__(self, client, db, daily, token_for, name):
        self.client, self.db, self.daily, self.name = client, db, daily, name
        self.headers = {
            "owner": {"Authorization": f"Bearer {token_for()}"},
            "other": {"Authorization": f"Bearer {token_for(OTHER_INSTRUCTOR)}"},
            "admin": {"Authorization": f"Bearer {token_for(ADMIN, role='admin')}"},
            "none": {},
            "garbage": {"Authorization": "Bearer not.a.token"},
            "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
        }
        db.courses.insert_one({"_id": COURSE, "title": "JavaScript Fundamentals"})
        db.users.insert_one({"_id": INSTRUCTOR, "name": "John Doe"})

    def reset(self, removed=(), **fields):
        """One scheduled session (room on the fake Daily, one recording), without the
        `removed` fields (as a hand-written or older document); nothing else."""
        TALLY[self.name, "examples"] += 1
        for collection in ("livesessions", "recordings", "recording_jobs"):
            self.db[collection].delete_many({})
        self.daily.rooms.clear()
        doc = seed_session(
            self.db,
            **{
                "_id": SEEDED_ID,
                "roomName": SEEDED_ROOM,
                "participants": ["student-1"],
                "maxParticipants": 3,
                **fields,
            },
        )
        if removed:
            self.db.livesessions.update_one(
                {"_id": SEEDED_ID}, {"$unset": dict.fromkeys(removed, "")}
            )
        self.daily.rooms[doc["roomName"]] = {"name": doc["roomName"], "url": "u", "config": {}}
        seed_recording(self.db, doc, _id=SEEDED_RECORDING, dailyId=SEEDED_DAILY_RECORDING)
        return doc

    def send(self, method, url, body=None, *, raw=None, auth="none", content_type=None, query=""):
        """Send JSON (`body`, via json.dumps) or `raw` bytes/text; check answer and store."""
        headers = dict(self.headers[auth])
        if raw is None and body is not None:
            raw = json.dumps(body)  # ensure_ascii: lone surrogates travel as `\ud800`
        if raw is not None:
            headers["Content-Type"] = "application/json" if content_type is None else content_type
        if not headers.get("Content-Type", True):
            del headers["Content-Type"]
        TALLY[self.name, "requests"] += 1
        response = self.client.open(
            url, method=method, data=raw, headers=headers, query_string=query
        )
        raw_text = raw.decode("latin-1") if isinstance(raw, bytes) else (raw or "")
        sent = "\n".join([unquote(url), unquote(query), raw_text, *strings_in(body)])
        TALLY[self.name, response.status_code] += 1
        check_response(response, sent)
        check_store(self.db)
        return response


@pytest.fixture
def fuzzer(client, db, daily, token_for, tally):
    return Fuzzer(client, db, daily, token_for, tally)


# -- the tests ----------------------------------------------------------------------------


def weighted(*choices):
    """Like st.one_of over (weight, strategy) pairs, but each picked as often as its weight.

    Hypothesis's one_of steers towards the alternatives with more values left to explore,
    which would starve the valid bodies and the seeded id (few values) of examples.
    """
    indexes = [i for i, (weight, _) in enumerate(choices) for _ in range(weight)]
    return st.sampled_from(indexes).flatmap(lambda i: choices[i][1])


auth_kinds = st.sampled_from(AUTH_KINDS)
# Fields of the seeded session to remove: none half the time, else some of those Mongoose
# defaulted.
sparse_fields = weighted(
    (1, st.just(frozenset())), (1, st.frozensets(st.sampled_from(sorted(READ_DEFAULTS))))
)
targets = weighted((3, st.just(SEEDED_ID)), (1, path_segments))
statuses = st.sampled_from(STATUSES)


def test_create(fuzzer):
    base = session_payload()
    bodies = weighted(
        (3, valid_create_bodies),
        (3, one_field_replaced(base)),
        (2, st.builds(lambda date: {**base, "scheduledAt": date}, iso_dates)),
        (3, one_tricky_field(base, list(TRICKY))),
        (1, json_values),
    )

    @FUZZ
    @given(body=bodies, auth=auth_kinds)
    def run(body, auth):
        fuzzer.reset()
        response = fuzzer.send("POST", "/sessions", body, auth=auth)
        check_joi_reading(body, base, response)
        stored = fuzzer.db.livesessions.count_documents({})
        if response.status_code == 201:
            assert stored == 2
            assert len(fuzzer.daily.rooms) == 2
            # The title as the API read it: escaped pairs joined, lone surrogates U+FFFD.
            title = LONE_SURROGATE.sub("\ufffd", json.loads(json.dumps(body["title"])))
            assert response.get_json()["title"] == title
        else:
            assert stored == 1, response.get_json()
            assert len(fuzzer.daily.rooms) == 1, response.get_json()

    run()


def test_update_and_delete(fuzzer):
    base = update_base()
    bodies = weighted(
        (3, valid_update_bodies),
        (3, one_field_replaced(base)),
        (2, st.builds(lambda date: {"scheduledAt": date}, iso_dates)),
        (1, st.dictionaries(st.sampled_from(list(base)), field_values, max_size=3)),
        (3, one_tricky_field(base, ["scheduledAt", "duration", "maxParticipants"])),
        (1, json_values),
    )

    @FUZZ
    @given(
        method=st.sampled_from(["PUT", "PUT", "PUT", "DELETE"]),
        target=targets,
        body=bodies,
        status=st.sampled_from(["scheduled", "scheduled", *STATUSES]),  # ended etc.: 400
        participants=st.integers(0, 3),
        auth=auth_kinds,
        removed=sparse_fields,
    )
    def run(method, target, body, status, participants, auth, removed):
        fuzzer.reset(
            removed,
            status=status,
            participants=[f"student-{i}" for i in range(participants)],
            maxParticipants=max(participants, 1),
        )
        before = fuzzer.db.livesessions.find_one({"_id": SEEDED_ID})
        response = fuzzer.send(method, f"/sessions/{target}", body, auth=auth)
        if method == "PUT" and target == SEEDED_ID:  # other targets may miss the route
            check_joi_reading(body, base, response)
        if response.status_code >= 400:
            assert fuzzer.db.livesessions.find_one({"_id": SEEDED_ID}) == before
            assert SEEDED_ROOM in fuzzer.daily.rooms

    run()


def test_reads(fuzzer):
    @FUZZ
    @given(
        kind=st.sampled_from(["list", "list", "get", "course", "instructor"]),
        segment=path_segments,
        query=weighted((2, query_strings), (1, tricky_queries)),
        auth=auth_kinds,
        removed=sparse_fields,
    )
    def run(kind, segment, query, auth, removed):
        doc = fuzzer.reset(removed)
        if kind == "list":
            check_list_query(fuzzer.send("GET", "/sessions", auth=auth, query=query))
        elif kind == "get":
            shown = fuzzer.send("GET", f"/sessions/{SEEDED_ID}", auth=auth, query=query)
            if shown.status_code == 200:  # the sparse session with its defaults
                assert {key: shown.get_json()[key] for key in removed} == {
                    key: READ_DEFAULTS[key] for key in removed
                }
            fuzzer.send("GET", f"/sessions/{segment}", auth=auth, query=query)
        else:
            for target in (doc[kind], segment):
                fuzzer.send("GET", f"/sessions/{kind}/{target}", auth=auth, query=query)

    run()


def test_participants(fuzzer):
    known_students = st.sampled_from(["student-0", "student-1", "student-2", "student-9"])
    bodies = weighted(
        (3, known_students.map(lambda s: {"studentId": s})),
        (1, st.just({"studentId": "x" * 128})),
        (2, one_field_replaced({"studentId": "student-9"})),
        (1, texts.map(lambda s: {"studentId": s})),
        (1, json_values),
    )

    @FUZZ
    @given(
        kind=st.sampled_from(["add", "remove"]),
        target=targets,
        body=bodies,
        student=weighted((3, known_students), (1, path_segments)),
        status=statuses,
        participants=st.integers(0, 3),
        capacity=st.integers(1, 3),
        removed=sparse_fields,
    )
    def run(kind, target, body, student, status, participants, capacity, removed):
        fuzzer.reset(
            removed,
            status=status,
            participants=[f"student-{i}" for i in range(participants)],
            maxParticipants=max(participants, capacity),
        )
        if kind == "add":
            fuzzer.send("POST", f"/sessions/{target}/participants", body)
        else:
            fuzzer.send("DELETE", f"/sessions/{target}/participants/{student}")

    run()


def test_status(fuzzer):
    bodies = weighted(
        (2, statuses.map(lambda s: {"status": s})),
        (1, one_field_replaced({"status": "live"})),
        (1, json_values),
    )

    @FUZZ
    @given(target=targets, body=bodies, status=statuses, removed=sparse_fields)
    def run(target, body, status, removed):
        fuzzer.reset(removed, status=status)
        before = fuzzer.db.livesessions.find_one({"_id": SEEDED_ID})
        response = fuzzer.send("PATCH", f"/sessions/{target}/status", body)
        if response.status_code >= 400:
            assert fuzzer.db.livesessions.find_one({"_id": SEEDED_ID}) == before

    run()


def test_recording_start_and_stop(fuzzer):
    # Stop takes the id start returned or Daily's own (learnt from its webhook).
    known = {
        "start": st.just({"roomName": SEEDED_ROOM}),
        "stop": st.sampled_from(
            [{"recordingId": SEEDED_RECORDING}, {"recordingId": SEEDED_DAILY_RECORDING}]
        ),
    }
    replaced = {
        "start": one_field_replaced({"roomName": SEEDED_ROOM}),
        "stop": one_field_replaced({"recordingId": SEEDED_RECORDING}),
    }

    @FUZZ
    @given(
        kind=st.sampled_from(["start", "stop"]),
        shape=st.sampled_from(["known", "known", "replaced", "any"]),
        data=st.data(),
        status=statuses,
        removed=sparse_fields,
    )
    def run(kind, shape, data, status, removed):
        fuzzer.reset(removed, status=status)
        strategy = {"known": known[kind], "replaced": replaced[kind], "any": json_values}[shape]
        fuzzer.send("POST", f"/sessions/recording/{kind}", data.draw(strategy, label="body"))

    run()


def test_recordings_list_and_delete(fuzzer):
    """The seeded recording in each state of its start and of its upload job (none that
    would need Cloudinary: this app has none), any id, any caller."""
    recordings = weighted(
        (2, st.sampled_from([SEEDED_RECORDING, SEEDED_DAILY_RECORDING])), (1, path_segments)
    )

    @FUZZ
    @given(
        delete=st.booleans(),
        target=targets,
        recording=recordings,
        auth=auth_kinds,
        started=st.sampled_from(["starting", "recording", "finished", "error"]),
        job=st.sampled_from([None, "pending", "processing", "failed"]),
        removed=sparse_fields,
    )
    def run(delete, target, recording, auth, started, job, removed):
        doc = fuzzer.reset(removed)
        fuzzer.db.recordings.update_one({"_id": SEEDED_RECORDING}, {"$set": {"status": started}})
        if job is not None:
            seed_job(fuzzer.db, doc, job)
        path = f"/sessions/{target}/recordings"
        if delete:
            fuzzer.send("DELETE", f"{path}/{recording}", auth=auth)
        else:
            listed = fuzzer.send("GET", path, auth=auth)
            if listed.status_code == 200:
                assert [r["id"] for r in listed.get_json()] == [SEEDED_RECORDING]

    run()


def seed_job(db, session, status):
    """The seeded recording's upload job, in `status`, as the webhook and worker leave it."""
    now = session["createdAt"]
    db.recording_jobs.insert_one(
        {
            "_id": SEEDED_DAILY_RECORDING,
            "session": session["_id"],
            "room": session["roomName"],
            "duration": 60,
            "recordingNumber": 1,
            "status": status,
            "error": "DailyError: gone" if status == "failed" else None,
            "result": None,
            "createdAt": now,
            "updatedAt": now,
        }
    )


def test_webhook(fuzzer):
    event_types = weighted(
        (
            3,
            st.sampled_from(
                [
                    "recording.started",
                    "recording.stopped",
                    "recording.ready-to-download",
                    "recording.error",
                    "room.exp",
                    "meeting.started",
                    "meeting.ended",
                    "participant.joined",
                    "participant.left",
                ]
            ),
        ),
        (1, json_values),
    )
    payload_keys = st.sampled_from(
        [
            "room",
            "room_name",
            "recording_id",
            "instance_id",
            "duration",
            "error",
            "error_msg",
            "download_url",
            "s3_key",
            "start_ts",
            "end_ts",
            "status",
            "session_id",
            "joined_at",
            "user_id",
            "user_name",
            "owner",
        ]
    )
    payload_values = weighted(
        (
            2,
            st.sampled_from(
                [
                    SEEDED_ROOM,
                    SEEDED_RECORDING,
                    SEEDED_DAILY_RECORDING,
                    "https://example.test/x.mp4",
                    12,
                    1_800_000_000,
                    "visit-1",
                ]
            ),
        ),
        (1, json_values),
    )

    @FUZZ
    @given(
        shape=st.sampled_from(["envelope", "envelope", "flat", "flat", "any"]),
        etype=event_types,
        fields=st.dictionaries(weighted((3, payload_keys), (1, keys)), payload_values, max_size=6),
        anything=json_values,
        status=statuses,
        removed=sparse_fields,
    )
    def run(shape, etype, fields, anything, status, removed):
        fuzzer.reset(removed, status=status)
        body = {
            "envelope": {"version": "1.0.0", "type": etype, "id": "evt-1", "payload": fields},
            "flat": {**fields, "type": etype},
            "any": anything,
        }[shape]
        fuzzer.send("POST", "/sessions/webhook/daily", body)
        # What the webhook did must still be consistent (checked by send) and visible.
        fuzzer.send("GET", f"/sessions/{SEEDED_ID}", auth="owner")
        fuzzer.send("GET", f"/sessions/{SEEDED_ID}/attendance", auth="owner")

    run()


BODY_ENDPOINTS = [
    ("POST", "/sessions", "owner"),
    ("PUT", "/sessions/{id}", "owner"),
    ("POST", "/sessions/{id}/participants", "none"),
    ("PATCH", "/sessions/{id}/status", "none"),
    ("POST", "/sessions/recording/start", "none"),
    ("POST", "/sessions/recording/stop", "none"),
    ("POST", "/sessions/webhook/daily", "none"),
]


def valid_bodies():
    """A valid body of each endpoint, dates from when the test runs."""
    return {
        "/sessions": session_payload(),
        "/sessions/{id}": {"title": "New title"},
        "/sessions/{id}/participants": {"studentId": "student-9"},
        "/sessions/{id}/status": {"status": "live"},
        "/sessions/recording/start": {"roomName": SEEDED_ROOM},
        "/sessions/recording/stop": {"recordingId": SEEDED_RECORDING},
        "/sessions/webhook/daily": {"type": "room.exp", "room": SEEDED_ROOM},
    }


def raw_json_with(body, key, raw_value):
    """`body` as JSON text with the value of `key` replaced by a raw JSON fragment."""
    return json.dumps({**body, key: "\x00RAW\x00"}).replace('"\\u0000RAW\\u0000"', raw_value)


def test_raw_bodies_and_content_types(fuzzer):
    valid = valid_bodies()
    raw_bodies = st.one_of(
        st.binary(max_size=300),
        st.text(any_char, max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.sampled_from(
            [
                b"",
                b" \n",
                b"{",
                b"[]",
                b"null",
                b'"text"',
                b"\xef\xbb\xbf{}",
                b'{"a": "\xff\xfe"}',
                b'{"a": "\xed\xa0\x80"}',
                '{"title": "x"}'.encode("utf-16-le"),
                b"title=abc&duration=60",
            ]
        ),
    )

    @FUZZ
    @given(
        data=st.data(),
        endpoint=st.sampled_from(BODY_ENDPOINTS),
        content_type=st.sampled_from(CONTENT_TYPES),
        shape=st.sampled_from(["raw value", "raw value", "bytes"]),
    )
    def run(data, endpoint, content_type, shape):
        fuzzer.reset()
        method, path, auth = endpoint
        if shape == "bytes":
            raw = data.draw(raw_bodies, label="raw")
        else:
            body = valid[path]
            key = data.draw(st.sampled_from(list(body)), label="key")
            fragment = data.draw(st.sampled_from(RAW_JSON_VALUES), label="fragment")
            raw = raw_json_with(body, key, fragment)
        url = path.replace("{id}", SEEDED_ID)
        fuzzer.send(method, url, raw=raw, auth=auth, content_type=content_type)

    run()


ALL_ENDPOINTS = [
    ("POST", "/sessions"),
    ("GET", "/sessions"),
    ("GET", "/sessions/{id}"),
    ("GET", "/sessions/course/{x}"),
    ("GET", "/sessions/instructor/{x}"),
    ("PUT", "/sessions/{id}"),
    ("DELETE", "/sessions/{id}"),
    ("POST", "/sessions/{id}/participants"),
    ("DELETE", "/sessions/{id}/participants/{x}"),
    ("PATCH", "/sessions/{id}/status"),
    ("POST", "/sessions/recording/start"),
    ("POST", "/sessions/recording/stop"),
    ("POST", "/sessions/webhook/daily"),
]


def test_paths_and_methods(fuzzer):
    """Every endpoint's URL with its ids replaced, segments added, slashes doubled; any method."""
    edits = st.sampled_from(["ids", "ids", "suffix", "double slash", "prefix", "trailing slash"])

    @FUZZ
    @given(
        endpoint=st.sampled_from(ALL_ENDPOINTS),
        method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "same"]),
        edit=edits,
        segments=st.lists(path_segments, min_size=3, max_size=3),
        query=query_strings,
        body=st.none() | json_values,
    )
    def run(endpoint, method, edit, segments, query, body):
        fuzzer.reset()
        path = endpoint[1].replace("{id}", SEEDED_ID).replace("{x}", "student-1")
        if edit == "ids":
            path = endpoint[1].replace("{id}", segments[0]).replace("{x}", segments[1])
        elif edit == "suffix":
            path = f"{path}/{segments[2]}"
        elif edit == "double slash":
            slashes = [i for i, char in enumerate(path) if char == "/"]
            cut = slashes[len(segments[2]) % len(slashes)]
            path = path[:cut] + "/" + path[cut:]
        elif edit == "prefix":
            path = f"/{segments[2]}{path}"
        else:
            path += "/"
        method = endpoint[0] if method == "same" else method
        # HEAD has no body: only the status, and a plain client (not tests/support's
        # OpenAPIValidatingClient).
        if method == "HEAD":
            TALLY[fuzzer.name, "requests"] += 1
            plain = FlaskClient(fuzzer.client.application)
            status = plain.open(path, method="HEAD", query_string=query).status_code
            TALLY[fuzzer.name, status] += 1
            assert status < 500, (path, query)
            return
        fuzzer.send(method, path, body, auth="owner", query=query)

    run()
