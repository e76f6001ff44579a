PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint typecheck clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned, so nothing later can pull a CUDA build
	$(BIN)/python -m pip install --quiet -c constraints.txt torch
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: install
	$(BIN)/dnas search --out runs/demo
	$(BIN)/dnas retrain --arch runs/demo/architecture.json --out runs/demo-retrain --epochs 3
	# NAS-Bench-201 cells on MNIST-1D, DARTS' protocol (4 searches, the best by validation kept):
	# each found cell's percentile in the shipped table (one thread per search, as the table's
	# method benchmark ran: float sums in another order change the search)
	$(BIN)/dnas search --space nb201 --seeds 0,1,2,3 --processes 2 --threads 1 --out runs/demo-nb201

test: install
	$(BIN)/python -m pytest -q

# everything but the subprocess tests (torchrun, a killed run)
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check src tests benchmarks examples

# mypy on src/dnas (configured in pyproject.toml)
typecheck: install
	$(BIN)/mypy

clean:
	rm -rf $(VENV) runs .pytest_cache
