"""SecantusDB's known deviations from MongoDB, each pinned by a minimal repro that asserts
the deviation: when the server is fixed, its repro fails, and the project tests marked
`secantus_deviation` with its name (expected failures there, strict) must then pass.

Run only on the SecantusDB of `make test`'s second run (TEST_MONGODB=secantus).
"""

import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pymongo
import pytest
from bson import SON, Int64

from tests.support.secantus import ON_SECANTUS

pytestmark = pytest.mark.skipif(not ON_SECANTUS, reason="repros of SecantusDB deviations")


@pytest.fixture
def collection():
    client = pymongo.MongoClient(os.environ["TEST_MONGODB_URI"], tz_aware=True)
    name = f"deviation_{uuid.uuid4().hex[:8]}"
    yield client[name]["c"]
    client.drop_database(name)
    client.close()


def test_range_on_a_middle_field_of_a_compound_index_drops_the_boundary(collection):
    """`{a: null, t: {$lte: X}}` with the index a+t+_id misses the document whose t == X
    (found without the index, and on MongoDB). SessionStore's `scheduledTo` filter meets it."""
    x = datetime(2099, 1, 1, tzinfo=UTC)
    collection.insert_many(
        [
            {"_id": n, "a": None, "t": x + timedelta(hours=offset)}
            for n, offset in enumerate((-1, 0))
        ]
    )
    query = {"a": None, "t": {"$lte": x}}
    assert sorted(d["_id"] for d in collection.find(query)) == [0, 1]  # no index: both
    collection.create_index([("a", 1), ("t", 1), ("_id", 1)])
    assert sorted(d["_id"] for d in collection.find(query)) == [0]  # MongoDB: [0, 1]


def test_explain_reports_a_collection_scan_for_an_id_lookup_with_more_predicates(collection):
    """Its plans are not MongoDB's (which uses IDHACK or the _id index here): the project's
    explain-plan checks run only against a real MongoDB (BENCH_MONGODB_URI)."""
    collection.insert_one({"_id": "a", "status": "scheduled"})
    plan = collection.find({"_id": "a", "status": "scheduled"}).explain()
    assert "COLLSCAN" in str(plan["queryPlanner"]["winningPlan"])


def _received(client, count):
    """Wait until the server has taken `count` findAndModify commands from `client`'s
    connections (SecantusDB's currentOp lists each connection's command and its client's
    appname, not MongoDB's ns)."""
    app = client.options.pool_options.metadata["application"]["name"]
    for _ in range(1200):  # polls, not a verdict on speed: both attempts wait on a holder
        ops = client.admin.command("currentOp")["inprog"]
        taken = [
            op
            for op in ops
            if op.get("op") == "findAndModify"
            and op.get("clientMetadata", {}).get("application", {}).get("name") == app
        ]
        if len(taken) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the server never took {count} findAndModify together")


def test_a_retried_write_overlapping_its_first_attempt_runs_twice(collection):
    """A driver retries a write whose reply is late (pymongo after `socketTimeoutMS`) with the
    same lsid and txnNumber. MongoDB runs one command of a session at a time, so the retry
    waits for the first attempt and answers with its result; SecantusDB replays a result
    only once the first attempt has finished, so a retry arriving while it runs executes
    again: a findAndModify on `{deletedAt: null}` answers null to one of the two. Met by
    SessionStore.soft_delete when the server was slower than the test's 2 s socket timeout:
    a DELETE that had deleted its session answered 404, its room left, no job queued."""
    client = pymongo.MongoClient(
        os.environ["TEST_MONGODB_URI"], appname=f"retry-{uuid.uuid4().hex[:8]}"
    )
    own = client[collection.database.name][collection.name]
    own.insert_one({"_id": 1, "deletedAt": None})
    holder = client.start_session()  # another writer holds the document meanwhile
    holder.start_transaction()
    own.update_one({"_id": 1}, {"$set": {"other": 1}}, session=holder)
    session = client.start_session()
    command = SON(
        [
            ("findAndModify", own.name),
            ("query", {"_id": 1, "deletedAt": None}),
            ("update", {"$set": {"deletedAt": 1}}),
            ("txnNumber", Int64(1)),  # both attempts: one retryable write
        ]
    )
    replies = [None, None]

    def attempt(n):
        replies[n] = own.database.command(command, session=session)["value"]

    attempts = [threading.Thread(target=attempt, args=(n,)) for n in (0, 1)]
    try:
        attempts[0].start()
        _received(client, 1)  # the first attempt runs, waiting for the holder
        attempts[1].start()
        _received(client, 2)  # its retry arrives meanwhile
    finally:
        holder.commit_transaction()
        for thread in attempts:
            thread.join(timeout=60)
        client.close()
    assert collection.find_one({"_id": 1}) == {"_id": 1, "deletedAt": 1, "other": 1}
    # MongoDB: both answer the document as it was (the retry replays the first's result)
    assert sorted(replies, key=bool) == [None, {"_id": 1, "deletedAt": None}]
