# syntax=docker/dockerfile:1
#
# chatcart: WhatsApp ordering backend.
# One image runs every role; pick it with the command:
#   chatcart serve | chatcart worker | chatcart scheduler | chatcart migrate
# Configuration comes from the environment (DATABASE_URL, REDIS_URL, SHOP_NAME, ...).

ARG PYTHON_IMAGE=python:3.11-slim

# --------------------------------------------------------------------------
# builder: resolve the locked dependencies into /app/.venv
# --------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

# The uv release that wrote uv.lock (see .venv/pyvenv.cfg); override with --build-arg.
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"

# Build against the image's own interpreter (never a downloaded one), so the venv
# still works once copied into the runtime stage, which has the same /usr/local/bin/python3.
ENV UV_PYTHON=/usr/local/bin/python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1

WORKDIR /app

# Dependencies first: this layer is rebuilt only when pyproject.toml or uv.lock change.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-editable --no-install-project

# Then the project itself, installed as a regular (non-editable) package.
# README.md is read by hatchling for the package metadata.
COPY README.md ./
COPY app/ ./app/
RUN uv sync --frozen --no-dev --no-editable

# --------------------------------------------------------------------------
# runtime
# --------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

RUN groupadd --system --gid 10001 chatcart \
    && useradd --system --uid 10001 --gid 10001 --create-home \
        --home-dir /home/chatcart --shell /usr/sbin/nologin chatcart

WORKDIR /app

# Files stay root-owned (read-only for the service user).
COPY --from=builder /app/.venv /app/.venv
COPY app/ ./app/
COPY migrations/ ./migrations/
COPY piccolo_conf.py schema.graphql ./

ENV PATH="/app/.venv/bin:${PATH}" \
    VIRTUAL_ENV=/app/.venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    CHATCART_EMBEDDED=0 \
    ENVIRONMENT=production

USER 10001:10001

EXPOSE 8000

# Liveness only (the process answers). Readiness (PostgreSQL + Redis) is /health/ready,
# used by docker-compose.yml for the web service. Non-HTTP roles (worker, scheduler,
# migrate) must disable or override this check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('PORT', '8000'), timeout=4)"]

# Exec form: chatcart is PID 1 and receives SIGTERM directly.
CMD ["chatcart", "serve"]
