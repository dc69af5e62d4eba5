"""Close live WebSockets with 1001 (Going Away) when a web process is told to stop.

granian stops its server the moment a worker gets SIGTERM and drops open WebSockets
without a close frame, so screens see 1006 (abnormal closure); the ASGI lifespan
shutdown runs only afterwards, too late to close them (emmett-framework/granian#796).
So each web worker takes SIGTERM and SIGINT itself: it sends every socket it serves a
1001 close, then lets granian stop as it would have (it stops accepting and finishes the
HTTP requests in flight). A screen that gets 1001 reconnects to another instance and
resumes with ``after``.

The hook replaces ``granian._signals.set_loop_signals``, which granian's worker looks up
after loading the app; ``tests/e2e/test_graceful_stop.py`` proves it still works with
the pinned granian.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

log = structlog.get_logger(__name__)

GOING_AWAY = 1001
# How long the close frames get to leave before granian stops the server.
FLUSH_SECONDS = 0.3
# A peer that does not read (a sleeping laptop) must not hold up the stop.
CLOSE_SECONDS = 2.0
REPEAT_SECONDS = 1.0

_open: set[Send] = set()
_installed = False


def track_websockets(app: ASGIApp) -> ASGIApp:
    """Remember the WebSockets this process serves, so ``close_all`` can reach them."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.WEBSOCKET:
            await app(scope, receive, send)
            return
        _open.add(send)
        try:
            await app(scope, receive, send)
        finally:
            _open.discard(send)

    return middleware


async def close_all(reason: str = "server restarting") -> int:
    """Send every open WebSocket a Going Away close; how many were open."""
    sockets = list(_open)

    async def close(send: Send) -> None:
        with contextlib.suppress(Exception):  # already closing, or the peer is gone
            await send({"type": "websocket.close", "code": GOING_AWAY, "reason": reason})

    await asyncio.gather(*(close(send) for send in sockets))
    return len(sockets)


def take_stop_signals() -> None:
    """Make granian's workers close WebSockets before they stop (see the module doc)."""
    global _installed
    if "granian._signals" not in sys.modules or _installed:
        return  # not served by granian (tests, tools), or done already
    import granian._signals as granian_signals
    from granian._granian import WorkerSignal

    def set_loop_signals(loop: asyncio.AbstractEventLoop) -> Any:
        stopping = WorkerSignal()
        first: float | None = None
        closing: set[asyncio.Task[None]] = set()  # keeps the task referenced while it runs

        async def going_away() -> None:
            try:
                closed = await asyncio.wait_for(close_all(), CLOSE_SECONDS)
                log.info("stopping: websockets closed", websockets=closed)
                if closed:
                    await asyncio.sleep(FLUSH_SECONDS)
            except TimeoutError:
                log.warning("stopping: websockets did not close in time")
            except Exception:
                log.exception("stopping: closing websockets failed")
            finally:
                stopping.set()

        def on_signal(signum: int) -> None:
            nonlocal first
            now = loop.time()
            if first is None:
                first = now
                task = loop.create_task(going_away())
                closing.add(task)
                task.add_done_callback(closing.discard)
            elif now - first > REPEAT_SECONDS:
                stopping.set()  # asked again, later: stop now
            # A repeat within REPEAT_SECONDS is the same stop delivered twice (granian's
            # supervisor forwards the signal the worker may already have had).

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, on_signal, signum)
        return stopping

    granian_signals.set_loop_signals = set_loop_signals
    _installed = True
