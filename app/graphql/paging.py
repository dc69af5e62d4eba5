"""What every list of the API shares: page size, ids and opaque keyset cursors.

A cursor is the sort key of the last row of a page, joined with ``|`` and base64-encoded;
clients treat it as opaque and pass it back as ``after``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any, Final

import strawberry
from graphql import GraphQLError

from app.db.reads import fetch
from app.errors import ErrorCode

MAX_PAGE: Final = 100
INVALID: Final = {"code": ErrorCode.INVALID.value}


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="There are more after endCursor")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page")


# A list's ``totalCount``, counted only when a client asks for it: the board polls its
# pages all day and rarely shows the total.
Count = Callable[[], Awaitable[int]]


def counting(sql: str, *args: Any) -> Count:
    """Count with ``sql`` (one row with column ``n``) when, and if, it is asked for."""

    async def count() -> int:
        return int((await fetch(sql, *args))[0]["n"])

    return count


def check_page_size(first: int) -> None:
    if not 1 <= first <= MAX_PAGE:
        raise GraphQLError(f"`first` must be between 1 and {MAX_PAGE}.", extensions=INVALID)


def page_info(cursors: list[str], *, more: bool) -> PageInfo:
    return PageInfo(has_next_page=more, end_cursor=cursors[-1] if cursors else None)


def parse_id(value: str, field: str) -> int:
    if not str(value).isdigit() or len(str(value)) > 12:
        raise GraphQLError(f"`{field}` is not a valid id: {value!r}.", extensions=INVALID)
    return int(value)


def cursor(*key: object) -> str:
    return base64.urlsafe_b64encode("|".join(str(part) for part in key).encode()).decode()


def cursor_key(value: str, parts: int) -> list[str]:
    """The ``parts`` pieces of a cursor's key; a GraphQL error for anything else."""
    try:
        key = base64.urlsafe_b64decode(value.encode()).decode().split("|", parts - 1)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        key = []
    if len(key) != parts:
        raise GraphQLError("`after` is not a cursor from this list.", extensions=INVALID)
    return key


def id_cursor(row_id: int) -> str:
    """A cursor for lists kept in id order."""
    return cursor("id", row_id)


def decode_id_cursor(value: str) -> int:
    kind, row_id = cursor_key(value, 2)
    if kind != "id" or not row_id.isdigit():
        raise GraphQLError("`after` is not a cursor from this list.", extensions=INVALID)
    return int(row_id)
