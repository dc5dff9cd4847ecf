# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Two workers by default (CI machines have 2 cores); override with `make test WORKERS=4`.
WORKERS ?= 2

.PHONY: run test lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/portal migrate
	$(BIN)/portal serve --host 127.0.0.1 --port 8080

lint: $(STAMP)
	$(BIN)/ruff check portal tests bench admin_tools.py
	$(BIN)/ruff format --check portal tests bench admin_tools.py
	$(BIN)/mypy

test: $(STAMP) lint
	$(BIN)/python -m pytest -n $(WORKERS) tests

format: $(STAMP)
	$(BIN)/ruff format portal tests bench admin_tools.py
	$(BIN)/ruff check --fix portal tests bench admin_tools.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
