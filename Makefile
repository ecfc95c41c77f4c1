# Two commands: `make run` (set up and serve the demo) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

AXE_VERSION := 4.14.1
AXE := .cache/npm/node_modules/axe-core/axe.min.js

.PHONY: run test lint venv dev-venv translations browser clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

# Browser tests need Debian's Chromium and axe-core from the npm registry.
browser: $(AXE)
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

$(AXE):
	npm install --silent --no-audit --no-fund --prefix .cache/npm axe-core@$(AXE_VERSION)

venv: $(VENV)/.installed
dev-venv: $(VENV)/.installed-dev

translations: $(VENV)/.installed
	$(BIN)/pybabel --quiet compile --use-fuzzy -d directory/translations -f

run: venv translations
	mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load --if-empty
	$(BIN)/flask search reindex
	$(BIN)/flask run --host 127.0.0.1 --port 5000

lint: dev-venv
	$(BIN)/ruff check .

# The suite runs on SQLite; when TEST_DATABASE_URL is set, again on that database.
test: dev-venv translations lint browser
	@echo "== test suite on SQLite =="
	env -u TEST_DATABASE_URL BACKUP_PEER_DATABASE_URL="$$TEST_DATABASE_URL" $(BIN)/python -m pytest -q
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== test suite again on $$TEST_DATABASE_URL =="; \
		$(BIN)/python -m pytest -q; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .cache
