"""What every benchmark checks of the answers it times: a wrong answer ends the run.

A benchmark that measures errors measures nothing, so each bench passes every answer (or
its tally of answers) through here; the first wrong one raises `WrongAnswer`, a
SystemExit: the process exits 1 with the request, what was expected and what came.
BENCHMARK ONLY.
"""

import collections
import re


class WrongAnswer(SystemExit):
    """An answer a benchmark did not expect (exit status 1, the reason on stderr)."""

    def __init__(self, reason):
        super().__init__(f"WRONG ANSWER: {reason}")
        self.reason = reason


def _described(response):
    """(status, 'METHOD path', body excerpt) of a requests or a werkzeug test response."""
    request = getattr(response, "request", None)
    method = getattr(request, "method", "?")
    path = getattr(request, "path_url", None) or getattr(request, "path", "?")
    body = response.get_data(as_text=True) if hasattr(response, "get_data") else response.text
    return response.status_code, f"{method} {path}", body[:300]


def expect(response, statuses, keys=()):
    """`response` if its status is one of `statuses` (and, given `keys`, its JSON body has
    each of them); else raise WrongAnswer naming the request, expected and got."""
    statuses = {statuses} if isinstance(statuses, int) else set(statuses)
    status, request, body = _described(response)
    if status not in statuses:
        raise WrongAnswer(f"{request}: expected {sorted(statuses)}, got {status}: {body}")
    if keys:
        expect_keys(_json(response), keys, request)
    return response


def expect_keys(body, keys, what):
    """Raise WrongAnswer unless `body` (a JSON object, or a list of them) has every key."""
    for item in body if isinstance(body, list) else [body]:
        missing = [key for key in keys if not isinstance(item, dict) or key not in item]
        if missing:
            raise WrongAnswer(f"{what}: body lacks {missing}: {str(item)[:300]}")
    return body


def expect_all(answers, allowed, what):
    """Raise WrongAnswer unless every answer's status is allowed.

    `answers`: (anything, status or exception name, JSON body or None, ...) tuples;
    `allowed`: {status: None (any body) or the one body that status may carry}."""
    wrong = collections.Counter()
    for answer in answers:
        status, body = answer[1], answer[2]
        if status not in allowed or allowed[status] not in (None, body):
            wrong[f"{status} {_shape(body)}"] += 1
    if wrong:
        shown = "; ".join(f"{count} x {shape}" for shape, count in wrong.most_common(5))
        raise WrongAnswer(f"{what}: expected {sorted(allowed)}, got {shown}")


NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def wrk_failures(output):
    """What wrk's report says went wrong ('' if nothing): non-2xx/3xx answers, socket errors."""
    problems = []
    non_2xx = NON_2XX.search(output)
    if non_2xx and int(non_2xx[1]):
        problems.append(f"{non_2xx[1]} non-2xx or 3xx responses")
    errors = SOCKET_ERRORS.search(output)
    if errors and any(int(n) for n in errors.groups()):
        problems.append(errors[0])
    return "; ".join(problems)


class Tally:
    """Wrong answers counted while a bench runs on (its figures still printed), then judged
    by `verdict()` at the end: WrongAnswer naming each kind, if there was any."""

    def __init__(self):
        self.wrong = collections.Counter()

    def check(self, what, got, allowed):
        """Whether `got` (a requests response, or the exception a request raised) is allowed:
        `allowed` is one status, a set of them, or {status: None (any body) or the one body
        that status may carry}."""
        if isinstance(got, BaseException):
            return self.check_status(what, None, repr(got), allowed)
        return self.check_status(what, got.status_code, _json(got), allowed)

    def check_status(self, what, status, body, allowed):
        """`check` of an answer already read: its status (None: no answer) and body."""
        allowed = {allowed: None} if isinstance(allowed, int) else allowed
        allowed = allowed if isinstance(allowed, dict) else dict.fromkeys(allowed)
        if status in allowed and allowed[status] in (None, body):
            return True
        self.wrong[f"{what}: expected {sorted(allowed)}, got {status} {_shape(body)}"] += 1
        return False

    def verdict(self):
        if self.wrong:
            shown = "; ".join(f"{n} x {kind}" for kind, n in self.wrong.most_common(10))
            raise WrongAnswer(shown)


def _shape(body):
    """What tells one wrong answer from another: an error's message, else the start."""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return repr({"message": body["message"]})
    return str(body)[:80]


def _json(response):
    """The JSON body of a werkzeug test response or a requests one (None if not JSON)."""
    if hasattr(response, "get_json"):
        return response.get_json(silent=True)
    try:
        return response.json()
    except ValueError:
        return None
