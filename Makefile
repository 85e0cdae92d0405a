# accoil-map: every target sets up .venv first (python3 -m venv, then the project
# with its test dependencies at the versions locked in requirements/test.txt).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LOCK   := requirements/test.txt
UV     ?= uv
# The tests find the tools of the venv (ruff, accoil-map) on PATH.
RUN    := PATH="$(abspath $(BIN)):$$PATH"
# The editor language server that tests/test_editor.py drives, pinned by its lock.
EDITOR := tests/editor/node_modules/.package-lock.json
NODE   := $(shell command -v node 2>/dev/null)

.PHONY: setup demo demo-send test test-latest deep lint bench golden wheel-check lock clean editor-server

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(LOCK) -e '.[test,backfill]'
	touch $(STAMP)

setup: $(STAMP)

## yaml-language-server at the version in tests/editor/package-lock.json (needs node and npm).
$(EDITOR): tests/editor/package.json tests/editor/package-lock.json
	npm ci --prefix tests/editor --no-audit --no-fund

editor-server: $(EDITOR)

## The main job on the shipped sample events: Amplitude export -> Accoil call bodies.
demo: $(STAMP)
	$(BIN)/accoil-map validate mappings/*.yaml
	$(BIN)/accoil-map run mappings/amplitude.yaml -i samples/amplitude.ndjson --rejects out/amplitude.rejects.ndjson

## The same calls delivered to a fake Accoil on 127.0.0.1 (journal in out/demo-send, started afresh).
demo-send: $(STAMP)
	rm -rf out/demo-send
	$(BIN)/python -m tests.fake_accoil -- $(BIN)/accoil-map run mappings/amplitude.yaml -i samples/amplitude.ndjson --send --state out/demo-send

## The test suite (unit, golden snapshots, property-based, security, robustness, editor).
## Without node the editor test is skipped (and fails under CI).
test: $(STAMP) $(if $(NODE),$(EDITOR))
	$(RUN) $(BIN)/python -m pytest -q

## The same suite against the newest releases of every dependency (drift, seen on purpose).
test-latest:
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --disable-pip-version-check --upgrade -e '.[test,backfill]'
	PATH="$(abspath .venv-latest/bin):$$PATH" .venv-latest/bin/python -m pytest -q

## The deep property-based checks (many more examples; minutes).
deep: $(STAMP)
	ACCOIL_DEEP=1 $(RUN) $(BIN)/python -m pytest -q -m deep

lint: $(STAMP)
	$(BIN)/ruff check compiler tests bench
	$(BIN)/ruff format --check compiler

bench: $(STAMP)
	$(BIN)/python -m bench

golden: $(STAMP)
	$(BIN)/accoil-map test

## Build the wheel and use it from a fresh venv outside the checkout.
wheel-check:
	bash .ci/wheel-check

## Regenerate the locks after changing dependencies in pyproject.toml.
lock:
	$(UV) pip compile pyproject.toml --extra test --extra backfill --python-version 3.11 --universal -o $(LOCK)
	$(UV) pip compile requirements/build.in --python-version 3.11 --universal -o requirements/build.txt

clean:
	rm -rf $(VENV) .venv-latest out .pytest_cache .hypothesis tests/editor/node_modules
