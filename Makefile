# Keystead — the two commands that matter: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
WORKERS ?= 1
export KEYSTEAD_DATA_DIR ?= var

.PHONY: run test lint bench init clean

$(BIN)/keystead: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

init: $(BIN)/keystead  ## create or upgrade the database and seed the built-ins
	$(BIN)/keystead init

run: init  ## serve on http://$(HOST):$(PORT) with the embedded SQLite store under ./var
	$(BIN)/keystead serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

test: $(BIN)/keystead  ## the whole suite (PostgreSQL too when KEYSTEAD_TEST_POSTGRES_URL is set)
	$(BIN)/pytest

lint: $(BIN)/keystead  ## ruff and mypy --strict
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src tests

bench: $(BIN)/keystead  ## token and introspection throughput beside peer servers
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var
