# One task file for the everyday commands; each target is one line you could also type yourself.
# `make help` lists them. The venv is .venv (made by `make install`); CI makes its own (.ci/run).
PY ?= .venv/bin/python
BIN := $(dir $(PY))

.PHONY: help install lint format type test test-sqlite bench demo ci

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

install:  ## a venv with the connector, the simulator, the example plugin and the test tools
	python3 -m venv .venv && $(BIN)pip install -e '.[test]' -e examples/connector-example-plugin -e simulator

lint:  ## ruff: the rules and the format, checked (never rewritten)
	$(BIN)ruff check . && $(BIN)ruff format --check .

format:  ## ruff: rewrite the format and apply the safe fixes
	$(BIN)ruff format . && $(BIN)ruff check --fix .

type:  ## mypy on connector/ with the config in pyproject.toml
	$(BIN)mypy

test:  ## the README's test command: the whole suite on PostgreSQL, Redis and Chromium
	$(PY) -m pytest

test-sqlite:  ## the core tests on SQLite, the zero-config default
	CONNECTOR_TEST_DATABASE=sqlite $(PY) -m pytest tests/core

bench:  ## every benchmark in benches/, one after the other (see benches/README.md; about 15 minutes)
	for b in webhook_ingest fulfilment_throughput admin_console pos_import retailer_reports sign_in webhook_filter_traffic; do \
		$(PY) benches/$$b.py || exit 1; done

demo:  ## the demo on its embedded defaults, served on http://127.0.0.1:8000
	$(BIN)connector demo --serve

ci:  ## what CI runs, from a fresh venv
	.ci/run
