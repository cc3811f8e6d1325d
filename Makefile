# Two commands for a fresh clone: `make demo` and `make test` (both create .venv and install into it).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# The CPU build of PyTorch; any other version (or a bare `torch`) pulls gigabytes of CUDA here.
TORCH ?= torch==2.13.0

.PHONY: demo test test-long install-serve install-dev clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.serve: pyproject.toml | $(PY)
	$(PIP) -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(PY)
	$(PIP) $(TORCH)
	$(PIP) -e '.[train,dev]'
	touch $@ $(VENV)/.serve

install-serve: $(VENV)/.serve
install-dev: $(VENV)/.dev

## Start `quill serve` with the shipped model, open a sample file through a real LSP client, print completions.
demo: $(VENV)/.serve
	$(VENV)/bin/quill demo

## Unit tests, the tiny train->export->serve pipeline, then end-to-end LSP tests with the shipped model.
test: $(VENV)/.dev
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
