# Two commands a newcomer needs: `make run` (the app on a built-in demo) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8050

.PHONY: run test test-quick lint bench clean

$(STAMP): requirements.txt requirements-dev.txt requirements-spark.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/auditapp serve --host $(HOST) --port $(PORT) --demo hiring

test: $(STAMP)
	$(BIN)/python -m pytest

test-quick: $(STAMP)
	$(BIN)/python -m pytest -m "not browser"

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
