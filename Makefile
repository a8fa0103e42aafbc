# Language Model Lab: `make test` sets up .venv and runs the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test benchmark clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

benchmark: $(STAMP)
	$(BIN)/python -m tests.benchmarks.lm_speed
	$(BIN)/python -m tests.benchmarks.shakespeare_char

clean:
	rm -rf $(VENV) .pytest_cache
