"""One permission class per rule. Every field but ``login`` carries one of them."""

from __future__ import annotations

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


STAFF: list[type[BasePermission]] = [IsStaff]
ADMIN: list[type[BasePermission]] = [IsStaff, IsAdmin]
