"""Give every request an id, bind it to the log context and echo it back."""

from __future__ import annotations

import itertools
import os
import re
import secrets
import time

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
_ACCEPTED = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")
log = structlog.get_logger("app.web.access")


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or _new_id()
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    (_HEADER_NAME, request_id.encode()),
                ]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await app(scope, receive, send_with_id)
            finally:
                if not scope["path"].startswith("/health/"):
                    log.info(
                        "request",
                        method=scope.get("method"),
                        path=scope["path"],
                        status=status,
                        duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    )

    return middleware


# 32 hex characters: this process's random half, then a count. Unique without asking the
# operating system for randomness on every request (uuid4 did, a few % of a webhook).
_HEADER_NAME = HEADER.encode()
_PROCESS_PART = secrets.token_hex(8)
_count = itertools.count()


def _new_process() -> None:  # web workers forked after import get their own half
    global _PROCESS_PART, _count
    _PROCESS_PART, _count = secrets.token_hex(8), itertools.count()


os.register_at_fork(after_in_child=_new_process)


def _new_id() -> str:
    return f"{_PROCESS_PART}{next(_count):016x}"


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _HEADER_NAME:
            candidate = value.decode("latin-1")
            return candidate if _ACCEPTED.match(candidate) else None
    return None
