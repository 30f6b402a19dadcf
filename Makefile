# Two entry points on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FROM ?=
VOTES ?=
SET ?= cs
DAYS ?= 3
PORT ?= 8000
export PAPERWIRE_HOME ?= $(CURDIR)/paperwire-data

.PHONY: demo test test-all install lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,zotero]'
	$(BIN)/python -m pip install -q --no-deps 'pyzotero==1.16.0'  # see pyproject: zotero
	touch $@

install: $(BIN)/.installed

## demo: install, initialise the data directory, ingest papers (FROM=file, else arXiv) and
## community votes (VOTES=hf-daily file, optional), index, serve
demo: install
	$(BIN)/paperwire init
ifeq ($(FROM),)
	$(BIN)/paperwire ingest oai --set $(SET) --from $$(date -u -d '$(DAYS) days ago' +%Y-%m-%d)
else
	$(BIN)/paperwire ingest file $(FROM)
endif
ifneq ($(VOTES),)
	$(BIN)/paperwire ingest hf-daily $(VOTES)
endif
	$(BIN)/paperwire stats
	$(BIN)/paperwire index
	$(BIN)/paperwire serve --host 127.0.0.1 --port $(PORT)

## test: install what the tests need (Python and Debian packages), lint, type-check, run them
test: install
	bash scripts/install-test-deps.sh
	$(BIN)/ruff check paperwire tests bench
	$(BIN)/mypy
	PAPERWIRE_TEST_REQUIRE_POSTGRES=1 $(BIN)/python -m pytest -m 'not slow' --durations=25

## test-all: the slow tests too (full 75k ingest, ...)
test-all: install
	bash scripts/install-test-deps.sh
	$(BIN)/python -m pytest -m ''

lint: install
	$(BIN)/ruff check paperwire tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/trending.py

clean:
	rm -rf $(VENV) build *.egg-info
