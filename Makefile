# DotaSync: `make run` starts the app (a demo against the simulator without STEAM_API_KEY),
# `make serve` runs it in production mode, `make test` is what CI runs. GNU make; recipes use bash.
SHELL := /bin/bash
.DEFAULT_GOAL := run

VENV := .venv
PYTHON := $(VENV)/bin/python
# Stamps live inside the venv, so deleting the venv also forgets what was installed into it.
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: run serve require-secret-key test lint fmt clean chromium npm postgres redis bench

$(PYTHON):
	python3 -m venv $(VENV)

$(RUNTIME_STAMP): requirements.txt | $(PYTHON)
	$(PYTHON) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PYTHON)
	$(PYTHON) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@ $(RUNTIME_STAMP)

# The browser tests' tools from the npm registry (package.json: axe-core); npm writes this
# file into node_modules after every install, so it stamps the one in place.
NODE_STAMP := node_modules/.package-lock.json

$(NODE_STAMP): package.json package-lock.json | npm
	npm ci --no-audit --no-fund --loglevel=error

# --- make run ---------------------------------------------------------------------------------
# Without a Steam key there is nothing real to sync, so the demo points both upstreams at the
# simulator (whose GetMatchDetails is broken like Valve's) with short rate-limit intervals;
# STRATZ, a third source, is switched on against the simulator too.
ifeq ($(strip $(STEAM_API_KEY)),)
RUN_PROCESSES := web worker simulator
run: export DEMO_MODE := 1
run: export DEBUG := 1
run: export STEAM_API_KEY := sim-key
run: export STEAM_API_BASE_URL := http://127.0.0.1:8765
run: export OPENDOTA_API_BASE_URL := http://127.0.0.1:8765/api
run: export STEAM_API_MIN_INTERVAL ?= 0.05
run: export STEAM_SEQUENCE_MIN_INTERVAL ?= 0.2
run: export OPENDOTA_MIN_INTERVAL ?= 0.05
# STRATZ is on in the demo, against the simulator's POST /graphql and its token.
run: export STRATZ_API_TOKEN := sim-token
run: export STRATZ_API_BASE_URL := http://127.0.0.1:8765/graphql
run: export STRATZ_MIN_INTERVAL ?= 0.05
else
RUN_PROCESSES := web worker
# runserver is a development server: with DEBUG off it serves no static files and the secure
# cookies cannot be set over plain HTTP. A caller's DEBUG=0 (with SECRET_KEY) still wins.
run: export DEBUG ?= 1
endif

run: $(RUNTIME_STAMP)
	$(PYTHON) manage.py migrate --noinput
	@# Without DEBUG, pages name static files through collectstatic's manifest.
	@case "$${DEBUG,,}" in 1|true|yes|on) ;; *) $(PYTHON) manage.py collectstatic --noinput -v 0;; esac
	$(PYTHON) manage.py bootstrap_demo
	$(VENV)/bin/honcho start $(RUN_PROCESSES)

# --- make serve -------------------------------------------------------------------------------
# Production: gunicorn (deploy/gunicorn.conf.py) serves the site and, through WhiteNoise, its
# collected static files; the task cluster runs beside it; honcho runs both (Procfile.serve).
# DEBUG is always off here, whatever the caller sets.
serve: export override DEBUG := 0
serve: export PATH := $(abspath $(VENV))/bin:$(PATH)

serve: require-secret-key $(RUNTIME_STAMP)
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py collectstatic --noinput -v 0
	$(VENV)/bin/honcho -f Procfile.serve start

require-secret-key:
	@if [ -z "$$(tr -d '[:space:]' <<< "$$SECRET_KEY")" ]; then \
		echo "make serve needs SECRET_KEY: a long random secret that stays the same across restarts." >&2; \
		echo "Make one and keep it, e.g.:" >&2; \
		echo "  export SECRET_KEY=\"\$$(python3 -c 'import secrets; print(secrets.token_urlsafe(64))')\"" >&2; \
		exit 1; \
	fi

# --- make test --------------------------------------------------------------------------------
test: export DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/dotasync
test: export SECRET_KEY ?= test-only-secret-key-not-for-production
# The tests marked `sqlite` (the engine, jobs, real processes) run a second time on a file
# SQLite database, the default of `make run`: pytest-django creates test_dotasync.sqlite3
# beside make run's dotasync.sqlite3, which it leaves alone.
SQLITE_DATABASE_URL ?= sqlite:///$(CURDIR)/dotasync.sqlite3
# pytest-xdist workers for the PostgreSQL run: most tests wait on processes, pacing and the
# database, so two share the 2 CPUs well (13.4 -> 8.9 minutes when first measured); each has its
# own test database (test_dotasync_gw0, ...) and task queue. Three were slower (2026-12-08: the
# run at 67 % after 10 minutes, where two finish in 10-12): more chromium, clusters and
# PostgreSQL at once on two CPUs. The SQLite run stays in one process (one file database's
# writers queue behind each other: two workers took longer, 2:01 vs 1:43) and runs beside the
# PostgreSQL one: 10:56 and 6:20 together on f50985e, where one after the other is the sum.
TEST_WORKERS ?= 2

test: $(DEV_STAMP) $(NODE_STAMP) chromium postgres redis
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PYTHON) manage.py makemigrations --check --dry-run
	@mkdir -p test-artifacts
	@# The SQLite run goes beside the PostgreSQL one (its own database and task queue): both
	@# mostly wait, and together they take the time of the longer. Its output follows after.
	@DATABASE_URL=$(SQLITE_DATABASE_URL) $(VENV)/bin/pytest -m sqlite -p no:cacheprovider \
		> test-artifacts/sqlite-tests.log 2>&1 & sqlite=$$!; \
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(VENV)/bin/pytest -n $(TEST_WORKERS); postgresql=$$?; \
	wait $$sqlite; sqlite_status=$$?; \
	echo "--- the tests marked sqlite, on $(SQLITE_DATABASE_URL):"; \
	cat test-artifacts/sqlite-tests.log; \
	[ $$postgresql -eq 0 ] && [ $$sqlite_status -eq 0 ]

# The browser tests drive Debian's chromium; CI runs as root without a terminal.
chromium:
	@command -v chromium >/dev/null || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

npm:
	@command -v npm >/dev/null || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y npm)

postgres:
	@if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1; then exit 0; fi; \
	if ! command -v pg_ctlcluster >/dev/null || [ -z "$$(ls /etc/postgresql 2>/dev/null)" ]; then \
		echo "PostgreSQL is not running on 127.0.0.1 and is not installed." >&2; \
		echo "Install it (apt-get install postgresql) or set DATABASE_URL to a running server." >&2; \
		exit 1; \
	fi; \
	pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	for _ in $$(seq 30); do pg_isready -q -h 127.0.0.1 && exit 0; sleep 1; done; \
	echo "PostgreSQL did not come up on 127.0.0.1:5432." >&2; exit 1

# --- make bench -------------------------------------------------------------------------------
# The performance benchmarks (bench/README.md), never part of `make test`. They use their own
# database, BENCH_DATABASE_URL, whose tables they empty. BENCH_ARGS="--quick", "--only 1 3", "--big".
bench: $(RUNTIME_STAMP) postgres
	$(PYTHON) -m bench.run $(BENCH_ARGS)

# The scale-out test runs two task clusters on the Redis broker.
redis:
	@if command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then exit 0; fi; \
	if ! command -v redis-server >/dev/null; then \
		echo "Redis is not running on 127.0.0.1:6379 and is not installed (apt-get install redis-server)." >&2; \
		exit 1; \
	fi; \
	redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
	for _ in $$(seq 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 1; done; \
	echo "Redis did not come up on 127.0.0.1:6379." >&2; exit 1

# --- lint, format, clean ----------------------------------------------------------------------
lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

fmt: $(DEV_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules
