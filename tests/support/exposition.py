"""Prometheus expositions read back, and the inputs of the attacks on their size."""

import random
import string

from prometheus_client.parser import text_string_to_metric_families

# RFC 9110's token characters, upper case (gunicorn lets such methods through, 3 to 20
# long, but for `#`)
METHOD_CHARACTERS = string.ascii_uppercase + string.digits + "!#$%&'*+-.^_`|~"
# What an invented method gets: a known path's 405, or any other path's 404
NOT_ALLOWED = {"message": "Method not allowed"}
NOT_FOUND = {"message": "Resource not found"}


def series(text):
    """Every series of an exposition: (sample name, labels)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample_lines(text):
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def invented_methods(count, seed, characters=METHOD_CHARACTERS):
    rng = random.Random(seed)
    methods = set()
    while len(methods) < count:
        method = "".join(rng.choices(characters, k=rng.randint(3, 20)))
        if method not in {"GET", "PUT", "POST", "HEAD"}:
            methods.add(method)
    return sorted(methods)


def random_path(rng):
    segment = "".join(rng.choices(string.ascii_letters + string.digits, k=rng.randint(1, 24)))
    return rng.choice(["/", "/sessions/", "/sessions/course/", "/x/"]) + segment
