"""The seam between chatcart and the ways a customer can pay.

A provider creates the instructions for one payment attempt, verifies an attempt on
request, and reads the webhooks it sends. What each answer *does* to an order is decided
by the use cases in ``app.payments.service``, never by a provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

MANUAL = "manual"
STRIPE = "stripe"


class Method(StrEnum):
    """What the customer chooses in the chat."""

    MANUAL = "manual"
    CARD = "card"


@dataclass(frozen=True, slots=True)
class Proof:
    """A picture or document the customer sent to show they paid (WhatsApp media id)."""

    media_id: str
    mime_type: str | None = None
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentDraft:
    """A payment attempt as the provider needs it to produce instructions."""

    payment_id: int
    order_id: int
    order_number: int
    reference: str
    amount: int
    currency: str
    expires_at: datetime
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Instructions:
    provider_payment_id: str | None = None  # e.g. the Checkout Session id
    checkout_url: str | None = None
    # When the gateway needs longer than the order's deadline (Stripe: at least 30 min).
    expires_at: datetime | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


class Outcome(StrEnum):
    """What a provider says about one attempt."""

    PAID = "paid"
    PENDING = "pending"  # nothing final yet (e.g. a bank debit still clearing)
    FAILED = "failed"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # this provider cannot tell: a person verifies it


@dataclass(frozen=True, slots=True)
class Verification:
    outcome: Outcome
    amount: int | None = None
    currency: str | None = None
    provider_payment_id: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ProviderWebhook:
    """A verified webhook event, reduced to what the use cases need."""

    provider: str
    event_id: str
    type: str
    verification: Verification | None  # None: an event type chatcart does not act on
    payment_id: int | None  # from the metadata we gave the provider
    reference: str | None  # ditto: both must match, or the event is not ours
    provider_payment_id: str | None
    payload: Mapping[str, Any]


class WebhookRejected(Exception):
    """The webhook is forged, stale or unreadable; nothing was changed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailable(Exception):
    """The provider could not do it now (down, circuit open, refused); try another way."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PaymentProvider(Protocol):
    name: str

    async def create_instructions(self, draft: PaymentDraft) -> Instructions: ...

    async def verify(self, provider_payment_id: str | None) -> Verification: ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> ProviderWebhook: ...

    async def cancel(self, provider_payment_id: str) -> None:
        """Stop the attempt at the provider (e.g. expire a checkout link), if it can."""
        ...


class ManualProvider:
    """Bank transfer or mobile money: the customer pays outside, a person confirms."""

    name = MANUAL

    async def create_instructions(self, draft: PaymentDraft) -> Instructions:
        return Instructions()

    async def verify(self, provider_payment_id: str | None) -> Verification:
        return Verification(Outcome.UNKNOWN, detail="a person checks manual payments")

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> ProviderWebhook:
        raise WebhookRejected("manual payments have no webhook")

    async def cancel(self, provider_payment_id: str) -> None:
        return None
