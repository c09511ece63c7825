# Two commands: `make run` trains the hybrid model on the built-in dataset, `make test` runs
# the test suite. Both create .venv and install the package on first use, then reuse it.
# `make docs` builds the documentation site; CI runs it after `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: install run test lint format bench docs clean options

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstalls when pyproject.toml changes. The dependency ranges admit the torch 2.14.1 /
# torchvision 0.29.1 wheels that pip finds on this machine's disk.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev,docs]'
	touch $(STAMP)

# The hybrid on digits with the library's defaults, seeds 0-2: experiments/configs/digits_hybrid.yaml.
run: $(STAMP)
	$(PY) experiments/run.py --config experiments/configs/digits_hybrid.yaml $(ARGS)

test: $(STAMP) lint
	$(PY) -m pytest --durations=30

bench: $(STAMP)
	$(PY) benchmarks/data_throughput.py
	$(PY) benchmarks/vmmrdb_index.py
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/train_step.py
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/quantum_layers.py
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/fourier_twin.py
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/feature_extraction.py
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/frozen_search.py
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/frozen_checkpoint.py
	OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/frozen_overheads.py
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/partial_finetune.py
	$(PY) benchmarks/cli_startup.py

# The table of registered models' and datasets' options that --help and the command line's
# checks read without importing the models (hqnn_lightning/run/option_table.json); a test
# fails when it is out of date.
options: $(STAMP)
	$(PY) -m hqnn_lightning.run.option_table

# The documentation site (mkdocs.yml) into site/; any warning (a broken link, a docstring that
# does not parse) fails the build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

lint: $(STAMP)
	$(PY) -m ruff check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf runs lightning_logs wandb site .pytest_cache .ruff_cache .hypothesis
