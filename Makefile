# Two commands a newcomer needs: `make run` (the app on a built-in demo) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AXE := tests/browser/node_modules/axe-core/axe.min.js
HOST ?= 127.0.0.1
PORT ?= 8050

.PHONY: run test test-quick lint bench clean java

$(STAMP): requirements.txt requirements-dev.txt requirements-spark.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

# axe-core (WCAG checks in the browser tests), pinned in tests/browser/package-lock.json.
$(AXE): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	touch $(AXE)

run: $(STAMP)
	$(BIN)/auditapp serve --host $(HOST) --port $(PORT) --demo hiring

# The Spark engine's tests need Java: Debian's headless JRE is installed where none is found (as root).
JAVA_PACKAGE ?= openjdk-17-jre-headless
java:
	@command -v java >/dev/null 2>&1 || { echo "Installing $(JAVA_PACKAGE) for the Spark tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(JAVA_PACKAGE) >/dev/null; }

test: $(STAMP) $(AXE) java
	$(BIN)/python -m pytest

test-quick: $(STAMP)
	$(BIN)/python -m pytest -m "not browser"

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/browser/node_modules
