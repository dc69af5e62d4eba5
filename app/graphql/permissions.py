"""One permission class per rule. Every field but ``login`` carries one of them."""

from __future__ import annotations

import time
from typing import Any

from strawberry.permission import BasePermission

from app.errors import ErrorCode
from app.graphql.context import Info


class IsStaff(BasePermission):
    """Any active staff member with a valid session (ADMIN or STAFF)."""

    message = "Log in first: send Authorization: Bearer <token>."
    error_extensions = {"code": ErrorCode.UNAUTHENTICATED.value}  # noqa: RUF012

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return await info.context.staff() is not None


class IsAdmin(BasePermission):
    """Only ADMIN: staff management and shop settings. Listed after ``IsStaff``, so a
    request without a session is told to log in rather than that it is forbidden."""

    message = "Only an ADMIN may do this."
    error_extensions = {"code": ErrorCode.FORBIDDEN.value}  # noqa: RUF012

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        staff = await info.context.staff()
        return staff is not None and staff.is_admin


class WithinRateLimit(BasePermission):
    """Expensive reads (lists, reports) are limited per token: a runaway screen or script
    cannot take the database from everyone else."""

    message = "Too many list and report requests; wait a minute."
    error_extensions = {"code": ErrorCode.RATE_LIMITED.value}  # noqa: RUF012

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        staff = await info.context.staff()
        if staff is None or staff.token_id is None:
            return False
        window = int(time.time() // 60)
        key = f"chatcart:graphql-rate:{staff.token_id}:{window}"
        redis = info.context.resources.redis
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
        return int(count) <= info.context.settings.graphql_list_rate_per_minute


STAFF: list[type[BasePermission]] = [IsStaff]
# For the expensive reads: staff, and within the per-token rate.
STAFF_THROTTLED: list[type[BasePermission]] = [IsStaff, WithinRateLimit]
ADMIN: list[type[BasePermission]] = [IsStaff, IsAdmin]
