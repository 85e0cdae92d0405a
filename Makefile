# accoil-map: every target sets up .venv first (python3 -m venv + pip install -e '.[test]').
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo test deep lint bench golden clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

## The main job on the shipped sample events: Amplitude export -> Accoil call bodies.
demo: $(STAMP)
	$(BIN)/accoil-map validate mappings/*.yaml
	$(BIN)/accoil-map run mappings/amplitude.yaml -i samples/amplitude.ndjson --rejects out/amplitude.rejects.ndjson

## The test suite (unit, golden snapshots, property-based, security, robustness).
test: $(STAMP)
	$(BIN)/python -m pytest -q

## The deep property-based checks (many more examples; minutes).
deep: $(STAMP)
	ACCOIL_DEEP=1 $(BIN)/python -m pytest -q -m deep

lint: $(STAMP)
	$(BIN)/ruff check compiler tests

bench: $(STAMP)
	$(BIN)/python -m bench

golden: $(STAMP)
	for m in mappings/*.yaml; do $(BIN)/accoil-map golden $$m || exit 1; done

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
