# gridlink: set up, run and test.
#
#   make setup   .venv with the package and its test extras, npm packages, vendored browser assets
#   make run     setup, then `gridlink init --demo` and serve on http://$(HOST):$(PORT)
#   make test    setup, Debian chromium + postgresql (as root), lint, import contracts,
#                the whole pytest suite on SQLite, then engine + integration on PostgreSQL
#   make lint    ruff + import contracts
#   make clean   generated files (vendored assets, caches, test artifacts); distclean also
#                removes .venv and node_modules. Neither touches instance/ (your database).
#
# Every step is skipped when its inputs haven't changed, so a repeated `make setup` is quick.
# Pass extra pytest arguments with PYTEST_ARGS, e.g. `make test PYTEST_ARGS="-x -k timers"`.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP_STAMP := $(VENV)/.installed-stamp
NPM_STAMP := node_modules/.package-lock.json
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: help setup vendor run test lint system-deps clean distclean

help:
	@sed -n '2,12s/^# \{0,1\}//p' Makefile

## ---- setup -------------------------------------------------------------------------

setup: $(PIP_STAMP) vendor

$(BIN)/python:
	@echo "==> creating $(VENV) with $(PYTHON)"
	@test -n "$(PYTHON)" || { echo "ERROR: no python3.11 or python3 on PATH" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml is newer than the stamp (or the venv is new).
$(PIP_STAMP): pyproject.toml | $(BIN)/python
	@echo "==> pip install -e '.[test]'"
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[test]'
	@touch $@

# npm writes node_modules/.package-lock.json on every install; touch it so it is newer
# than package-lock.json even when npm keeps the lock file's time.
$(NPM_STAMP): package-lock.json package.json
	@echo "==> npm ci --ignore-scripts"
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

vendor: $(NPM_STAMP)
	@python3 scripts/vendor_assets.py --quiet

## ---- run ---------------------------------------------------------------------------

run: setup
	@echo "==> gridlink init --demo"
	$(BIN)/gridlink init --demo
	@echo "==> serving on http://$(HOST):$(PORT)"
	$(BIN)/gridlink run --host $(HOST) --port $(PORT)

## ---- lint and test -----------------------------------------------------------------

lint: setup
	@echo "==> ruff check"
	$(BIN)/ruff check .
	@echo "==> import contracts (lint-imports)"
	$(BIN)/lint-imports

# Debian's chromium (browser tests) and postgresql (PostgreSQL run), installed when
# missing and we are root; otherwise a note is printed.
system-deps:
	@echo "==> system packages"
	@scripts/ensure_system_packages.sh browser postgres

test: setup system-deps
	@rm -f test-artifacts/junit-*.xml
	@echo
	@echo "==> [1/4] ruff check"
	$(BIN)/ruff check .
	@echo
	@echo "==> [2/4] import contracts (lint-imports)"
	$(BIN)/lint-imports
	@echo
	@echo "==> [3/4] pytest, whole suite, on SQLite"
	env -u GRIDLINK_TEST_PG_URL scripts/run_pytest.sh --label sqlite $(PYTEST_ARGS)
	@echo
	@echo "==> [4/4] pytest, engine + integration, on PostgreSQL"
	scripts/with_postgres.sh scripts/run_pytest.sh --label postgresql -m "not browser" \
		$(PYTEST_ARGS) tests/engine tests/integration
	@echo
	@python3 scripts/test_summary.py test-artifacts

## ---- clean -------------------------------------------------------------------------

clean:
	rm -rf web/static/vendor test-artifacts build .pytest_cache .ruff_cache *.egg-info
	find . -path ./.venv -prune -o -path ./node_modules -prune -o \
		-name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) node_modules
