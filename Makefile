# fieldlab: two commands on a fresh machine: `make demo` runs the main job, `make test` the tests.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test demo lint format bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (fieldlab pins Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade "pip>=24"
	$(BIN)/pip install -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/fieldlab simulate charged --n-sims 4 --seed 0 --plot data/demo/traj.png
	$(BIN)/fieldlab generate egnn-charged-3d-mini
	$(BIN)/fieldlab catalog verify egnn-charged-3d-mini
	$(BIN)/fieldlab catalog list

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/simulators.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
