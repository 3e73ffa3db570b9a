# Two commands do all the set-up on a fresh machine:
#   make demo   installs what is missing, then restores the example photo
#   make test   installs what is missing, then runs the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# PyTorch first, pinned to the CPU build this machine's package index serves: a bare `torch`
# requirement would pull a CUDA build of several GB. Override with `make TORCH_SPEC=...`.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck docs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[test,train]"
	touch $(STAMP)

demo: install
	$(BIN)/uhdrestore fix examples/rainy_meadow.png --overwrite --compare examples/rainy_meadow_compare.png

test: install
	$(BIN)/python -m pytest -q

# ruff over the whole tree (a second, not part of make test); pyright basic over the package.
lint: install
	$(BIN)/python -c "import ruff" 2>/dev/null || $(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/ruff check .

typecheck: install
	test -x $(BIN)/pyright || $(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/pyright

# docs/cli.md, every command's options, generated from the Typer app (tests/test_docs.py checks it is current).
docs: install
	$(BIN)/python -m typer uhdrestore.cli utils docs --name uhdrestore --output docs/cli.md

clean:
	rm -rf $(VENV) build *.egg-info
