SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests run in parallel processes, each with a database of its own.
TEST_WORKERS ?= 2

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The web dashboard's browser files, from the npm registry by the lockfile (frontend/).
ASSETS := dashboard_api/web/static/vendor/.built
$(ASSETS): frontend/package.json frontend/package-lock.json frontend/build.mjs
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && node build.mjs
	touch $(ASSETS)

# Debian's Chromium and its driver, for the browser tests (no browser download).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get install -y -q chromium chromium-driver >/dev/null || \
		(apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null)

install: $(STAMP) $(ASSETS) $(CHROMIUM) ## Create .venv, install cartwheel with its test extras, the dashboard's browser files and Chromium

run: $(STAMP) $(ASSETS) ## Start the whole system (embedded PostgreSQL and Redis unless DATABASE_URL/REDIS_URL are set)
	$(BIN)/cartwheel run

test: $(STAMP) $(ASSETS) $(CHROMIUM) ## Run the test suite (TEST_DATABASE_URL / TEST_REDIS_URL, else embedded servers)
	$(BIN)/pytest -n $(TEST_WORKERS)

lint: $(STAMP) ## ruff (lint and format check), mypy and the import layers (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP) ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(STAMP) ## Apply the Alembic migrations to DATABASE_URL
	$(BIN)/cartwheel migrate

screenshots: $(STAMP) $(ASSETS) $(CHROMIUM) ## Take the dashboard's pictures in docs/screenshots (its browser tests)
	CARTWHEEL_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/dashboard_api/test_web_dashboard.py

bench: $(STAMP) $(ASSETS) $(CHROMIUM) ## Run the benchmarks; a complete run writes its figures to docs/benchmarks.md
	@command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null 2>&1 || \
		echo "wrk is not installed: the Python load generator stands in"
	$(BIN)/python -m bench

clean: ## Remove the virtualenv and caches (keeps ./.cartwheel data)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache frontend/node_modules dashboard_api/web/static/vendor

.PHONY: help install run test lint format migrate screenshots bench clean
