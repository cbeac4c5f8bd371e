# Otdel: `make run` serves the demo CRM at http://127.0.0.1:8000, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install dev browser run test test-postgres lint messages bench clean

# Documents need LibreOffice (DOCX -> PDF), poppler (previews) and Cyrillic fonts: installed when
# running as root on Debian/Ubuntu, otherwise `make install` says what to install (docs/documents.md).
DOC_PACKAGES := libreoffice-writer-nogui poppler-utils fonts-liberation2 fonts-dejavu-core fonts-crosextra-carlito fonts-crosextra-caladea

$(STAMP): requirements.lock pyproject.toml
	@if ! command -v soffice >/dev/null || ! command -v pdftoppm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DOC_PACKAGES); \
	  else \
	    echo "Documents need LibreOffice and fonts: sudo apt-get install --no-install-recommends $(DOC_PACKAGES)"; \
	  fi; \
	fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	touch $(STAMP)

install: $(STAMP)

# Tests and linters live in requirements-dev.lock: `make test` and `make lint` add them, `make run` does not.
DEV_STAMP := $(VENV)/.installed-dev
$(DEV_STAMP): $(STAMP) requirements-dev.lock
	$(PY) -m pip install --quiet -r requirements-dev.lock
	touch $(DEV_STAMP)

dev: $(DEV_STAMP)

# The demo department is loaded into an empty database unless DEMO=0 (or OTDEL_DEMO=0) is given:
# `make run DEMO=0` starts empty and the first administrator gets the setup checklist.
# `manage.py remove_demo` deletes what the demo loaded (docs/getting-started.md).
DEMO ?= $(if $(OTDEL_DEMO),$(OTDEL_DEMO),1)
run: install
	$(PY) manage.py migrate --noinput -v 0
	@if [ "$(DEMO)" = 0 ]; then \
	  $(PY) manage.py ensure_admin; \
	else \
	  $(PY) manage.py load_demo --if-empty; \
	fi
	$(PY) manage.py serve --host 127.0.0.1 --port 8000

# Browser tests drive Debian's Chromium, and the catalog test extracts strings with gettext's xgettext:
# installed here when running as root with apt, otherwise `make test` stops with the command to run
# (the suite never skips them).
browser:
	@missing=""; [ -x /usr/bin/chromium ] || missing=" chromium"; \
	command -v xgettext >/dev/null || missing="$$missing gettext"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "The tests need:$$missing. Run: sudo apt-get install --no-install-recommends$$missing"; exit 1; \
	  fi; \
	fi

test: dev browser
	$(PY) -m pytest $(PYTEST_ARGS)

test-postgres: dev
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(MAKE) test

lint: dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy otdel
	$(PY) manage.py makemigrations --check --dry-run

messages: install
	$(PY) manage.py makemessages -l ru -l en --ignore=.venv --ignore=var --ignore=bench
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

# Benchmarks (not part of the tests): a separate data dir so the demo database stays untouched.
# DATABASE_URL=postgres://... make bench runs them on PostgreSQL; see docs/performance.md.
BENCH_DATA ?= bench/data
BENCH_SCALE ?= 1
BENCH_DURATION ?= 10
bench: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	OTDEL_DATA_DIR=$(BENCH_DATA) $(PY) manage.py migrate --noinput -v 0
	OTDEL_DATA_DIR=$(BENCH_DATA) $(PY) bench/generate.py --scale $(BENCH_SCALE)
	OTDEL_DATA_DIR=$(BENCH_DATA) $(PY) bench/route.py --duration $(BENCH_DURATION)
	OTDEL_DATA_DIR=$(BENCH_DATA) $(PY) bench/intake.py --duration $(BENCH_DURATION)
	OTDEL_DATA_DIR=$(BENCH_DATA) $(PY) bench/distribution.py --duration $(BENCH_DURATION)
	OTDEL_DATA_DIR=$(BENCH_DATA) $(PY) bench/documents.py
