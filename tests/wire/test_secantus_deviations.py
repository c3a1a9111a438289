"""SecantusDB's known deviations from MongoDB, each pinned by a minimal repro that asserts
the deviation: when the server is fixed, its repro fails, and the project tests marked
`secantus_deviation` with its name (expected failures there, strict) must then pass.

Run only on the SecantusDB of `make test`'s second run (TEST_MONGODB=secantus).
"""

import os
import uuid
from datetime import UTC, datetime, timedelta

import pymongo
import pytest

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
