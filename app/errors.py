"""Domain errors: expected failures with a stable code, a human message and the field at fault.

Entry points translate them: HTTP answers 4xx with the code and message (see
``app.web.errors``), GraphQL returns them as ``UserError`` values, the chat turns them
into a friendly reply. Anything that is not a ``DomainError`` is unexpected: it is
logged with context and masked.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE = "DUPLICATE"
    STALE_VERSION = "STALE_VERSION"
    ILLEGAL_TRANSITION = "ILLEGAL_TRANSITION"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    UNAVAILABLE = "UNAVAILABLE"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    EMPTY_CART = "EMPTY_CART"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"


class DomainError(Exception):
    """An expected failure. Nothing was changed when one is raised from a use case."""

    code: ErrorCode = ErrorCode.INVALID
    http_status: int = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code.value, "message": self.message, "field": self.field}


class InvalidInput(DomainError):
    code = ErrorCode.INVALID
    http_status = 422


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND
    http_status = 404


class Duplicate(DomainError):
    code = ErrorCode.DUPLICATE
    http_status = 409


class StaleVersion(DomainError):
    code = ErrorCode.STALE_VERSION
    http_status = 409


class IllegalTransition(DomainError):
    code = ErrorCode.ILLEGAL_TRANSITION
    http_status = 409

    def __init__(self, entity: str, current: str, target: str) -> None:
        article = "An" if entity[:1].lower() in "aeiou" else "A"
        super().__init__(
            f"{article} {entity} that is {current} cannot become {target}.", field="status"
        )
        self.entity = entity
        self.current = current
        self.target = target


class Unauthenticated(DomainError):
    """No valid credentials: log in first (or again)."""

    code = ErrorCode.UNAUTHENTICATED
    http_status = 401


class Forbidden(DomainError):
    """Valid credentials, but this role may not do it."""

    code = ErrorCode.FORBIDDEN
    http_status = 403


class RateLimited(DomainError):
    code = ErrorCode.RATE_LIMITED
    http_status = 429


class PaymentClosed(DomainError):
    """The payment or its order no longer takes money (expired, cancelled, paid)."""

    code = ErrorCode.ILLEGAL_TRANSITION
    http_status = 409


class OutOfStock(DomainError):
    code = ErrorCode.OUT_OF_STOCK
    http_status = 409

    def __init__(self, sku: str, name: str, requested: int, available: int | None) -> None:
        left = "none" if not available else f"only {available}"
        super().__init__(
            f"{name} ({sku}) is out of stock: {requested} requested, {left} left.",
            field="quantity",
        )
        self.sku = sku
        self.name = name
        self.requested = requested
        self.available = available


class Unavailable(DomainError):
    code = ErrorCode.UNAVAILABLE
    http_status = 409


class CurrencyMismatch(DomainError):
    code = ErrorCode.CURRENCY_MISMATCH
    http_status = 422


class EmptyCart(DomainError):
    code = ErrorCode.EMPTY_CART
    http_status = 422
