# chatcart — make serve | make test | make check
#
# Every target bootstraps .venv from uv.lock first, so a fresh clone needs only
# Python 3.11+ and make.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.synced

.PHONY: serve test check lint format typecheck migrate seed schema clean help

help:
	@echo "make serve    run the shop (embedded PostgreSQL + Redis unless DATABASE_URL/REDIS_URL are set)"
	@echo "make test     run the whole test suite against real PostgreSQL and Redis"
	@echo "make check    ruff lint + format check, mypy"
	@echo "make migrate  apply database migrations"
	@echo "make seed     load the demo catalog"

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(STAMP): $(BIN)/uv pyproject.toml uv.lock
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --python $(BIN)/python
	@touch $(STAMP)

serve: $(STAMP)
	$(BIN)/chatcart serve --migrate --seed-demo

test: $(STAMP)
	$(BIN)/pytest

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(STAMP)
	$(BIN)/chatcart migrate

seed: $(STAMP)
	$(BIN)/chatcart seed --demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
