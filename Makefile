# `make test` and `make demo` work on a fresh machine: they create .venv and install the project.
# `make demo` installs only the runtime dependencies; `make test` adds the dev extra. Each
# install is remembered in a stamp file and redone only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
# pytest-xdist workers for `make unit`: 2, the cores of the machine the suite is sized for (more
# workers than cores measured slower). `make unit TEST_WORKERS=auto` uses every core you have.
TEST_WORKERS ?= 2

.PHONY: install test lint typecheck unit docs demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The dev extra includes the runtime dependencies, so its install satisfies both stamps.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(RUNTIME_STAMP) $@

install: $(DEV_STAMP)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy --strict agentloop toolboxes

# --dist loadgroup: tests marked xdist_group (Ray, the MCP servers) stay on one worker.
unit: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

docs: $(DEV_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

test: lint typecheck unit docs

demo: $(RUNTIME_STAMP)
	$(BIN)/python examples/quickstart.py

bench: $(DEV_STAMP)
	$(BIN)/python benchmarks/step_overhead.py

clean:
	rm -rf $(VENV) site .mypy_cache .ruff_cache .pytest_cache .hypothesis
