# Two commands: `make demo` runs the main job, `make test` passes the whole suite.
# Each installs what it needs itself (a virtual environment with pinned dependencies,
# and for tests Debian's Chromium).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint chromium bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/grassroots demo

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .

chromium:
	@scripts/ensure-chromium.sh

bench: $(STAMP)
	$(BIN)/grassroots bench

clean:
	rm -rf $(VENV) instance/test-pgdata .pytest_cache
