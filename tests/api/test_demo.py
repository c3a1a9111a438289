"""`python -m devtools.demo`: demo courses, users and sessions, added once."""

from devtools.demo import ALICE, BOB, JANE, JOHN, JS, seed_demo_command


def test_seed_demo_adds_a_browsable_platform(app, client, daily, db, token_for):
    result = app.test_cli_runner().invoke(seed_demo_command)
    assert result.exit_code == 0, result.output
    assert "demo data: 3 courses, 5 users, 6 new sessions" in result.output
    assert db.courses.count_documents({}) == 3
    assert db.users.find_one({"_id": JOHN})["name"] == "John Doe"
    assert len(daily.rooms) == 6  # every session has its Daily room

    page = client.get("/sessions?pageCount=100", headers={"Authorization": f"Bearer {token_for()}"})
    sessions = page.get_json()["sessions"]
    assert len(sessions) == 6
    assert {s["status"] for s in sessions} == {"scheduled", "live", "cancelled"}
    first = next(s for s in sessions if s["title"] == "Week 1: JavaScript Basics")
    assert first["course"] == {"_id": JS, "title": "JavaScript Fundamentals"}
    assert first["instructor"] == {"_id": JOHN, "name": "John Doe"}
    assert first["participants"] == [ALICE, BOB]
    full = next(s for s in sessions if s["title"] == "pandas for Beginners")
    joined = client.post(f"/sessions/{full['_id']}/participants", json={"studentId": "carol"})
    assert joined.get_json() == {"message": "Session has reached maximum participants"}
    assert [s["instructor"] for s in client.get(f"/sessions/instructor/{JANE}").get_json()] == [
        JANE
    ] * 3


def test_seed_demo_twice_adds_the_sessions_once(app, daily, db):
    runner = app.test_cli_runner()
    runner.invoke(seed_demo_command)
    again = runner.invoke(seed_demo_command)
    assert "0 new sessions" in again.output
    assert db.livesessions.count_documents({}) == 6
    assert db.users.count_documents({}) == 5


def test_seed_demo_is_refused_in_production(production_app, daily):
    result = production_app.test_cli_runner().invoke(seed_demo_command)
    assert result.exit_code != 0
    assert "refusing" in result.output
