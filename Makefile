# Keystead: `make run` serves it, `make test` proves it. Both start from nothing but Python.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
HOST    ?= 127.0.0.1
PORT    ?= 8000
WORKERS ?= 1
PIP     := $(BIN)/pip install -q --disable-pip-version-check
export KEYSTEAD_DATA_DIR ?= var

.PHONY: run test screenshots tools lint bench init clean

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

# `keystead serve` takes its issuer from KEYSTEAD_ISSUER, or else http://HOST:PORT (IPv6 bracketed).
run: init  ## serve http://$(HOST):$(PORT) on the embedded SQLite store in $(KEYSTEAD_DATA_DIR)
	$(BIN)/keystead serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

# One pytest worker per core; a whole test file goes to one worker, so its module fixtures (a
# CLI database, an OpenBao server) start once. TEST_WORKERS=0 runs the suite in this process.
TEST_WORKERS ?= auto
test: $(VENV)/.installed-test tools  ## the whole suite; PostgreSQL too when KEYSTEAD_TEST_POSTGRES_URL is set
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

screenshots: $(VENV)/.installed-test tools  ## refresh docs/screenshots/ from the browser tests
	KEYSTEAD_TEST_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/browser

# Real servers some tests drive, from Debian (package:program): Chromium for the browser tests
# (Playwright's own download is not used), HAProxy and pgbouncer for the deployment tests,
# Prometheus's promtool for the metrics test.
DEBIAN_TOOLS := chromium:/usr/bin/chromium haproxy:/usr/sbin/haproxy \
                pgbouncer:/usr/sbin/pgbouncer prometheus:/usr/bin/promtool
TOOLS_FOR     := the tests
WITHOUT_TOOLS := the tests that need them will be skipped
tools:  ## install the missing ones (as root, with apt-get), else say what they are for
	@missing=""; for tool in $(DEBIAN_TOOLS); do \
	  [ -x "$${tool#*:}" ] || missing="$$missing $${tool%%:*}"; done; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make: installing$$missing for $(TOOLS_FOR) (apt-get)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq $$missing >/dev/null; } \
	    || echo "make: could not install$$missing: $(WITHOUT_TOOLS)"; \
	else \
	  echo "make: missing$$missing (as root: apt-get install -y$$missing):" \
	       "$(WITHOUT_TOOLS)"; \
	fi

lint: $(VENV)/.installed-test  ## ruff and mypy --strict
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src tests

# The bench drives the servers with wrk and checks them with curl (Debian's, like the tools above).
bench: DEBIAN_TOOLS  := wrk:/usr/bin/wrk curl:/usr/bin/curl
bench: TOOLS_FOR     := the bench
bench: WITHOUT_TOOLS := the bench cannot run
bench: $(VENV)/.installed-test tools  ## token and introspection throughput beside peer servers
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
