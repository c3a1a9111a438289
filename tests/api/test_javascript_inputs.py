"""Inputs the spec does not print, answered as the Node service (Express 4, Joi 17, V8) did.

Each table holds (input, Joi's answer). The answers were taken from Joi 17.13.3, qs and
Node 20 running schemas rebuilt from the spec (docs/testing.md, "Joi differential"), so no
Node is needed here. Unicode digits and spaces in numbers are in test_numeric_strings.py,
lone surrogates in test_validation.py.
"""

import json

import pytest

from tests.support.factories import seed_session, session_payload

EMOJI = "\U0001f600"  # two UTF-16 code units, as JavaScript's `length` counts it


def post_raw(client, auth, field, raw):
    """POST /sessions with `field` written into the JSON as `raw` (1e400 is no Python value)."""
    body = json.dumps(session_payload(**{field: "@"})).replace('"@"', raw)
    return client.post("/sessions", data=body, content_type="application/json", headers=auth)


def refused(response, message):
    return (response.status_code, response.get_json()) == (400, {"message": message})


# -- 2. non-finite and unsafe numbers ------------------------------------------------------

NUMBERS = [
    # raw JSON text of `duration`, then what Joi made of it: a number or a message
    ("1e400", '"duration" cannot be infinity'),
    ("-1e400", '"duration" cannot be infinity'),
    ("1" + "0" * 400, '"duration" cannot be infinity'),  # JSON.parse reads it as Infinity
    ("12345678901234567890", '"duration" must be a safe number'),
    ("9007199254740992", '"duration" must be a safe number'),
    ("60.0", 60),
    ("6e1", 60),
    ('"1e400"', '"duration" must be a safe number'),
    ('"-1e400"', '"duration" must be a safe number'),
    ('"60.00000000000000001"', '"duration" must be a safe number'),
    ('"9007199254740993"', '"duration" must be a safe number'),
    ('"1e21"', '"duration" must be a safe number'),
    ('"1e-400"', '"duration" must be a safe number'),
    ('"-0"', '"duration" must be greater than or equal to 15'),
    ('"6.0e1"', 60),
    ('"0.6e2"', 60),
    ('"600e-1"', 60),
    ('"60.000"', 60),
    ('"+60"', 60),
    ('"6e+1"', 60),
    ('".6e2"', 60),
    ('"60."', 60),
    ('"0060"', 60),
]


@pytest.mark.parametrize(("raw", "answer"), NUMBERS)
def test_numbers_as_joi_converted_them(client, auth, daily, db, raw, answer):
    response = post_raw(client, auth, "duration", raw)
    if isinstance(answer, str):
        assert refused(response, answer)
        assert db.livesessions.count_documents({}) == 0
    else:
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["duration"] == answer
        assert db.livesessions.find_one()["duration"] == answer


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=1e400", '"page" must be a safe number'),
        ("page=9007199254740993", '"page" must be a safe number'),
        ("page=%EF%BC%96", '"page" must be a number'),  # a fullwidth 6
    ],
)
def test_query_numbers_as_joi_converted_them(client, auth, query, message):
    assert refused(client.get(f"/sessions?{query}", headers=auth), message)


def test_a_byte_order_mark_pads_a_query_number(client, auth):
    response = client.get("/sessions?pageCount=%EF%BB%BF10", headers=auth)
    assert response.status_code == 200
    assert response.get_json()["pageCount"] == 10


# -- 3. string lengths in UTF-16 code units ------------------------------------------------

LENGTHS = [
    # body field, value, Joi's message (None: accepted)
    ("title", "a" + EMOJI, None),  # 3 code units
    ("title", EMOJI, '"title" length must be at least 3 characters long'),
    ("title", EMOJI * 100, None),
    (
        "title",
        EMOJI * 100 + "a",
        '"title" length must be less than or equal to 200 characters long',
    ),
    ("description", EMOJI * 500, None),
    (
        "description",
        EMOJI * 500 + "a",
        '"description" length must be less than or equal to 1000 characters long',
    ),
]


@pytest.mark.parametrize(("field", "value", "message"), LENGTHS, ids=lambda v: ascii(v)[:40])
def test_lengths_are_counted_in_utf16_units(client, auth, daily, db, field, value, message):
    response = client.post("/sessions", json=session_payload(**{field: value}), headers=auth)
    if message:
        assert refused(response, message)
        assert db.livesessions.count_documents({}) == 0
    else:
        assert response.status_code == 201, response.get_json()
        assert response.get_json()[field] == value
        assert db.livesessions.find_one()[field] == value


def test_a_title_update_counts_utf16_units(client, auth, daily, db):
    doc = seed_session(db)
    response = client.put(f"/sessions/{doc['_id']}", json={"title": EMOJI}, headers=auth)
    assert refused(response, '"title" length must be at least 3 characters long')
    assert db.livesessions.find_one({"_id": doc["_id"]}) == doc


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("search=" + "%F0%9F%98%80" * 100, None),
        (
            "search=" + "%F0%9F%98%80" * 100 + "a",
            '"search" length must be less than or equal to 200 characters long',
        ),
        (
            "courseId=" + "%F0%9F%98%80" * 64 + "a",
            '"courseId" length must be less than or equal to 128 characters long',
        ),
    ],
    ids=["search-200", "search-201", "courseId-129"],
)
def test_list_lengths_are_counted_in_utf16_units(client, auth, query, message):
    response = client.get(f"/sessions?{query}", headers=auth)
    if message:
        assert refused(response, message)
    else:
        assert (response.status_code, response.get_json()["sessions"]) == (200, [])


def test_a_student_id_of_128_units_is_admitted_and_129_refused(client, auth, db):
    doc = seed_session(db)
    url = f"/sessions/{doc['_id']}/participants"
    response = client.post(url, json={"studentId": EMOJI * 64 + "a"}, headers=auth)
    assert refused(response, '"studentId" length must be less than or equal to 128 characters long')
    response = client.post(url, json={"studentId": EMOJI * 64}, headers=auth)
    assert response.status_code == 200, response.get_json()
    assert db.livesessions.find_one({"_id": doc["_id"]})["participants"] == [EMOJI * 64]


@pytest.mark.parametrize(
    ("path", "key"), [("start", "roomName"), ("stop", "recordingId")], ids=["start", "stop"]
)
def test_recording_ids_are_counted_in_utf16_units(client, auth, daily, path, key):
    response = client.post(
        f"/sessions/recording/{path}", json={key: EMOJI * 64 + "a"}, headers=auth
    )
    assert refused(response, f'"{key}" length must be less than or equal to 128 characters long')
    assert daily.calls() == []


# -- 4. ISO dates as Joi's iso() accepted them and V8 read them -------------------------------

DATES = [
    # scheduledAt as sent, then the date Joi read (stored, echoed) or its message
    ("2099", "2099-01-01T00:00:00.000Z"),
    ("2099-01", "2099-01-01T00:00:00.000Z"),
    ("2099-001", "2099-01-01T00:00:00.000Z"),
    ("2099-012", "2099-12-01T00:00:00.000Z"),  # V8's legacy reader: year and month
    ("2099-01-01 10:00", "2099-01-01T10:00:00.000Z"),
    ("2099-01-01\u300010:00", "2099-01-01T10:00:00.000Z"),
    ("2099-01-01\ufeff10:00Z", "2099-01-01T10:00:00.000Z"),
    ("2099-01-01T24:00", "2099-01-02T00:00:00.000Z"),
    ("+002099-01-01", "2099-01-01T00:00:00.000Z"),
    ("2099-02-30", "2099-03-02T00:00:00.000Z"),
    ("2099-02-29", "2099-03-01T00:00:00.000Z"),
    ("2099-04-31", "2099-05-01T00:00:00.000Z"),
    ("2099-01-01T10:00+0530", "2099-01-01T04:30:00.000Z"),
    ("2099-01-01 10:00+05", "2099-01-01T05:00:00.000Z"),
    ("2099-01-01T10:00:00.123456Z", "2099-01-01T10:00:00.123Z"),
    ("2099-01-01T10:00:00.5", "2099-01-01T10:00:00.500Z"),  # local time, read as UTC
    ("2099-12-31T23:59:59.999-00:01", "2100-01-01T00:00:59.999Z"),
    ("2099-01-01T10:00+05:60", '"scheduledAt" must be in ISO 8601 date format'),
    ("2099-01-01T10:00+05", '"scheduledAt" must be in ISO 8601 date format'),
    ("2099-W01", '"scheduledAt" must be in ISO 8601 date format'),
    ("20990101", '"scheduledAt" must be in ISO 8601 date format'),
    ("2099-01-01T10:00:00,5Z", '"scheduledAt" must be in ISO 8601 date format'),
    ("2099-01-01T10", '"scheduledAt" must be in ISO 8601 date format'),
    ("2099-01-01T24:00:00", '"scheduledAt" must be in ISO 8601 date format'),
    ("2099-01-01\u202810:00", '"scheduledAt" must be in ISO 8601 date format'),
    ("2099-01-01 10:00 Z", '"scheduledAt" must be in ISO 8601 date format'),
    ("0000-01-01", '"scheduledAt" must be greater than or equal to now'),
    ("-000001-01-01", '"scheduledAt" must be greater than or equal to now'),
    ("0010-01 10:00", '"scheduledAt" must be greater than or equal to now'),  # 2001-10-01
    ("+010000-01-01", '"scheduledAt" must be less than or equal to "9999-01-01T00:00:00.000Z"'),
]
RAW_DATES = [
    # scheduledAt as raw JSON: Joi read a number as its String()
    ("2099", "2099-01-01T00:00:00.000Z"),
    ("20990101", '"scheduledAt" must be a valid date'),
    ("2099.5", '"scheduledAt" must be a valid date'),
    ("1e400", '"scheduledAt" must be a valid date'),
    ("-2099", '"scheduledAt" must be a valid date'),
    ('["2099"]', '"scheduledAt" must be a valid date'),
]


@pytest.mark.parametrize(
    ("raw", "answer"),
    [(json.dumps(text), answer) for text, answer in DATES] + RAW_DATES,
    ids=ascii,
)
def test_dates_as_joi_and_v8_read_them(client, auth, daily, db, raw, answer):
    response = post_raw(client, auth, "scheduledAt", raw)
    if answer.startswith('"'):
        assert refused(response, answer)
        assert db.livesessions.count_documents({}) == 0
        return
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["scheduledAt"] == answer
    stored = db.livesessions.find_one()["scheduledAt"]
    assert stored.isoformat(timespec="milliseconds")[:23] + "Z" == answer


@pytest.mark.parametrize(
    ("query", "answer"),
    [
        # the seeded session is a week away: found, not found, or Joi's message
        ("from=2099&to=2099-001", False),  # the same instant: to >= from
        ("to=%2B275760-09-13", True),  # JavaScript's last day
        ("from=%2B275760-09-14", '"from" must be in ISO 8601 date format'),  # beyond it
        ("from=-000001-01-01&to=0000-01-01", False),
        ("from=0000-01-02&to=0000-01-01", '"to" must be greater than or equal to "ref:from"'),
    ],
)
def test_list_bounds_beyond_python_years(client, auth, db, query, answer):
    doc = seed_session(db)
    response = client.get(f"/sessions?{query}", headers=auth)
    if isinstance(answer, str):
        assert refused(response, answer)
        return
    assert response.status_code == 200, response.get_json()
    found = [session["_id"] for session in response.get_json()["sessions"]]
    assert found == ([doc["_id"]] if answer else [])


def test_a_bound_before_year_1_or_after_9999_finds_what_the_whole_range_finds(client, auth, db):
    doc = seed_session(db)
    everything = client.get("/sessions?from=-000001-01-01&to=%2B020000-01-01", headers=auth)
    assert [s["_id"] for s in everything.get_json()["sessions"]] == [doc["_id"]]
    nothing = client.get("/sessions?to=-000001-01-01", headers=auth)
    assert nothing.get_json()["sessions"] == []


# -- 5. key order of errors ----------------------------------------------------------------

KEYS = [
    # unknown keys added to a valid create body, then the key Joi named
    ({"zzz": 2, "0": 1}, '"0" is not allowed'),
    ({"b": 1, "10": 1, "2": 1}, '"2" is not allowed'),  # array indexes first, ascending
    ({"zzz": 1, "4294967294": 1}, '"4294967294" is not allowed'),
    ({"zzz": 1, "4294967295": 1}, '"zzz" is not allowed'),  # past the last array index
    ({"zzz": 1, "01": 1}, '"zzz" is not allowed'),  # not an index: written order
    ({"-1": 1, "zzz": 1}, '"-1" is not allowed'),
    ({"": 1}, '"value" is not allowed'),
    ({"zzz": 1, "": 1}, '"zzz" is not allowed'),
    ({"a.b": 1}, '"a.b" is not allowed'),
]


@pytest.mark.parametrize(("extra", "message"), KEYS, ids=ascii)
def test_unknown_keys_in_javascript_key_order(client, auth, daily, db, extra, message):
    response = client.post("/sessions", json=session_payload(**extra), headers=auth)
    assert refused(response, message)
    assert db.livesessions.count_documents({}) == 0


# -- 6. declared keys before unknown keys everywhere ------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"status": "", "foo": 1}, "Status is required"),
        (
            {"foo": 1, "status": "x"},
            "Invalid status value. Must be one of: scheduled, live, ended, cancelled",
        ),
        ({"status": "live", "foo": 1}, '"foo" is not allowed'),
    ],
)
def test_the_status_body_checks_its_status_before_unknown_keys(client, auth, db, body, message):
    doc = seed_session(db)
    response = client.patch(f"/sessions/{doc['_id']}/status", json=body, headers=auth)
    assert refused(response, message)
    assert db.livesessions.find_one({"_id": doc["_id"]}) == doc


def test_a_participant_body_checks_its_student_before_unknown_keys(client, auth, db):
    doc = seed_session(db)
    url = f"/sessions/{doc['_id']}/participants"
    response = client.post(url, json={"x": 1, "studentId": ""}, headers=auth)
    assert refused(response, "Student ID is required")
    assert db.livesessions.find_one({"_id": doc["_id"]}) == doc


def test_the_list_range_rule_comes_before_unknown_keys(client, auth):
    response = client.get("/sessions?from=2099-02-01&to=2099-01-01&foo=1", headers=auth)
    assert refused(response, '"to" must be greater than or equal to "ref:from"')


# -- 7 and 8. the list's query as Express 4's qs parsed it, allowed values before type ---------

ONE_OF = '"status" must be one of [scheduled, live, ended, cancelled]'
QUERIES = [
    ("status=", ONE_OF),
    ("status=a&status=b", ONE_OF),
    ("status[]=live", ONE_OF),
    ("status=live&status=live", ONE_OF),
    ("page[]=1", '"page" must be a number'),
    ("page[a]=1", '"page" must be a number'),
    ("page[0]=1", '"page" must be a number'),
    ("search[]=x", '"search" must be a string'),
    ("from[]=2099", '"from" must be a valid date'),
    ("a.b=1", '"a.b" is not allowed'),
    ("zzz=1&0=1", '"0" is not allowed'),
    ("__proto__=1", '"__proto__" is not allowed'),  # qs dropped it; refused on purpose
]


@pytest.mark.parametrize(("query", "message"), QUERIES)
def test_list_queries_as_express_parsed_them(client, auth, query, message):
    assert refused(client.get(f"/sessions?{query}", headers=auth), message)


def test_a_pair_without_a_name_is_dropped(client, auth, db):
    doc = seed_session(db)
    response = client.get("/sessions?=1&page=1", headers=auth)
    assert response.status_code == 200
    assert [s["_id"] for s in response.get_json()["sessions"]] == [doc["_id"]]


@pytest.mark.parametrize(
    ("query", "title"),
    [("search=%ff", "Sale at 100%ff"), ("search=a+b", "Plan a b c"), ("search=%2", "Up 5%2")],
)
def test_search_terms_are_decoded_as_qs_decoded_them(client, auth, db, query, title):
    """`+` is a space; an escape decodeURIComponent refuses is searched as written."""
    wanted = seed_session(db, title=title)
    seed_session(db, title="Something else")
    response = client.get(f"/sessions?{query}", headers=auth)
    assert [s["_id"] for s in response.get_json()["sessions"]] == [wanted["_id"]]


# -- kept stricter on purpose ---------------------------------------------------------------


def test_a_proto_key_in_a_body_is_refused(client, auth, daily, db):
    body = json.dumps(session_payload())[:-1] + ', "__proto__": {"isAdmin": true}}'
    response = client.post("/sessions", data=body, content_type="application/json", headers=auth)
    assert refused(response, '"__proto__" is not allowed')
    assert db.livesessions.count_documents({}) == 0
