# The two commands of the README: `make run` (the whole flow on embedded defaults) and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv system-deps test lint typecheck pytest run demo bench clean

$(STAMP): pyproject.toml dev/pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]' -e ./dev
	@touch $(STAMP)

venv: $(STAMP)

system-deps:
	@bash .ci/system-deps

lint: $(STAMP)
	$(BIN)/ruff check operator web dev tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy operator/spiris_client operator/spiris_store operator/spiris_sync operator/spiris_connection \
		operator/spiris_operator web/spiris_web dev/spiris_sandbox dev/spiris_localstack

pytest: $(STAMP) system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

run: $(STAMP) system-deps
	$(BIN)/spiris-local run

demo: $(STAMP) system-deps
	$(BIN)/spiris-local demo

bench: $(STAMP) system-deps
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
