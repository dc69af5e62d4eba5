# chatcart — make serve | make test | make check
#
# Every target bootstraps .venv from uv.lock first, so a fresh clone needs only
# Python 3.11+ and make.

# The first Python 3.11 or 3.12 on PATH (the embedded Redis has wheels up to 3.12).
PYTHON ?= $(shell for p in python3.11 python3.12 python3; do command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 12))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.synced

.PHONY: serve test check audit lint format typecheck migrate seed schema clean help

help:
	@echo "make serve    run the shop (embedded PostgreSQL + Redis unless DATABASE_URL/REDIS_URL are set)"
	@echo "make test     run the whole test suite against real PostgreSQL and Redis"
	@echo "make check    ruff lint + format check, mypy, dependency audit (pip-audit)"
	@echo "make migrate  apply database migrations"
	@echo "make seed     load the demo catalog"

$(BIN)/uv:
	@if [ -z "$(PYTHON)" ]; then echo "chatcart needs Python 3.11 or 3.12 on PATH (or PYTHON=/path/to/python3.11)"; exit 1; fi
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { echo "$(PYTHON) cannot create virtual environments: install its venv module (Debian/Ubuntu: apt install python3-venv)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(STAMP): $(BIN)/uv pyproject.toml uv.lock
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --python $(BIN)/python
	@touch $(STAMP)

serve: $(STAMP)
	$(BIN)/chatcart serve --migrate

test: $(STAMP)
	$(BIN)/pytest

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@$(MAKE) --no-print-directory audit

# Every locked package, checked against the PyPI/OSV vulnerability data (needs network).
# --strict: a package that could not be checked fails the audit instead of passing it.
audit: $(STAMP)
	$(BIN)/uv export --frozen --format requirements-txt --no-emit-project --quiet -o $(VENV)/audit-requirements.txt
	$(BIN)/pip-audit --strict --require-hashes --disable-pip --progress-spinner off -r $(VENV)/audit-requirements.txt

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(STAMP)
	$(BIN)/chatcart migrate

seed: $(STAMP)
	$(BIN)/chatcart seed --demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
