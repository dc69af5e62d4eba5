"""The Stripe client at the HTTP seam: what it sends, what it makes of answers and failures."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from app.payments.stripe import (
    CheckoutRequest,
    CheckoutSession,
    StripeClient,
    StripeError,
    parse_event,
)

API = "https://api.stripe.com"
KEY = "sk_test_51Hx4VNKbKeyThatMustNotLeak"
SESSION_ID = "cs_test_a1b2c3d4e5f6g7h8i9j0"

REQUEST = CheckoutRequest(
    amount=12_550,
    currency="KES",
    description="Order #1042",
    reference="7KQ2-M9X7",
    order_number=1042,
    payment_id=77,
    expires_at=1_750_003_600,
    success_url="https://shop.example/paid?session={CHECKOUT_SESSION_ID}",
    cancel_url="https://shop.example/cancelled",
)

# Trimmed from a real test-mode response; fields we do not read are kept to show we ignore them.
SESSION: dict[str, Any] = {
    "id": SESSION_ID,
    "object": "checkout.session",
    "amount_subtotal": 12550,
    "amount_total": 12550,
    "cancel_url": "https://shop.example/cancelled",
    "client_reference_id": "7KQ2-M9X7",
    "created": 1750000000,
    "currency": "kes",
    "customer": None,
    "customer_details": None,
    "expires_at": 1750003600,
    "livemode": False,
    "metadata": {"order_number": "1042", "payment_id": "77", "reference": "7KQ2-M9X7"},
    "mode": "payment",
    "payment_intent": None,
    "payment_method_types": ["card"],
    "payment_status": "unpaid",
    "status": "open",
    "success_url": "https://shop.example/paid?session={CHECKOUT_SESSION_ID}",
    "url": f"https://checkout.stripe.com/c/pay/{SESSION_ID}#fidkdWxOYHwnPyd1blpxYHZxWjA0",
}


def stripe_error(kind: str, code: str | None, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "code": code, "message": message}}


@pytest.fixture
async def mocked() -> AsyncIterator[tuple[StripeClient, respx.MockRouter]]:
    async with (
        respx.mock(base_url=API, assert_all_mocked=True, assert_all_called=False) as router,
        httpx.AsyncClient() as http,
    ):
        yield StripeClient(http, KEY), router


async def failure(mocked: tuple[StripeClient, respx.MockRouter], **mock: Any) -> StripeError:
    client, router = mocked
    router.get(f"/v1/checkout/sessions/{SESSION_ID}").mock(**mock)
    with pytest.raises(StripeError) as caught:
        await client.retrieve_checkout_session(SESSION_ID)
    return caught.value


# --- Requests ------------------------------------------------------------------------


async def test_create_posts_the_form_stripe_expects(
    mocked: tuple[StripeClient, respx.MockRouter],
) -> None:
    client, router = mocked
    route = router.post("/v1/checkout/sessions").respond(200, json=SESSION)

    session = await client.create_checkout_session(REQUEST, idempotency_key="payment-77-try-1")

    assert session.id == SESSION_ID
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Idempotency-Key"] == "payment-77-try-1"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    metadata = {
        "payment_id": "77",
        "reference": "7KQ2-M9X7",
        "order_number": "1042",
    }
    assert dict(parse_qsl(request.content.decode(), strict_parsing=True)) == {
        "mode": "payment",
        "payment_method_types[0]": "card",
        "line_items[0][price_data][currency]": "kes",
        "line_items[0][price_data][unit_amount]": "12550",
        "line_items[0][price_data][product_data][name]": "Order #1042",
        "line_items[0][quantity]": "1",
        "client_reference_id": "7KQ2-M9X7",
        "expires_at": "1750003600",
        "success_url": "https://shop.example/paid?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.example/cancelled",
        **{f"metadata[{key}]": value for key, value in metadata.items()},
        **{f"payment_intent_data[metadata][{key}]": value for key, value in metadata.items()},
    }


async def test_no_phone_number_or_name_goes_to_stripe(
    mocked: tuple[StripeClient, respx.MockRouter],
) -> None:
    client, router = mocked
    route = router.post("/v1/checkout/sessions").respond(200, json=SESSION)
    await client.create_checkout_session(REQUEST, idempotency_key="k")
    sent = route.calls.last.request.content.decode()
    assert "phone" not in sent
    assert "customer" not in sent


async def test_retrieve_gets_the_session(mocked: tuple[StripeClient, respx.MockRouter]) -> None:
    client, router = mocked
    route = router.get(f"/v1/checkout/sessions/{SESSION_ID}").respond(200, json=SESSION)
    session = await client.retrieve_checkout_session(SESSION_ID)
    assert session.status == "open"
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert "Idempotency-Key" not in request.headers


async def test_expire_posts_to_the_expire_endpoint(
    mocked: tuple[StripeClient, respx.MockRouter],
) -> None:
    client, router = mocked
    expired = {**SESSION, "status": "expired", "url": None}
    route = router.post(f"/v1/checkout/sessions/{SESSION_ID}/expire").respond(200, json=expired)
    session = await client.expire_checkout_session(SESSION_ID)
    assert route.called
    assert (session.status, session.url) == ("expired", None)


async def test_a_session_id_cannot_escape_its_path(
    mocked: tuple[StripeClient, respx.MockRouter],
) -> None:
    client, router = mocked
    route = router.get("/v1/checkout/sessions/..%2Fcustomers").respond(404, json={})
    with pytest.raises(StripeError):
        await client.retrieve_checkout_session("../customers")
    assert route.called


async def test_the_key_stays_out_of_the_repr() -> None:
    async with httpx.AsyncClient() as http:
        assert KEY not in repr(StripeClient(http, KEY))


# --- Sessions and events -------------------------------------------------------------


def test_a_session_is_read_from_stripe_json() -> None:
    session = CheckoutSession.from_json(SESSION)
    assert session == CheckoutSession(
        id=SESSION_ID,
        status="open",
        payment_status="unpaid",
        amount_total=12550,
        currency="KES",
        url=SESSION["url"],
        expires_at=1750003600,
        metadata={"order_number": "1042", "payment_id": "77", "reference": "7KQ2-M9X7"},
        client_reference_id="7KQ2-M9X7",
        payment_intent=None,
    )


@pytest.mark.parametrize(
    "payment_intent", ["pi_3Abc", {"id": "pi_3Abc", "object": "payment_intent"}]
)
def test_the_payment_intent_is_its_id_expanded_or_not(payment_intent: object) -> None:
    session = CheckoutSession.from_json({**SESSION, "payment_intent": payment_intent})
    assert session.payment_intent == "pi_3Abc"


def test_a_session_without_an_id_is_refused() -> None:
    with pytest.raises(ValueError, match="without an id"):
        CheckoutSession.from_json({"object": "checkout.session"})


def event(kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "id": "evt_1QxYz",
            "object": "event",
            "api_version": "2025-01-27.acacia",
            "created": 1750000100,
            "data": {"object": obj},
            "livemode": False,
            "type": kind,
        }
    ).encode()


def test_a_completed_checkout_event_carries_its_session() -> None:
    paid = {**SESSION, "status": "complete", "payment_status": "paid", "payment_intent": "pi_3"}
    parsed = parse_event(event("checkout.session.completed", paid))
    assert (parsed.id, parsed.type, parsed.created) == (
        "evt_1QxYz",
        "checkout.session.completed",
        1750000100,
    )
    assert parsed.session is not None
    assert parsed.session.payment_status == "paid"
    assert parsed.session.metadata["payment_id"] == "77"


def test_other_events_carry_no_session() -> None:
    parsed = parse_event(event("charge.refunded", {"id": "ch_1", "object": "charge"}))
    assert parsed.session is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"type": "checkout.session.completed", "created": 1}', "has no id"),
        (b'{"id": "evt_1", "created": 1}', "evt_1 has no type"),
        (b'{"id": "evt_1", "type": "x.y"}', "no created"),
        (b'{"id": "evt_1", "type": "checkout.session.expired", "created": 1}', "no data.object"),
    ],
)
def test_a_malformed_event_is_refused_with_a_reason(payload: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_event(payload)


# --- Failures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, stripe_error("invalid_request_error", "parameter_invalid_integer", "Bad")),
        (401, stripe_error("invalid_request_error", None, "Invalid API Key provided")),
        (402, stripe_error("card_error", "card_declined", "Your card was declined.")),
        (403, stripe_error("invalid_request_error", "secret_key_required", "No.")),
        (404, stripe_error("invalid_request_error", "resource_missing", "No such session")),
    ],
)
async def test_client_errors_are_not_transient(
    mocked: tuple[StripeClient, respx.MockRouter], status: int, body: dict[str, Any]
) -> None:
    error = await failure(mocked, return_value=httpx.Response(status, json=body))
    assert not error.transient
    assert error.status == status
    assert error.message == body["error"]["message"]
    # Without a code, the error type is the most specific thing Stripe said.
    assert error.code == (body["error"]["code"] or "invalid_request_error")
    assert KEY not in str(error)


@pytest.mark.parametrize("status", [409, 429, 500, 502, 503, 504])
async def test_server_errors_rate_limits_and_conflicts_are_transient(
    mocked: tuple[StripeClient, respx.MockRouter], status: int
) -> None:
    body = stripe_error("api_error", None, "Something went wrong on Stripe's end.")
    error = await failure(mocked, return_value=httpx.Response(status, json=body))
    assert error.transient
    assert error.status == status


async def test_an_error_without_a_json_body_still_maps(
    mocked: tuple[StripeClient, respx.MockRouter],
) -> None:
    error = await failure(mocked, return_value=httpx.Response(502, text="<html>Bad Gateway"))
    assert (error.status, error.code, error.transient) == (502, None, True)
    assert error.message == "Bad Gateway"


@pytest.mark.parametrize(
    ("status", "advice", "transient"),
    [(400, "true", True), (500, "false", False), (429, "false", False), (503, "true", True)],
)
async def test_stripe_should_retry_overrides_the_status(
    mocked: tuple[StripeClient, respx.MockRouter], status: int, advice: str, transient: bool
) -> None:
    response = httpx.Response(
        status,
        json=stripe_error("api_error", "lock_timeout", "Try again"),
        headers={"Stripe-Should-Retry": advice},
    )
    error = await failure(mocked, return_value=response)
    assert error.transient is transient


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectTimeout("timed out"),
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
)
async def test_timeouts_and_connection_errors_are_transient(
    mocked: tuple[StripeClient, respx.MockRouter], exc: Exception
) -> None:
    error = await failure(mocked, side_effect=exc)
    assert error.transient
    assert error.status is None
    assert error.__cause__ is exc


async def test_an_unreadable_success_is_not_transient(
    mocked: tuple[StripeClient, respx.MockRouter],
) -> None:
    error = await failure(mocked, return_value=httpx.Response(200, text="<html>captive portal"))
    assert not error.transient
    assert error.status == 200
