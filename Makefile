# Two commands: `make run` (set up and serve the demo) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi
# `make run PORT=8080` or `PORT=8080 make run`; the address only on the command
# line (`make run HOST=0.0.0.0`): some shells export HOST as the machine's name.
HOST := 127.0.0.1
PORT ?= 5000

# Every install is checked against the hashes in the locks (see `make lock`).
PIP_INSTALL := $(BIN)/pip install --quiet --require-hashes

# axe-core is pinned, with its sha512, in tests/browser/package-lock.json.
AXE := .cache/npm/node_modules/axe-core/axe.min.js

# `make lock` resolves the *.in files into hashed locks with uv, for any
# platform, on Python 3.11 and later.
UV_VERSION := 0.13.9
UV := .cache/lock/bin/uv
COMPILE := $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes

.PHONY: run test lint venv dev-venv translations browser lock clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(PIP_INSTALL) -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $(VENV)/.installed $@

# Browser tests need Debian's Chromium and axe-core from the npm registry.
browser: $(AXE)
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	mkdir -p .cache/npm
	cp tests/browser/package.json tests/browser/package-lock.json .cache/npm/
	npm ci --silent --no-audit --no-fund --prefix .cache/npm
	touch $@

venv: $(VENV)/.installed
dev-venv: $(VENV)/.installed-dev

# The Swedish catalogue is compiled, not committed: every install path runs this.
translations: $(VENV)/.installed
	$(BIN)/pybabel --quiet compile --use-fuzzy -d directory/translations -f

run: venv translations
	mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load --if-empty
	$(BIN)/flask search reindex
	$(BIN)/flask print worker & trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
		$(BIN)/flask run --host $(HOST) --port $(PORT)

lint: dev-venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# The suite runs on SQLite; when TEST_DATABASE_URL is set, again on that database.
# On two workers per core (pytest-xdist): the browser, CardDAV-client and
# SMTP tests spend much of their time waiting on another process, so one
# worker per core leaves the cores half idle. Each worker has its own SQLite
# file or PostgreSQL schema. `make test PYTEST_ARGS=` runs it in one process.
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))
# Idle workers steal queued tests from busy ones (the suite's tail is a few long tests).
# When the suite runs again on PostgreSQL, the API fuzz run (a few minutes of CPU,
# the same requests on either database) runs there only: the database of production,
# where column lengths and types are enforced. The confidentiality crawl (every GET
# route as two personas, two and a half minutes of CPU, its rules in the app's code,
# not in SQL) runs on SQLite only, so CI stays within its 20 minutes on two cores.
# The browser journeys (Chromium over real HTTP, about a sixth of the suite's
# time: marked `browser` by tests/conftest.py for every test that opens Chromium)
# run there only too, against production's database: what they check is what a
# person sees, and every page and write they use is tested on both databases
# without a browser. Tests marked `one_database` (the crawl, the page cache's
# clock walk: long walks whose rules are the app's code, not SQL) run on SQLite only.
PYTEST_ARGS ?= -n $(PYTEST_WORKERS) --dist worksteal --durations=15
test: dev-venv translations lint browser
	@echo "== test suite on SQLite =="
	env -u TEST_DATABASE_URL BACKUP_PEER_DATABASE_URL="$$TEST_DATABASE_URL" $(BIN)/python -m pytest -q $(PYTEST_ARGS) $${TEST_DATABASE_URL:+--deselect tests/test_api_fuzz.py -m "not browser"}
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== test suite again on $$TEST_DATABASE_URL =="; \
		$(BIN)/python -m pytest -q $(PYTEST_ARGS) -m "not one_database"; \
	fi

# Regenerate the locks after editing a *.in file (or to take newer releases
# of what the *.in files leave open) and axe-core's after editing its package.json.
lock: $(UV)
	$(COMPILE) --output-file requirements.txt requirements.in
	$(COMPILE) --output-file requirements-dev.txt requirements-dev.in
	$(COMPILE) --output-file bench/requirements.txt bench/requirements.in
	cd tests/browser && npm install --package-lock-only --silent --no-audit --no-fund

$(UV):
	$(PYTHON) -m venv .cache/lock
	.cache/lock/bin/pip install --quiet uv==$(UV_VERSION)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .cache .import_linter_cache
