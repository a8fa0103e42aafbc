# Language Model Lab — `make run` opens the app, `make test` runs the whole test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup run class haproxy gpu-check test browser axe benchmark clean

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

# A class on one port: REPLICAS Streamlit processes (default: one per core) behind HAProxy (README: Classroom).
REPLICAS ?= $(shell nproc)
class: $(STAMP) haproxy
	$(BIN)/python -m serve.launch --replicas $(REPLICAS) --port $(PORT)

# Every page's reading on the GPU against the CPU (|Δ| ≤ 1e-4) and the speed of each; needs an NVIDIA GPU.
gpu-check: $(STAMP)
	$(BIN)/python -m models.gpu_check

# Debian's HAProxy for `make class` (installed like chromium below).
haproxy:
	@command -v haproxy >/dev/null 2>&1 || test -x /usr/sbin/haproxy || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq haproxy >/dev/null; }

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# axe-core (npm) for the accessibility check inside the browser tests, pinned in package-lock.json.
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@
axe: node_modules/axe-core/axe.min.js

test: $(STAMP) browser haproxy axe
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

benchmark: $(STAMP)
	$(BIN)/python -m tests.benchmarks.lm_speed
	$(BIN)/python -m tests.benchmarks.shakespeare_char
	$(BIN)/python -m tests.benchmarks.latency
	$(BIN)/python -m tests.benchmarks.load
	$(BIN)/python -m tests.benchmarks.classroom

clean:
	rm -rf $(VENV) .pytest_cache node_modules
