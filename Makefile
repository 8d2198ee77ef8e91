# The README's commands. Everything installs into .venv/ at the repository root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## Main job: sync a Zendesk account into ./zensync.db (the bundled simulator when none is configured).
demo: setup
	$(BIN)/zensync demo

## System packages the tests need: PostgreSQL server binaries and Debian's Chromium.
system-deps:
	@bash scripts/system-deps.sh

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

## Every test: lint, types, unit, integration (simulator over HTTP, SQLite, PostgreSQL), browser.
test: setup system-deps lint
	$(BIN)/pytest -q -p no:cacheprovider

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
