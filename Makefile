# dom360db: `make demo` runs the main job on the embedded PostgreSQL; `make test` runs the suite.
# Everything runs from a virtualenv in .venv (created by `make install`).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DOM    := $(VENV)/bin/dom360db
# Test backends (comma-separated): docker (testcontainers; skipped when no Docker API answers),
# embedded (pip PostgreSQL 17), dsn (DOM360_TEST_DSN).
DOM360_TEST_BACKEND ?= docker,embedded
export DOM360_TEST_BACKEND

.PHONY: install up down migrate demo test lint bench bench-citus mutation doctor clean ship snapshot sql-api

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

up: install
	$(DOM) up

down: install
	$(DOM) down

migrate: up
	$(DOM) migrate

doctor: install
	$(DOM) doctor

demo: install
	$(DOM) demo

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check dom360db tests bench
	$(PY) -m dom360db.sqllint

# A release lists its new versioned files as shipped (sql/shipped.json; they may never change again).
ship: install
	@test -n "$(RELEASE)" || { echo "usage: make ship RELEASE=<git revision>"; exit 2; }
	$(PY) -m dom360db.shipped add --release $(RELEASE)

# The schema snapshot sql/catalog.txt (a fresh install's catalog), regenerated after any schema change.
snapshot: up
	$(DOM) catalog --write

# The SQL API reference docs/sql-api.md, from the COMMENT ON text of the (migrated) embedded server.
sql-api: migrate
	$(DOM) gen docs -o docs/sql-api.md

bench: install
	$(PY) -m bench.run
	$(PY) -m bench.analytics

bench-citus: install  # DATABASE_URL = a superuser on a Citus coordinator (docs/citus.md)
	$(PY) bench/citus.py

mutation: install
	$(PY) tests/mutation.py

clean:
	-$(DOM) down
	rm -rf $(VENV) .dom360db .pytest_cache build dist
