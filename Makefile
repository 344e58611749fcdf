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

install: $(STAMP) ## Create .venv and install cartwheel with its test extras

run: $(STAMP) ## Start the whole system (embedded PostgreSQL and Redis unless DATABASE_URL/REDIS_URL are set)
	$(BIN)/cartwheel run

test: $(STAMP) ## Run the test suite (TEST_DATABASE_URL / TEST_REDIS_URL, else embedded servers)
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

bench: $(STAMP) ## Run the benchmarks; a complete run writes its figures to docs/benchmarks.md
	@command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null 2>&1 || \
		echo "wrk is not installed: the Python load generator stands in"
	$(BIN)/python -m bench

clean: ## Remove the virtualenv and caches (keeps ./.cartwheel data)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

.PHONY: help install run test lint format migrate bench clean
