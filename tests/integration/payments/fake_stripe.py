"""Stripe's Checkout Sessions API as respx routes, and the signed events Stripe would send.

Only the HTTP seam is fake: chatcart's client, guard and provider run for real against it.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import respx

from app.payments.stripe import sign_payload

API = "https://stripe.test"
SECRET_KEY = "sk_test_x"
WEBHOOK_SECRETS = ("whsec_a", "whsec_b")
SESSIONS = "/v1/checkout/sessions"


@dataclass
class FakeStripe:
    router: respx.MockRouter
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def create(self) -> respx.Route:
        return self.router.routes["create"]

    @property
    def retrieve(self) -> respx.Route:
        return self.router.routes["retrieve"]

    @property
    def expire(self) -> respx.Route:
        return self.router.routes["expire"]

    def pay(
        self, session_id: str, *, amount: int | None = None, currency: str | None = None
    ) -> None:
        """The customer paid on the hosted page (``amount``: what the card was charged)."""
        session = self.sessions[session_id]
        session.update(status="complete", payment_status="paid", url=None)
        if amount is not None:
            session["amount_total"] = amount
        if currency is not None:
            session["currency"] = currency

    def event(
        self,
        event_type: str,
        session_id: str,
        *,
        event_id: str | None = None,
        **session_changes: Any,
    ) -> bytes:
        """The raw body of a ``checkout.session.*`` event about a session Stripe knows."""
        session = {**self.sessions[session_id], **session_changes}
        return event_body(event_type, session, event_id=event_id or f"evt_{next(self._ids)}")

    def _create(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        session_id = f"cs_test_{form['metadata[payment_id]']}_{next(self._ids)}"
        item = "line_items[0]"
        self.sessions[session_id] = {
            "id": session_id,
            "object": "checkout.session",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": int(form[f"{item}[price_data][unit_amount]"])
            * int(form[f"{item}[quantity]"]),
            "currency": form[f"{item}[price_data][currency]"],
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "expires_at": int(form["expires_at"]),
            "client_reference_id": form["client_reference_id"],
            "metadata": {
                key.removeprefix("metadata[").removesuffix("]"): value
                for key, value in form.items()
                if key.startswith("metadata[")
            },
            "payment_intent": None,
        }
        return httpx.Response(200, json=self.sessions[session_id])

    def _retrieve(self, request: httpx.Request, session_id: str) -> httpx.Response:
        if session_id not in self.sessions:
            return _missing(session_id)
        return httpx.Response(200, json=self.sessions[session_id])

    def _expire(self, request: httpx.Request, session_id: str) -> httpx.Response:
        if session_id not in self.sessions:
            return _missing(session_id)
        self.sessions[session_id].update(status="expired", url=None)
        return httpx.Response(200, json=self.sessions[session_id])


def _missing(session_id: str) -> httpx.Response:
    error = {"type": "invalid_request_error", "code": "resource_missing", "message": session_id}
    return httpx.Response(404, json={"error": error})


@contextmanager
def fake_stripe() -> Iterator[FakeStripe]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        stripe = FakeStripe(router)
        router.post(SESSIONS, name="create").mock(side_effect=stripe._create)
        router.post(path__regex=rf"{SESSIONS}/(?P<session_id>[^/]+)/expire", name="expire").mock(
            side_effect=stripe._expire
        )
        router.get(path__regex=rf"{SESSIONS}/(?P<session_id>[^/]+)", name="retrieve").mock(
            side_effect=stripe._retrieve
        )
        yield stripe


def event_body(event_type: str, session: dict[str, Any], *, event_id: str) -> bytes:
    event = {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": session},
    }
    return json.dumps(event).encode()


def signed(body: bytes, secret: str = WEBHOOK_SECRETS[1], **sign: Any) -> dict[str, str]:
    """Headers of a delivery signed with ``secret`` (by default the newer of the two)."""
    return {
        "Stripe-Signature": sign_payload(body, secret, **sign),
        "Content-Type": "application/json",
    }
