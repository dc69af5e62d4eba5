"""Card payments through Stripe Checkout, as a ``PaymentProvider``.

Every call to Stripe goes through the ``GatewayGuard`` (timeouts, retries for transient
errors, a circuit breaker shared through Redis); whatever stops a call becomes
``ProviderUnavailable``, so the use cases offer the manual method instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import structlog
from redis.exceptions import RedisError

from app.payments.gateway import GatewayGuard, GatewayUnavailable
from app.payments.providers import (
    STRIPE,
    Instructions,
    Outcome,
    PaymentDraft,
    ProviderUnavailable,
    ProviderWebhook,
    Verification,
    WebhookRejected,
)
from app.payments.stripe import (
    CheckoutRequest,
    CheckoutSession,
    StripeClient,
    StripeError,
    StripeSignatureError,
    parse_event,
    verify_signature,
)

log = structlog.get_logger(__name__)
T = TypeVar("T")

# Stripe refuses a Checkout Session that expires sooner than 30 minutes or later than 24
# hours after creation; the margins cover the time the request (and its retries) take.
SHORTEST_SESSION = timedelta(minutes=32)
LONGEST_SESSION = timedelta(hours=23, minutes=55)
SIGNATURE_HEADER = "stripe-signature"

# Event type → what it says about the attempt. "completed" alone is not enough: a bank
# debit completes the session unpaid and reports later (async_payment_succeeded/failed).
_EVENT_OUTCOMES: Mapping[str, Outcome] = {
    "checkout.session.completed": Outcome.PAID,
    "checkout.session.async_payment_succeeded": Outcome.PAID,
    "checkout.session.async_payment_failed": Outcome.FAILED,
    "checkout.session.expired": Outcome.EXPIRED,
}


class StripeProvider:
    name = STRIPE

    def __init__(
        self,
        client: StripeClient,
        guard: GatewayGuard,
        *,
        webhook_secrets: list[str],
        return_url: str,
    ) -> None:
        self._client = client
        self._guard = guard
        self._secrets = webhook_secrets
        self._return_url = return_url

    @property
    def guard(self) -> GatewayGuard:
        return self._guard

    async def create_instructions(self, draft: PaymentDraft) -> Instructions:
        now = datetime.now(UTC)
        expires_at = min(max(draft.expires_at, now + SHORTEST_SESSION), now + LONGEST_SESSION)
        request = CheckoutRequest(
            amount=draft.amount,
            currency=draft.currency,
            description=f"Order #{draft.order_number}",
            reference=draft.reference,
            order_number=draft.order_number,
            payment_id=draft.payment_id,
            expires_at=int(expires_at.timestamp()),
            success_url=f"{self._return_url}?paid=1",
            cancel_url=self._return_url,
        )
        session = await self._call(
            lambda: self._client.create_checkout_session(
                request, idempotency_key=draft.idempotency_key
            )
        )
        if not session.url:
            raise ProviderUnavailable("Stripe returned a session without a payment link")
        return Instructions(
            provider_payment_id=session.id,
            checkout_url=session.url,
            expires_at=datetime.fromtimestamp(session.expires_at or request.expires_at, UTC),
            data={"session": session.id},
        )

    async def verify(self, provider_payment_id: str | None) -> Verification:
        if not provider_payment_id:
            return Verification(Outcome.UNKNOWN, detail="no Checkout Session yet")
        session = await self._call(
            lambda: self._client.retrieve_checkout_session(provider_payment_id)
        )
        return _session_verification(session)

    async def cancel(self, provider_payment_id: str) -> None:
        await self._call(lambda: self._client.expire_checkout_session(provider_payment_id))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> ProviderWebhook:
        try:
            verify_signature(body, headers.get(SIGNATURE_HEADER), self._secrets)
        except StripeSignatureError as exc:
            raise WebhookRejected(exc.reason) from None
        try:
            event = parse_event(body)
        except ValueError as exc:
            raise WebhookRejected(str(exc)) from None
        session = event.session
        outcome = _EVENT_OUTCOMES.get(event.type)
        verification = None
        if session is not None and outcome is not None:
            if outcome is Outcome.PAID and session.payment_status != "paid":
                outcome = Outcome.PENDING  # completed, but the money is still on its way
            verification = Verification(
                outcome,
                amount=session.amount_total,
                currency=session.currency,
                provider_payment_id=session.id,
                detail=event.type,
            )
        return ProviderWebhook(
            provider=STRIPE,
            event_id=event.id,
            type=event.type,
            verification=verification,
            payment_id=_payment_id(session),
            reference=session.metadata.get("reference") if session else None,
            provider_payment_id=session.id if session else None,
            payload={"id": event.id, "type": event.type, "created": event.created},
        )

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        try:
            return await self._guard.call(operation)
        except GatewayUnavailable as exc:
            raise ProviderUnavailable(exc.reason) from exc
        except RedisError as exc:
            # The circuit's state lives in Redis: without it, do not risk the call.
            log.warning("payment circuit state unavailable", error=repr(exc))
            raise ProviderUnavailable("the payment circuit state is unavailable") from exc
        except StripeError as exc:
            # Not worth retrying (a 400: bad parameters, a revoked key): still no card
            # payment now, and the operator must see why.
            log.error("stripe refused the request", status=exc.status, code=exc.code)
            raise ProviderUnavailable(f"Stripe refused the request: {exc.message}") from exc


def _session_verification(session: CheckoutSession) -> Verification:
    if session.payment_status == "paid":
        outcome = Outcome.PAID
    elif session.status == "expired":
        outcome = Outcome.EXPIRED
    else:
        outcome = Outcome.PENDING
    return Verification(
        outcome,
        amount=session.amount_total,
        currency=session.currency,
        provider_payment_id=session.id,
        detail=f"session {session.status}, payment {session.payment_status}",
    )


def _payment_id(session: CheckoutSession | None) -> int | None:
    raw = session.metadata.get("payment_id") if session else None
    return int(raw) if raw and raw.isdigit() and len(raw) < 12 else None
