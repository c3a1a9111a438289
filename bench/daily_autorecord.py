"""bench/daily.py's auto-record scenario: classes recorded with no start call.

With DAILY_AUTO_RECORD=owner, the owner's self-signed meeting token carries Daily's
start-cloud-recording claim (`sr`), so Daily (here the sandbox) starts a recording when
that token joins the call, and its signed webhooks tell the service. `--auto-records`
classes, each with its own instructor, are seeded; then the instructors, released together,
each ask for their join token and join their room's call with it (as the browser would:
the sandbox's join, in process). The sandbox runs joins one at a time, each sending its
webhooks (meeting.started, participant.joined, recording.started) and waiting for the
service's answers: "joined the call" times that queue, not Daily. BENCHMARK ONLY."""

import time
from pathlib import Path

import jwt

from bench.daily_scenarios import released, seed
from bench.daily_service import WEBHOOK_SECRET, Counters, bearer, call, limits, quantiles, statuses
from bench.expect import WrongAnswer, expect_all

SETTING = "DAILY_AUTO_RECORD"
ADOPTION_WAIT = 30.0  # seconds for every session to show its recording (webhooks are sync)


def available(source):
    """Whether the service's code (the tree at `source`) has the setting at all."""
    return SETTING in (Path(source) / "livesessions" / "config.py").read_text()


def owner(n):
    return bearer(f"owner-{n}", "instructor", f"Owner {n}")


def _teach(service, sandbox, doc, n):
    """The owner's join token, then the owner's join with it: (token answer, join answer),
    each (ms, status, body); the join is 'not tried' without a token carrying `sr`."""
    answer = call("POST", f"{service.base}/sessions/{doc['_id']}/join", owner(n))
    token = (answer[2] or {}).get("token") if answer[1] == 200 else None
    if not token:
        return answer, (0.0, "not tried", None)
    if not jwt.decode(token, options={"verify_signature": False}).get("sr"):
        return (answer[0], "200 without sr", None), (0.0, "not tried", None)
    started = time.perf_counter()
    status, body = sandbox.join(doc["roomName"], {"token": token})
    return answer, ((time.perf_counter() - started) * 1000, status, body)


def _recording_status(service, docs):
    """Each session's GET answer, polled until every one says `recording` (or the wait ends):
    [(ms, status, body)], the last answer of each."""
    answers, waiting = {}, list(range(len(docs)))
    deadline = time.perf_counter() + ADOPTION_WAIT
    while True:
        for n in waiting:
            answers[n] = call("GET", f"{service.base}/sessions/{docs[n]['_id']}", owner(n))
        waiting = [n for n in waiting if _status(answers[n]) != "recording"]
        if not waiting or time.perf_counter() > deadline:
            break
        time.sleep(0.5)
    return [answers[n] for n in range(len(docs))]


def _status(answer):
    """A session's `recordingStatus` in a GET answer (None if there is none)."""
    return answer[2].get("recordingStatus") if isinstance(answer[2], dict) else None


def auto_record(service, sandbox, args):
    docs = seed(service, sandbox, args.auto_records, "auto-record", owner)
    rooms = {doc["roomName"] for doc in docs}
    sandbox.webhook_url = f"{service.base}/sessions/webhook/daily"
    sandbox.webhook_secret = WEBHOOK_SECRET
    limits(sandbox, True)
    counters = Counters(sandbox)
    with sandbox.lock:
        start_calls, delivered = sandbox.recording_start_calls, len(sandbox.webhook_deliveries)
    start, ends = released(len(docs), lambda n: _teach(service, sandbox, docs[n], n))
    wall = time.perf_counter() - start
    tokens, joins = [token for _, (token, _) in ends], [joined for _, (_, joined) in ends]
    with sandbox.lock:
        started = [r for r in sandbox.recordings.values() if r["room_name"] in rooms]
        start_calls = sandbox.recording_start_calls - start_calls
        deliveries = sandbox.webhook_deliveries[delivered:]
    print(f"auto-record: {len(docs)} instructors released together: join token, then join")
    print(f"  join token {quantiles([ms for ms, status, _ in tokens if status == 200])}")
    print(f"    ({statuses(tokens)})")
    print(f"  joined the call {quantiles([ms for ms, status, _ in joins if status == 200])}")
    print(f"    ({statuses(joins)}); wall {wall:.1f} s")
    print(f"  recordings the sandbox started: {len(started)}/{len(docs)}")
    print(f"  recording-start API calls: {start_calls}")
    answered = statuses([(0, f"{d['type']} {d['status']}") for d in deliveries])
    print(f"  webhooks the service answered: {answered}")
    sessions = _recording_status(service, docs)
    recording = sum(_status(answer) == "recording" for answer in sessions)
    print(f"  sessions showing recordingStatus 'recording': {recording}/{len(docs)}")
    print(f"  {counters.report()}")
    _verdict(docs, tokens, joins, started, start_calls, deliveries, sessions)


def _verdict(docs, tokens, joins, started, start_calls, deliveries, sessions):
    expect_all(tokens, {200: None}, "auto-record: POST .../join (the owner's token, with sr)")
    expect_all(joins, {200: None}, "auto-record: the owner's join of the call")
    expect_all([(0, d["status"], None) for d in deliveries], {200: None}, "auto-record: webhooks")
    expect_all(sessions, {200: None}, "auto-record: GET /sessions/<id>")
    not_recording = sum(_status(answer) != "recording" for answer in sessions)
    if not_recording:
        raise WrongAnswer(f"auto-record: {not_recording} sessions not shown as recording")
    if len(started) != len(docs) or start_calls:
        raise WrongAnswer(
            f"auto-record: {len(started)} of {len(docs)} recordings started, "
            f"with {start_calls} recording-start calls (expected all, and 0)"
        )
