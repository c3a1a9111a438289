"""Numbers sent as strings, converted as Joi 17 (`convert: true`) converted them in Node.

Joi's regex there is JavaScript's: `\\d` is an ASCII digit and `\\s` the whitespace that
`String.prototype.trim` strips. Python's `\\s` and `\\d` are wider (U+001C-U+001F, U+0085, every
script's digits) and `float()` wider still, so each case below is one where they differ.
"""

from urllib.parse import quote

import pytest

from tests.support.factories import seed_session, session_payload

# 60 with JavaScript whitespace around it: Joi reads 60.
JS_PADDED = [
    "\t60",
    "60\n",
    "\v60",
    "\f60",
    "60\r",
    " 60 ",
    "\u00a060",
    "\u168060",
    "\u200060",
    "\u200a60",
    "\u202860",
    "60\u2029",
    "\u202f60",
    "\u205f60",
    "\u300060",
    "\ufeff60",
    "\ufeff\u3000 60\n\t",
]
# What Python would read as 60 (or fail on) and JavaScript does not: `must be a number`.
NOT_NUMBERS = [
    "\x1c60",
    "\x1d60",
    "\x1e60",
    "60\x1f",
    "\x8560",
    "\u180e60",
    "\u200b60",
    "\x0060",
    "6\u00a00",
    "\u0666\u0660",  # Arabic-Indic 60
    "\uff16\uff10",  # fullwidth 60
    "\u09ec\u09e6",  # Bengali 60
    "6\u0660",
]


@pytest.fixture
def session(db):
    return seed_session(db)


@pytest.mark.parametrize("field", ["duration", "maxParticipants"])
@pytest.mark.parametrize("value", JS_PADDED, ids=ascii)
def test_create_reads_numbers_padded_with_javascript_whitespace(
    client, auth, daily, db, field, value
):
    response = client.post("/sessions", json=session_payload(**{field: value}), headers=auth)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()[field] == 60
    stored = db.livesessions.find_one({"_id": response.get_json()["_id"]})
    assert stored[field] == 60
    assert type(stored[field]) is int


@pytest.mark.parametrize("field", ["duration", "maxParticipants"])
@pytest.mark.parametrize("value", NOT_NUMBERS, ids=ascii)
def test_create_refuses_what_javascript_does_not_read_as_a_number(
    client, auth, daily, db, field, value
):
    response = client.post("/sessions", json=session_payload(**{field: value}), headers=auth)
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": f'"{field}" must be a number'},
    )
    assert db.livesessions.count_documents({}) == 0
    assert daily.calls() == []


@pytest.mark.parametrize("field", ["duration", "maxParticipants"])
@pytest.mark.parametrize("value", ["\u300060", "60\n"], ids=ascii)
def test_update_reads_numbers_padded_with_javascript_whitespace(
    client, auth, daily, db, session, field, value
):
    daily.rooms[session["roomName"]] = {"name": session["roomName"], "url": "u", "config": {}}
    response = client.put(f"/sessions/{session['_id']}", json={field: value}, headers=auth)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()[field] == 60
    assert db.livesessions.find_one({"_id": session["_id"]})[field] == 60


@pytest.mark.parametrize("field", ["duration", "maxParticipants"])
@pytest.mark.parametrize("value", NOT_NUMBERS, ids=ascii)
def test_update_refuses_what_javascript_does_not_read_as_a_number(
    client, auth, daily, db, session, field, value
):
    response = client.put(f"/sessions/{session['_id']}", json={field: value}, headers=auth)
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": f'"{field}" must be a number'},
    )
    assert db.livesessions.find_one({"_id": session["_id"]}) == session
    assert daily.calls() == []


@pytest.mark.parametrize("key", ["page", "pageCount"])
@pytest.mark.parametrize("value", JS_PADDED, ids=ascii)
def test_the_list_reads_numbers_padded_with_javascript_whitespace(client, auth, key, value):
    response = client.get(f"/sessions?{key}={quote(value)}", headers=auth)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()[key] == 60


@pytest.mark.parametrize("key", ["page", "pageCount"])
@pytest.mark.parametrize("value", NOT_NUMBERS, ids=ascii)
def test_the_list_refuses_what_javascript_does_not_read_as_a_number(client, auth, key, value):
    response = client.get(f"/sessions?{key}={quote(value)}", headers=auth)
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": f'"{key}" must be a number'},
    )
