# Two commands for a fresh clone: `make demo` and `make test` (both create .venv and install into it).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# The CPU build of PyTorch; any other version (or a bare `torch`) pulls gigabytes of CUDA here.
TORCH ?= torch==2.13.0

.PHONY: demo test test-python test-vscode test-long install-serve install-dev clean

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

## Everything CI runs: the Python suite (unit, pipeline, end-to-end LSP and Neovim tests), then the VS Code extension.
test: test-python test-vscode

## The import contracts (pyproject.toml [tool.importlinter]: packages and lsp_server's layers import one way),
## then unit tests, the tiny train->export->serve pipeline, end-to-end LSP tests (and the headless Neovim test).
test-python: $(VENV)/.dev
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

## Reliability tests at full size (QUILL_LONG=1): 5,000 edit sequences, 5,000 edits + completions, 1,000 documents.
test-long: $(VENV)/.dev
	QUILL_LONG=1 $(PY) -m pytest -q -s tests/lsp_server/server/test_reliability_*.py \
	  tests/lsp_server/server/test_hostile.py tests/e2e/test_reliability_*.py tests/e2e/test_sweep_e2e.py

## The VS Code extension: npm ci, tsc, node:test (a Node.js 20+ with npm; skipped with a notice when npm is
## missing, unless QUILL_REQUIRE_NODE is set, as .ci/run does). Its settings test reads lsp_server/config.py;
## its package test runs `npm run package` (esbuild + vsce) and prints the .vsix's size and files.
test-vscode: $(VENV)/.dev
	@if ! command -v npm >/dev/null 2>&1; then \
	  if [ -n "$$QUILL_REQUIRE_NODE" ]; then echo "npm not found and QUILL_REQUIRE_NODE is set" >&2; exit 1; fi; \
	  echo "SKIPPED the VS Code extension's checks: npm is not installed"; exit 0; fi; \
	cd editors/vscode && npm ci --no-audit --no-fund && npm run compile && QUILL_PYTHON="$(abspath $(PY))" npm test

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
