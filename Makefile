# golive: `make run` starts the demo, `make test` checks everything. Both install what they need.
# When DATABASE_URL / REDIS_URL are unset, both start a private PostgreSQL and Redis under var/.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
# Embedded services for whatever the environment does not name, then the command. The tests get
# servers of their own (var/test), so a `make run` left running never sees a test's tasks.
SERVICES := $(BIN)/python -m golive.embedded --var-dir var --
TEST_SERVICES := $(BIN)/python -m golive.embedded --var-dir var/test --
ARGS ?=

export PATH := $(BIN):$(PATH)

.PHONY: install run seed test bench lint format clean backup restore audit chaos screenshots

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(STAMP)

# Development server: web + worker + beat through honcho; one Ctrl-C stops everything.
run: export DEBUG ?= true
run: $(STAMP)
	$(SERVICES) sh -c '\
	  python manage.py migrate --noinput && \
	  python manage.py collectstatic --noinput -v0 && \
	  python manage.py seed_demo --if-empty && \
	  python manage.py seed_staffing_demo --if-empty && \
	  python manage.py seed_issues_demo --if-empty && \
	  echo "golive is starting on http://127.0.0.1:8000 (Ctrl-C stops it)" && \
	  exec honcho start'

# Re-seed the demo go-live (idempotent: nothing is duplicated) and print the demo logins.
seed: export DEBUG ?= true
seed: $(STAMP)
	$(SERVICES) sh -c 'python manage.py migrate --noinput && python manage.py seed_demo && \
	  python manage.py seed_staffing_demo && python manage.py seed_issues_demo'

# Lint, then the whole test suite (or `make test ARGS="golive/tests/test_models.py -k window"`),
# in one process per CPU (at most 4; TEST_WORKERS=0 runs it in this process). Each file's tests stay
# in one process; each process has its own test database and Redis database.
TEST_WORKERS ?= logical
test: export DEBUG ?= true
test: $(STAMP) lint
	$(TEST_SERVICES) sh -c '\
	  python manage.py collectstatic --noinput -v0 && \
	  python -m pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist loadfile $(ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc'

# Fault tests (not part of `make test`, about 3 minutes): real gunicorn, Celery worker and beat on a
# PostgreSQL and a Redis of their own under var/chaos, stopped, restarted and killed on purpose. No
# embedded-services wrapper: the tests own the servers they stop.
chaos: export DEBUG ?= true
chaos: $(STAMP)
	python -m pytest -m chaos golive/tests/chaos $(ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# The whole database to var/backups/golive-<time>.dump (or FILE=...), while golive runs; and back
# (`make restore FILE=... ARGS="--clean --yes"` replaces the data of a database that has some).
backup: export DEBUG ?= true
backup: $(STAMP)
	$(SERVICES) python manage.py backup $(if $(FILE),--output $(FILE))

restore: export DEBUG ?= true
restore: $(STAMP)
	@test -n "$(FILE)" || { echo "Say which backup: make restore FILE=var/backups/....dump"; exit 2; }
	$(SERVICES) python manage.py restore $(FILE) $(ARGS)

# Benchmarks (not part of `make test`): results and ratios in docs/benchmarks.md. The load test's
# driver (locust) comes from requirements-bench.txt.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) requirements-bench.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@

bench: export DEBUG ?= true
bench: $(BENCH_STAMP)
	$(BIN)/python -m golive.embedded --var-dir var/bench -- sh -c '\
	  python manage.py collectstatic --noinput -v0 && \
	  python bench/staffing_bench.py && python bench/issues_bench.py && \
	  python bench/escalation_bench.py && python bench/routing_bench.py && \
	  python bench/exports_bench.py && \
	  python bench/dashboard_bench.py && python bench/api_bench.py && \
	  python bench/slow_network_bench.py && python bench/load_bench.py'

# Pictures of the main screens (docs/screenshots/, shown in the README) from a fresh demo go-live
# in a throw-away database under var/screenshots; gunicorn and Debian's Chromium draw them.
screenshots: export DEBUG ?= true
screenshots: $(STAMP)
	rm -rf var/screenshots
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python -m golive.embedded --var-dir var/screenshots -- sh -c '\
	  python manage.py migrate --noinput -v0 && \
	  python manage.py collectstatic --noinput -v0 && \
	  python manage.py seed_demo >/dev/null && \
	  python manage.py seed_staffing_demo >/dev/null && \
	  python manage.py seed_issues_demo >/dev/null && \
	  python -m golive.screenshots'

# Known vulnerabilities in every installed package (PyPI's advisory data); fails on any found.
audit: $(STAMP)
	$(BIN)/python -m pip_audit --progress-spinner off --skip-editable

lint: $(STAMP)
	ruff check .
	ruff format --check .

format: $(STAMP)
	ruff check --fix .
	ruff format .

clean:
	rm -rf var/staticfiles .pytest_cache
