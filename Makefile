# Keystead: `make run` serves it, `make test` proves it. Both start from nothing but Python.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
HOST    ?= 127.0.0.1
PORT    ?= 8000
WORKERS ?= 1
PIP     := $(BIN)/pip install -q --disable-pip-version-check
export KEYSTEAD_DATA_DIR ?= var

.PHONY: run test chromium promtool lint bench init clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[test]'
	touch $@

init: $(VENV)/.installed-run  ## create or upgrade the database, seed the built-ins
	$(BIN)/keystead init

run: init  ## serve http://$(HOST):$(PORT) on the embedded SQLite store in $(KEYSTEAD_DATA_DIR)
	KEYSTEAD_ISSUER="$${KEYSTEAD_ISSUER:-http://$(HOST):$(PORT)}" \
	  $(BIN)/keystead serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

test: $(VENV)/.installed-test chromium promtool  ## the whole suite; PostgreSQL too when KEYSTEAD_TEST_POSTGRES_URL is set
	$(BIN)/pytest

# The browser tests (tests/browser) drive Debian's Chromium; Playwright's own download is not used.
chromium:  ## install /usr/bin/chromium when missing (as root, with apt-get), else say what is skipped
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make: installing Chromium for the browser tests (apt-get install chromium)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
	    || echo "make: could not install Chromium: the browser tests will be skipped"; \
	else \
	  echo "make: /usr/bin/chromium is missing (as root: apt-get install -y chromium):" \
	       "the browser tests will be skipped"; \
	fi

# tests/web/test_metrics.py checks a real scrape with Prometheus's own promtool (Debian: prometheus).
promtool:  ## install /usr/bin/promtool when missing (as root, with apt-get), else say what is skipped
	@if command -v promtool >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make: installing promtool for the metrics tests (apt-get install prometheus)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus; } \
	    || echo "make: could not install promtool: the promtool checks will be skipped"; \
	else \
	  echo "make: promtool is missing (as root: apt-get install -y prometheus):" \
	       "the promtool checks will be skipped"; \
	fi

lint: $(VENV)/.installed-test  ## ruff and mypy --strict
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src tests

bench: $(VENV)/.installed-test  ## token and introspection throughput beside peer servers
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
