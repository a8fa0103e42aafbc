# Language Model Lab — `make run` opens the app, `make test` runs the whole test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup run test browser axe benchmark clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

# Starts Streamlit, warms it up with one script run (so a first deep link meets no "Page not found"), then prints
# the address. PORT=8502 make run for another port.
PORT ?= 8501
run: $(STAMP)
	$(BIN)/python -m serve.run --port $(PORT)

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# axe-core (npm) for the accessibility check inside the browser tests, pinned in package-lock.json.
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@
axe: node_modules/axe-core/axe.min.js

test: $(STAMP) browser axe
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

benchmark: $(STAMP)
	$(BIN)/python -m tests.benchmarks.lm_speed
	$(BIN)/python -m tests.benchmarks.shakespeare_char
	$(BIN)/python -m tests.benchmarks.latency
	$(BIN)/python -m tests.benchmarks.load

clean:
	rm -rf $(VENV) .pytest_cache node_modules
