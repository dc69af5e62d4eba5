"""Expected failures as values: every mutation payload carries ``errors: [UserError!]!``."""

from __future__ import annotations

import strawberry

from app.errors import DomainError, ErrorCode

UserErrorCode = strawberry.enum(ErrorCode, name="UserErrorCode", description="Why it failed.")


@strawberry.type(description="A problem with the input or the state, for a person to read.")
class UserError:
    field: str | None = strawberry.field(
        description="The input field at fault (camelCase), or null when it is the whole request"
    )
    message: str = strawberry.field(description="What went wrong and how to fix it")
    code: UserErrorCode = strawberry.field(description="Stable code to branch on")  # type: ignore[valid-type]


def user_errors(error: DomainError) -> list[UserError]:
    field = _camel(error.field) if error.field else None
    return [UserError(field=field, message=error.message, code=error.code)]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
