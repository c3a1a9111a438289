# The commands: `make run` (API on http://localhost:7000), `make test` (everything, as CI
# runs it, with coverage, then again on a SecantusDB server) and `make test-quick` (the
# first run without the tests marked slow - real servers, subprocesses, fuzzing, MongoDB
# faults, load - and without coverage).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run run-mongo serve-fast test test-embedded test-secantus test-scale test-quick lint format clean bench bench-recordings bench-workers bench-abuse bench-rate-limits bench-daily docs-screenshot joi-diff

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The pinned requirements, then the project itself, editable (its dependencies are the pins):
# production's set. The development install adds the test tools and mongomock, the embedded
# store that `make run`, the benches and a .env made from .env.example use; devtools/ (the
# sandboxes, demo data, dev server) is never installed: it runs from the checkout.
$(VENV)/.runtime: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.runtime

.env: | $(BIN)/python
	sed -e "s|^JWT_SECRET_KEY=.*|JWT_SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))')|" \
	    -e "s|^DAILY_WEBHOOK_SECRET=.*|DAILY_WEBHOOK_SECRET=$$($(BIN)/python -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())')|" \
	    .env.example > .env
	@echo "created .env with a random JWT_SECRET_KEY and DAILY_WEBHOOK_SECRET"

run: $(VENV)/.dev .env
	$(BIN)/python -m devtools.devserver

# Twice, side by side (two processes that share nothing but the cores, so the whole takes
# about as long as the longer run, where one after the other took both): on the embedded
# store (everything, with coverage), and on a SecantusDB server the suite starts itself (a
# real MongoDB wire server: every test not marked slow, plus the multi-process ones marked
# wire). Each run's output is printed whole when it ends. TEST_MONGODB_URI=... runs the
# first on a MongoDB of yours. The first names its 20 slowest tests: the suite's time is a
# budget (docs/testing.md).
#
# The tests marked scale (Daily's pace at scale: 100 deletions, 20 starts, 100 classes,
# which spend their minutes asleep waiting for Daily's turns; a thousand students admitted
# in a minute) run as a third job, beside the two that compute, without coverage (the code
# they reach is covered by the first run's own tests): they would add minutes to the first.
test: $(VENV)/.dev
	@$(MAKE) --no-print-directory -j3 --output-sync=target test-embedded test-secantus test-scale

# Each of the first two runs is spread over two processes (pytest-xdist, each test module
# kept in one, so that its fixtures are set up once; on SecantusDB each process has a
# server of its own), so that neither waits on one core while the other has finished.
test-embedded: $(VENV)/.dev
	$(BIN)/python -m pytest -m "not scale" -n 2 --dist loadscope --cov --cov-report=term --durations=20 $(PYTEST_ARGS)

test-scale: $(VENV)/.dev
	$(BIN)/python -m pytest -m scale --durations=5 $(PYTEST_ARGS)

test-secantus: $(VENV)/.dev
	TEST_MONGODB=secantus $(BIN)/python -m pytest -m "not slow or wire" -n 2 --dist loadscope $(PYTEST_ARGS)

test-quick: $(VENV)/.dev
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# Validation against the real Joi 17, qs and V8 in Node, on random inputs (docs/testing.md,
# "Joi differential"); needs Node.js and npm, and is not part of `make test`.
joi-diff: $(VENV)/.dev
	npm ci --prefix tools/joi-diff --silent --no-audit --no-fund
	$(BIN)/python tools/joi-diff/compare.py

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# A local MongoDB wire server for development (SecantusDB, a test tool: hence the dev
# install), its data kept in .data/secantus; in another shell, so that the web process,
# the worker and the CLI share one database as in production:
#   MONGODB_URI=mongodb://127.0.0.1:27017/livesessions make run
run-mongo: $(VENV)/.dev
	mkdir -p .data/secantus
	$(BIN)/secantusd-py --host 127.0.0.1 --port $${MONGO_PORT:-27017} --storage-path .data/secantus

# The same app under granian (a Rust WSGI server), for hosts that don't need gunicorn. As
# gunicorn.conf.py does, the settings are checked and the start-up report logged once,
# before any worker: livesessions/startup.py.
serve-fast: $(VENV)/.dev .env
	$(BIN)/python -m livesessions.startup && exec $(BIN)/granian --interface wsgi --workers $${WEB_CONCURRENCY:-2} --blocking-threads $${WEB_THREADS:-2} --host 0.0.0.0 --port $${PORT:-7000} --no-ws wsgi:app

bench: $(VENV)/.dev
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install wrk"; exit 1; }
	@command -v npm >/dev/null || { echo "make bench needs Node 20 and npm (bare Express)"; exit 1; }
	npm ci --prefix bench/express --silent --no-audit --no-fund
	$(BIN)/python -m bench.http_bench
	$(BIN)/python -m bench.changes

bench-recordings: $(VENV)/.dev
	$(BIN)/python -m bench.recording_memory

bench-workers: $(VENV)/.dev
	$(BIN)/python -m bench.workers

bench-abuse: $(VENV)/.dev
	$(BIN)/python -m bench.abuse

# needs the test tools: it runs a SecantusDB server
bench-rate-limits: $(VENV)/.dev
	$(BIN)/python -m bench.rate_limits

# needs the test tools: the Daily sandbox at Daily's rate limits, and a SecantusDB server.
# Every scenario without and with a neighbour on the Daily key using 25 % of each limit;
# NEIGHBOUR_SHARE=0 for one run. Before/after: bench/daily.py's --service-source.
NEIGHBOUR_SHARE ?= 0,0.25
bench-daily: $(VENV)/.dev
	$(BIN)/python -m bench.daily --neighbour-share $(NEIGHBOUR_SHARE)

docs-screenshot: $(VENV)/.dev
	$(BIN)/python scripts/docs_screenshot.py

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage htmlcov
