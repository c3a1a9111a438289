"""docs/operations.md's table of collections and indexes is the code's, whole."""

import re
from pathlib import Path

from livesessions import indexes
from livesessions import service_state as state

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
ROW = re.compile(r"^\| `(?P<collection>[A-Za-z_]+)` \|.*\| (?P<indexes>[^|]*) \|$")


def documented() -> dict[str, str]:
    """Each collection in the table, with its indexes cell."""
    text = OPERATIONS.read_text()
    table = text[text.index("| collection | what it holds | indexes |") :].split("\n\n")[0]
    rows = (ROW.match(line) for line in table.splitlines())
    return {row["collection"]: row["indexes"] for row in rows if row}


def index_words(keys, options) -> str:
    """An index as the table writes it: `a+b`, then unique / sparse / TTL."""
    words = "`" + "+".join(field for field, _ in keys) + "`"
    for option, word in (("unique", "unique"), ("sparse", "sparse")):
        if options.get(option):
            words += f" {word}"
    if "expireAfterSeconds" in options:
        words += " TTL"
    return words


def test_every_collection_and_index_is_in_the_table():
    table = documented()
    kept = {module.COLLECTION: module.INDEXES for module in indexes.MODULES}
    kept[state.COLLECTION] = []
    assert set(table) == set(kept)
    for collection, wanted in kept.items():
        cell = table[collection]
        for keys, options in wanted:
            assert index_words(keys, options) in cell, (collection, keys)
        shown = re.findall(r"`([A-Za-z_+]+)`", cell)
        assert len(shown) == len(wanted), (collection, shown)
