"""Send the same random inputs to Joi/qs/V8 (oracle.js, in Node) and to the service's
validation layer, and count the answers that differ. `make joi-diff` runs it; see
docs/testing.md ("Joi differential").

usage: compare.py [--cases N] [--dates N] [--seed S] [--show K]

Two answers are the same when both refuse with the same message, or both accept with the same
values. Two differences are the service's documented choices and are not counted: a lone
surrogate is stored as U+FFFD (as Node stored it), and a date beyond datetime's years is its
first or last instant. `__proto__` keys (refused on purpose) are not generated.
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from livesessions import create_app, http, schemas  # noqa: E402
from livesessions.errors import ValidationFailed  # noqa: E402
from livesessions.validation import load  # noqa: E402
from livesessions.validation.dates import JOI_ISO_DATE, to_datetime  # noqa: E402
from livesessions.validation.v8date import parse_date  # noqa: E402

SCHEMAS = {
    "create": schemas.CreateSessionSchema(),
    "update": schemas.UpdateSessionSchema(),
    "list": schemas.ListQuerySchema(),
    "participant": schemas.ParticipantSchema(),
    "start": schemas.RecordingStartSchema(),
    "stop": schemas.RecordingStopSchema(),
    "status": schemas.StatusSchema(),
}
GUID = "00000000-0000-4000-8000-000000000000"
SPACES = list("\t\n\v\f\r \u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")
NOT_SPACES = ["\x1c", "\x85", "\u180e", "\u200b"]
DIGITS = [*"016", "\u0660", "\u0666", "\uff16", "\u09ec"]
CHARACTERS = ["\U0001f600", "\U00010348", "a", "\u00e9", "\ud800", "\udc00", "x"]
NUMBERS = "60 15 480 1000 1 0 -0 +60 60. .5 1e1 6e1 60.0 60.00000000000000001 1e400 1e-400"
NUMBERS += " 9007199254740993 1e21 0x10 0060 Infinity NaN 1E1"
RAW_NUMBERS = "60 1e400 -1e400 60.0 6e1 60.5 14 481 1e-400 9007199254740993 1" + "0" * 400
UNKNOWN_KEYS = ["zzz", "0", "1", "", "10", "01", "4294967294", "4294967295", "a.b", "-1"]
FIELDS = {
    "create": [
        ("title", 200),
        ("description", 1000),
        ("courseId", "guid"),
        ("instructorId", "guid"),
        ("scheduledAt", "date"),
        ("duration", "number"),
        ("maxParticipants", "number"),
    ],
    "participant": [("studentId", 128)],
    "start": [("roomName", 128)],
    "stop": [("recordingId", 128)],
    "status": [("status", "status")],
}
FIELDS["update"] = [
    field for field in FIELDS["create"] if field[0] not in ("courseId", "instructorId")
]
LIST = [("page", "number"), ("pageCount", "number"), ("search", 200), ("status", "status")]
LIST += [("courseId", 128), ("instructorId", 128), ("from", "date"), ("to", "date")]
VALID = {
    "title": '"Intro"',
    "courseId": f'"{GUID}"',
    "scheduledAt": '"2099-01-01"',
    "duration": "60",
}
SURROGATE = re.compile("[\ud800-\udfff]")
LONE_SURROGATE = re.compile(
    "[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]"
)


def digits(count):
    return "".join(random.choice("0123456789") for _ in range(count))


def iso_variant():
    """A string in or near Joi's ISO grammar: prefixes, weeks, ordinals, odd times and zones."""
    text = random.choice(["", "", "+", "-"])
    text += digits(2) if text else ""
    text += random.choice([digits(4), "2099", "1970", "0000", "9999", "2027"])
    if random.random() < 0.15:
        return text + random.choice(["", digits(random.randint(1, 6))])
    separator = random.choice(["-", "-", ""])
    kind = random.random()
    if kind < 0.6:
        text += separator + f"{random.randint(0, 13):02d}"
        text += separator + f"{random.randint(0, 32):02d}" if random.random() < 0.8 else ""
    elif kind < 0.75:
        text += separator + "W" + digits(2) + random.choice(["", "-" + digits(1), digits(1)])
    else:
        text += separator + f"{random.randint(0, 370):03d}"
    if random.random() < 0.2:
        return text
    colon = random.choice([":", ""])
    text += random.choice(["T", "T", "T", *SPACES]) + f"{random.randint(0, 25):02d}"
    for chance in (0.8, 0.6):
        if random.random() < chance:
            text += colon + f"{random.randint(0, 61):02d}"
        if random.random() < 0.3:
            text += random.choice(".,") + digits(random.randint(1, 12))
    zone = random.random()
    if zone < 0.3:
        text += "Z"
    elif zone < 0.7:
        text += random.choice("+-") + f"{random.randint(0, 25):02d}"
        text += random.choice(["", f":{random.randint(0, 61):02d}", f"{random.randint(0, 61):02d}"])
    return text + (random.choice(SPACES) if random.random() < 0.05 else "")


def numeric_string():
    if random.random() < 0.3:
        text = "".join(random.choice(DIGITS) for _ in range(random.randint(1, 3)))
    else:
        text = random.choice([*NUMBERS.split(), ""])
    if random.random() < 0.3:
        text = random.choice(SPACES + NOT_SPACES) + text
    return text + (random.choice(SPACES + NOT_SPACES) if random.random() < 0.3 else "")


def text_near(limit):
    """A string whose UTF-16 length is within 3 of `limit`."""
    target, text, units = limit + random.randint(-3, 3), [], 0
    while units < target:
        character = random.choice(CHARACTERS)
        text.append(character)
        units += 2 if character > "\uffff" else 1
    return "".join(text)


def json_value(kind):
    if random.random() < 0.08:
        return random.choice(["null", "true", "false", "[]", "{}", '["60"]', "[60]"])
    if kind == "number":
        if random.random() < 0.4:
            return random.choice(RAW_NUMBERS.split())
        return json.dumps(numeric_string())
    if kind == "date":
        if random.random() < 0.15:
            return random.choice(["2099", "20990101", "2099.5", "1e400", "-2099"])
        return json.dumps(iso_variant())
    if kind == "guid":
        return json.dumps(
            random.choice([GUID, GUID.upper(), "{" + GUID + "}", GUID + "\n", "x", ""])
        )
    if kind == "status":
        return json.dumps(random.choice(["scheduled", "live", "ended", "cancelled", "", "LIVE", 0]))
    value = random.choice([text_near(kind), text_near(3), "", "abc", "  "])
    # surrogates only as escapes: written raw they would be no UTF-8 at all
    return json.dumps(value, ensure_ascii=random.random() < 0.5 or SURROGATE.search(value))


def body_case(schema):
    pairs = []
    for name, kind in FIELDS[schema]:
        roll = random.random()
        if schema == "create" and name in VALID and roll < 0.6:
            pairs.append((name, VALID[name]))
        elif roll < 0.75:
            pairs.append((name, json_value(kind)))
    for _ in range(random.randint(1, 3) if random.random() < 0.3 else 0):
        pairs.insert(random.randint(0, len(pairs)), (random.choice(UNKNOWN_KEYS), "1"))
    if random.random() < 0.3:
        random.shuffle(pairs)
    return {"schema": schema, "raw": "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}"}


def query_value(kind):
    if kind == "number":
        return numeric_string()
    if kind == "date":
        return iso_variant() if random.random() < 0.7 else random.choice(["2099-01-01", ""])
    if kind == "status":
        return random.choice(["scheduled", "live", "", "LIVE"])
    return text_near(kind) if random.random() < 0.3 else random.choice(["abc", "", "a b", "C++"])


def query_case():
    parts = []
    for name, kind in LIST:
        if random.random() < 0.35:
            key = name + random.choice(["", "", "", "", "[]", "[a]", "[0]"])
            encode = lambda text: quote(text.encode("utf-8", "surrogatepass"), safe="")  # noqa: E731
            parts.append(encode(key) + "=" + encode(query_value(kind)))
    if random.random() < 0.15:
        extra = random.choice(["=1", "zzz=1", "0=1", "foo", "a[b]=1", "%ff=1", "%=1", "a+b=%2"])
        parts.insert(random.randint(0, len(parts)), extra)
    return {"schema": "list", "qs": "&".join(parts)}


def ask_node(requests):
    lines = "".join(json.dumps(request) + "\n" for request in requests)
    node = subprocess.run(
        ["node", str(HERE / "oracle.js")],
        input=lines,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": "UTC"},
    )
    return [json.loads(line) for line in node.stdout.splitlines()]


def kept(value):
    """A value as the service keeps it: U+FFFD for lone surrogates, dates within datetime."""
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict) and set(value) == {"date"}:
        return {"date": round(to_datetime(value["date"]).timestamp() * 1000)}
    if isinstance(value, dict):
        return {kept(key): kept(item) for key, item in value.items()}
    return [kept(item) for item in value] if isinstance(value, list) else value


def plain(value):
    if isinstance(value, datetime):
        return {"date": round(value.timestamp() * 1000)}
    if isinstance(value, dict):
        return {("from" if key == "from_" else key): plain(item) for key, item in value.items()}
    return value


def ask_service(app, case):
    try:
        if "qs" in case:
            with app.test_request_context("/sessions", query_string=case["qs"]):
                data = http.query_args()
        else:
            raw = case["raw"].encode("utf-8", "surrogatepass")
            data = http.parse_json(raw) if raw.strip() else {}
        return {"ok": True, "value": plain(load(SCHEMAS[case["schema"]], data))}
    except ValidationFailed as refusal:
        return {"ok": False, "message": refusal.message}


def report(label, pairs, show):
    differ = [pair for pair in pairs if pair[1] != pair[2]]
    for case, node, service in differ[:show]:
        print(json.dumps(case)[:300], "\n  node:   ", json.dumps(node)[:300])
        print("  service:", json.dumps(service)[:300])
    print(f"{label}: {len(pairs)} inputs, {len(differ)} answered differently")
    return len(differ)


def main():
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--cases", type=int, default=30_000)
    options.add_argument("--dates", type=int, default=100_000)
    options.add_argument("--seed", type=int, default=1)
    options.add_argument("--show", type=int, default=10)
    args = options.parse_args()
    random.seed(args.seed)
    kinds = ["create"] * 3 + ["update", "list", "list", "participant", "start", "stop", "status"]
    cases = [
        query_case() if kind == "list" else body_case(kind)
        for kind in map(random.choice, [kinds] * args.cases)
    ]
    app = create_app(
        {
            "TESTING": True,
            "MONGODB_URI": "mongomock://localhost/joi",
            "JWT_SECRET_KEY": "k" * 64,
            "LOG_LEVEL": "ERROR",
        }
    )
    pairs = [
        (case, kept(node), kept(ask_service(app, case)))
        for case, node in zip(cases, ask_node(cases), strict=True)
    ]
    differ = report("requests", pairs, args.show)
    texts = [iso_variant() for _ in range(args.dates)]
    node_dates = ask_node([{"date": text} for text in texts])
    pairs = []
    for text, node in zip(texts, node_dates, strict=True):
        iso = bool(JOI_ISO_DATE.match(text))
        pairs.append(
            (
                text,
                node if node["iso"] else {"iso": False},
                {"iso": iso, "time": parse_date(text)} if iso else {"iso": False},
            )
        )
    matched = sum(node["iso"] for _, node, _ in pairs)
    differ += report(f"dates ({matched} matching Joi's pattern)", pairs, args.show)
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
