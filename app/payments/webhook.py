"""``POST /webhooks/payments/{provider}``: what a payment gateway reports, verified and applied.

Answers 400 to a forged, stale or unreadable event (nothing changes), 404 for a provider
that is not configured, 503 while the database is down (the gateway retries), and 200
once the event is stored and applied, including for a redelivery or an event about a
payment we do not know, so the gateway stops retrying those.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

import structlog
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.params import PathParameter, QueryParameter

from app.db.errors import DATABASE_UNAVAILABLE
from app.payments.methods import PaymentMethods
from app.payments.notices import Notices
from app.payments.providers import WebhookRejected
from app.payments.service import apply_webhook
from app.payments.tables import Payment
from app.runtime import Runtime

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 512 * 1024


@post("/webhooks/payments/{provider:str}", status_code=200, request_max_body_size=MAX_BODY_BYTES)
async def receive_payment_event(
    provider: Annotated[str, PathParameter(max_length=32)],
    request: Request[Any, Any, Any],
    state: State,
) -> dict[str, str]:
    runtime: Runtime = state.runtime
    methods: PaymentMethods = runtime.payment_methods
    gateway = methods.provider(provider)
    if gateway is None:
        raise HTTPException(status_code=404, detail=f"No payment provider {provider!r} is set up.")
    body = await request.body()
    try:
        webhook = gateway.parse_webhook(request.headers, body)
    except WebhookRejected as exc:
        log.warning("payment webhook rejected", provider=provider, reason=exc.reason)
        raise HTTPException(status_code=400, detail=exc.reason) from None
    try:
        outcome = await apply_webhook(webhook, notices=Notices(state.settings))
    except DATABASE_UNAVAILABLE as exc:
        log.error("payment webhook not applied: database unavailable", error=repr(exc))
        raise HTTPException(status_code=503, detail="Database unavailable; retry later.") from exc
    await _follow_up(runtime, webhook.payment_id, webhook.provider_payment_id, outcome)
    return {"status": outcome}


async def _follow_up(
    runtime: Runtime, payment_id: int | None, provider_payment_id: str | None, outcome: str
) -> None:
    """Kick the receipt and the customer's messages; the sweep does it if Redis is down."""
    query = Payment.select(Payment.id, Payment.order.customer.as_alias("customer"))
    if payment_id is not None:
        row = await query.where(Payment.id == payment_id).first()
    elif provider_payment_id is not None:
        row = await query.where(Payment.provider_payment_id == provider_payment_id).first()
    else:
        return
    if row is None:
        return
    try:
        if outcome == "confirmed":
            await runtime.tasks.settle_payment.kiq(row["id"])
        await runtime.tasks.deliver_outbound.kiq(row["customer"])
    except Exception as exc:
        log.warning("could not enqueue payment follow-up", error=repr(exc))


@get("/payments/return", media_type="text/html", sync_to_thread=False)
def payment_return(state: State, paid: Annotated[str, QueryParameter(max_length=8)] = "") -> str:
    """Where the card payment page sends the customer back to."""
    shop = state.settings.shop_name
    message = (
        "Thank you! Your payment is being confirmed; your receipt arrives in WhatsApp."
        if paid
        else "No payment was taken. You can go back to WhatsApp and choose another way to pay."
    )
    return _page(shop, message)


def _page(shop: str, message: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(shop)}</title></head><body style='font-family:sans-serif;"
        f"max-width:30em;margin:3em auto;padding:0 1em'><h1>{escape(shop)}</h1>"
        f"<p>{escape(message)}</p></body></html>"
    )
