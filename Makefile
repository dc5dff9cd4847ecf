# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Two workers by default (CI machines have 2 cores); override with `make test WORKERS=4`.
WORKERS ?= 2

# The web client (web/): built into web/dist when its sources change, where Node.js and npm exist.
WEB_STAMP := web/dist/.built
WEB_SOURCES := $(wildcard web/package.json web/package-lock.json web/index.html web/tsconfig.json \
	web/vite.config.ts) $(shell find web/src web/public -type f 2>/dev/null)
WEB := $(if $(wildcard web/package.json),$(WEB_STAMP))
NODE_OK := node -e 'const [a, b] = process.versions.node.split(".").map(Number); \
	process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'
# `npm ci` (which starts from an empty node_modules) runs only when the lock file or package.json changed.
WEB_DEPS_CURRENT := [ node_modules/.package-lock.json -nt package-lock.json ] && \
	[ node_modules/.package-lock.json -nt package.json ]
CHROMIUM_PACKAGES := chromium fonts-noto-color-emoji

.PHONY: run test soak bench lint format clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Without npm (or with a Node.js older than Vite needs) the build is skipped with one line: the server then
# serves a page at / saying how to get it, and the API works as before.
$(WEB_STAMP): $(WEB_SOURCES)
	@if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then \
		echo "web client not built: install Node.js >= 20.19 and npm; the API works without it"; \
	elif ! $(NODE_OK); then \
		echo "web client not built: Node.js $$(node --version) is too old, install Node.js >= 20.19 and npm; the API works without it"; \
	else \
		cd web && { $(WEB_DEPS_CURRENT) || npm ci --no-audit --no-fund; } && npm run build && touch dist/.built; \
	fi

# The shared browser needs Debian's Chromium (never a downloaded one); emoji need the Noto font.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" -eq 0 ]; then \
			echo "installing Debian's chromium for the shared browser"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
				$(CHROMIUM_PACKAGES) || echo "could not install chromium: shared browsers stay off"; \
		else \
			echo "the shared browser needs Chromium: sudo apt-get install $(CHROMIUM_PACKAGES)"; \
		fi; \
	fi

run: $(STAMP) $(WEB) browser
	$(BIN)/portal migrate
	$(BIN)/portal serve --host 127.0.0.1 --port 8080

lint: $(STAMP) $(WEB)
	$(BIN)/ruff check portal tests bench admin_tools.py
	$(BIN)/ruff format --check portal tests bench admin_tools.py
	$(BIN)/mypy
	@if [ -d web/node_modules ]; then echo "cd web && npx tsc --noEmit"; cd web && npx tsc --noEmit; fi

test: $(STAMP) $(WEB) lint
	$(BIN)/python -m pytest -n $(WORKERS) tests

# The slow reliability runs (docs/reliability.md): run before resolving reliability work, not on every change.
soak: $(STAMP) $(WEB)
	$(BIN)/python -m pytest -n $(WORKERS) -m soak --timeout 1800 tests

# Every hot path beside its ceiling (docs/performance.md): ~15 min on 2 cores; needs wrk, and PostgreSQL +
# Redis for half of it (skipped loudly without them). Run it on a quiet machine.
bench: $(STAMP)
	ulimit -n $$(ulimit -Hn); $(BIN)/python -m bench

format: $(STAMP)
	$(BIN)/ruff format portal tests bench admin_tools.py
	$(BIN)/ruff check --fix portal tests bench admin_tools.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache web/dist web/node_modules
