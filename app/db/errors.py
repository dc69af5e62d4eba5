"""Which database errors mean "PostgreSQL is not there right now" (retry later)."""

from __future__ import annotations

import asyncpg

DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,
    asyncpg.InterfaceError,  # the connection went away under us
    asyncpg.InternalClientError,  # ... or was cut mid-operation and left in a bad state
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    # "database ... is not currently accepting connections" (ALLOW_CONNECTIONS false)
    asyncpg.ObjectNotInPrerequisiteStateError,
)
