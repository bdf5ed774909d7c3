# Lockstitch: `make run` to try it, `make test` to check it. Nothing else is needed by hand.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pip warns about an unreachable extra index on these machines; keep the output readable.
PIP := $(BIN)/pip --disable-pip-version-check -q

.PHONY: install install-dev run test test-loaded soak lint types unit services bench catalog clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV) # a venv cut short has no pip: start it again
	@$(PIP) install --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	@$(PIP) install -c constraints.txt -e . 2>&1 | grep -v "^WARNING: Location" || true
	@$(BIN)/python -c "import lockstitch.app" # fails loudly if the install did not work
	@touch $@

install-dev: $(VENV)/.installed-dev

$(VENV)/.installed-dev: $(VENV)/.installed
	@$(PIP) install -c constraints.txt -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" || true
	@$(BIN)/python -c "import pytest, schemathesis, mypy"
	@touch $@

## Start Lockstitch on 127.0.0.1:8000 with SQLite under ./.lockstitch (demo account on first start).
run: install
	LOCKSTITCH_ENV=development $(BIN)/lockstitch serve --demo

## Lint, types, and every test on SQLite and PostgreSQL.
test: install-dev services lint types unit

## The same with two CPU-burning processes beside it: verdicts must not depend on speed.
test-loaded:
	scripts/loaded.sh $(MAKE) test

## The token soak at its full three minutes on both backends (make test runs a short one).
soak: install-dev services
	LOCKSTITCH_SOAK_SECONDS=180 LOCKSTITCH_SOAK_SQLITE_SHARE=1 $(BIN)/pytest -q tests/oauth/test_soak.py

lint: install-dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/lint-imports

types: install-dev
	$(BIN)/mypy

unit: install-dev services
	$(BIN)/pytest -q -n 2 --dist loadgroup

services:
	@scripts/ensure-postgres.sh
	@scripts/ensure-mariadb.sh
	@scripts/ensure-build-packages.sh

## Verify every source type's tap and mapping offline and rewrite docs/catalog.md (installs every
## tap once into CATALOG_PLUGINS, kept between runs; the first run takes the longest).
CATALOG_PLUGINS ?= $(HOME)/.cache/lockstitch-catalog/plugins
catalog: install
	@scripts/ensure-build-packages.sh  # tap-workday-raas's ijson builds its C backend against libyajl-dev
	LOCKSTITCH_RUNNER__PLUGINS_DIR=$(CATALOG_PLUGINS) $(BIN)/lockstitch catalog verify --all --jobs 3 --write docs/catalog.md

## API throughput, token refreshes and replication as ratios (~35 minutes; replication ~25 of them).
bench: install-dev services
	$(BIN)/python -m bench api
	$(BIN)/python -m bench api --postgres --out .lockstitch-bench/api-postgres.json
	$(BIN)/python -m bench refresh
	$(BIN)/python -m bench refresh --postgres --out .lockstitch-bench/refresh-postgres.json
	$(BIN)/python -m bench replication

clean:
	rm -rf $(VENV) .lockstitch .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache .hypothesis
