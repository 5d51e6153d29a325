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
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

# The main job on a laptop: simulate, generate catalogued datasets, train and evaluate an EGNN
# (about two minutes), train two short field models and compare the fields they discovered.
demo: $(STAMP)
	$(BIN)/fieldlab simulate charged --n-sims 4 --seed 0 --plot data/demo/traj.png
	$(BIN)/fieldlab generate egnn-charged-3d-mini
	$(BIN)/fieldlab catalog verify egnn-charged-3d-mini
	$(BIN)/fieldlab train --dataset egnn-charged-3d-mini --model egnn --epochs 1000 --minutes 2 --no-progress --set all_frames=true --set patience=null --set run_name=demo-egnn
	$(BIN)/fieldlab evaluate latest --dataset egnn-charged-3d-mini
	$(BIN)/fieldlab generate aether-electrostatic-2d-mini
	$(BIN)/fieldlab train --dataset aether-electrostatic-2d-mini --model field --minutes 1 --hidden 32 --layers 2 --no-progress --set all_frames=true --set max_train=200 --set run_name=demo-field-a --study demo-fields
	$(BIN)/fieldlab train --dataset aether-electrostatic-2d-mini --model field --minutes 1 --hidden 32 --layers 2 --no-progress --set all_frames=true --set max_train=200 --set run_name=demo-field-b --set "field={fourier_sigma: 1.0}" --study demo-fields
	$(BIN)/fieldlab fields compare --dataset aether-electrostatic-2d-mini --last 2 --out data/demo/field_comparison.png
	$(BIN)/fieldlab catalog list
	@echo
	$(BIN)/fieldlab ui --dry-run

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/simulators.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
