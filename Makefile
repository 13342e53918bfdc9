# Two commands a newcomer needs: `make run` (the app on a built-in demo) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AXE := tests/browser/node_modules/axe-core/axe.min.js
# plotly.js's cartesian partial bundle (a third of the full one; the charts use only its trace types),
# checked against its pinned sha512; without it the app uses the full plotly.js.
PLOTLY_PART := auditapp/figures/vendor/plotly-cartesian.min.js
HOST ?= 127.0.0.1
PORT ?= 8050

.PHONY: run test test-quick lint bench clean system-run system-test

$(STAMP): requirements.txt requirements-dev.txt requirements-spark.txt pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

# axe-core (WCAG checks in the browser tests), pinned in tests/browser/package-lock.json.
$(AXE): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	touch $(AXE)

$(PLOTLY_PART): tools/fetch_plotly_bundle.py | $(STAMP)
	$(BIN)/python tools/fetch_plotly_bundle.py

run: system-run $(STAMP) $(PLOTLY_PART)
	$(BIN)/auditapp serve --host $(HOST) --port $(PORT) --demo hiring

# System programs: installed with apt-get when missing and this user can (root); otherwise make stops at
# once with the one line to run. The app needs bubblewrap (the model sandbox); the tests also need Chromium
# (browser tests), redis-server (the scaled store and jobs), Java (the Spark engine's tests) and npm (it
# fetches the pinned axe-core the accessibility tests run).
RUN_PROGRAMS := bwrap=bubblewrap
TEST_PROGRAMS := $(RUN_PROGRAMS) chromium=chromium redis-server=redis-server java=openjdk-17-jre-headless npm=npm
system-run:
	@tools/system-packages.sh $(RUN_PROGRAMS)

system-test:
	@tools/system-packages.sh $(TEST_PROGRAMS)

test: system-test $(STAMP) $(PLOTLY_PART) $(AXE)
	$(BIN)/python -m pytest

test-quick: $(STAMP) $(PLOTLY_PART)
	$(BIN)/python -m pytest -m "not browser"

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/browser/node_modules
