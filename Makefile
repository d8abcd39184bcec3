# Developer commands. A fresh clone needs only Python 3.11+, make and git:
# everything else is installed into .venv from requirements*.txt.
#
#   make run               migrate, load the demo, serve http://127.0.0.1:8000 with a Celery worker and beat
#   make test              the whole test suite (SQLite; PostgreSQL + Redis when DATABASE_URL and REDIS_URL are set)
#   make test ARGS="-k seed -x"   extra pytest arguments

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=
ADDR ?= 127.0.0.1:8000

.DEFAULT_GOAL := help
.PHONY: help run test install install-dev clean

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The stamp files record what was installed: pip runs again only when a requirements file is newer.
$(VENV)/.installed-requirements: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-requirements-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed-requirements

install-dev: $(VENV)/.installed-requirements-dev

# `make run` is for a laptop: DEBUG is always on (seed_demo refuses to run without it).
run: export DEBUG = true
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python scripts/devserver.py --addr $(ADDR)

test: install-dev
	$(BIN)/python -m pytest $(ARGS)

clean:
	rm -rf $(VENV) staticfiles .test-media .pytest_cache celerybeat-schedule* test-db*.sqlite3*
