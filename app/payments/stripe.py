"""Stripe Checkout over plain httpx: webhook signatures, sessions and events, the API client.

No SDK: we use three endpoints and one webhook header, and the SDK would bring its own
HTTP stack, retries and global state, where ours live in ``app.payments.gateway``.
Sources: docs.stripe.com/webhooks#verify-manually, docs.stripe.com/api/checkout/sessions,
docs.stripe.com/error-low-level.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

import httpx

SIGNATURE_TOLERANCE: Final = 300  # seconds; Stripe's libraries use the same default
_SCHEME: Final = "v1"  # the only live scheme; v0 is a test-mode decoy (docs: ignore it)


class StripeSignatureError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _signature(payload: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign_payload(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header value as Stripe would send it for ``payload``."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},{_SCHEME}={_signature(payload, secret, t)}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        scheme, sep, value = item.strip().partition("=")
        if not sep:
            raise StripeSignatureError("malformed Stripe-Signature header")
        if scheme == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise StripeSignatureError("malformed timestamp in Stripe-Signature") from None
        elif scheme == _SCHEME:
            candidates.append(value)
    if timestamp is None:
        raise StripeSignatureError("no timestamp in Stripe-Signature header")
    if not candidates:
        raise StripeSignatureError("no v1 signature in Stripe-Signature header")
    return timestamp, candidates


def verify_signature(
    payload: bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    tolerance: int = SIGNATURE_TOLERANCE,
    now: float | None = None,
) -> None:
    """Raise ``StripeSignatureError`` unless ``payload`` was signed by Stripe, recently.

    ``payload`` must be the raw request body: re-serialised JSON does not match.
    Several ``secrets`` are accepted so an endpoint secret can be rolled: while both are
    live Stripe sends one v1 signature per secret. The tolerance bounds replays.
    """
    if not secrets:
        raise ValueError("no Stripe webhook secret configured")
    if not header:
        raise StripeSignatureError("no Stripe-Signature header")
    timestamp, candidates = _parse_header(header)
    expected = [_signature(payload, secret, timestamp).encode() for secret in secrets]
    # Every pair is compared, without stopping early, so timing says nothing about which.
    matches = [
        hmac.compare_digest(mine, theirs.encode("utf-8", "replace"))
        for mine in expected
        for theirs in candidates
    ]
    if not any(matches):
        raise StripeSignatureError("no v1 signature matches")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise StripeSignatureError(f"timestamp outside the {tolerance} s tolerance")


# --- Objects -------------------------------------------------------------------------


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _expandable_id(value: object) -> str | None:
    # Expandable fields arrive as an id, or as the object when the request expanded them.
    if isinstance(value, Mapping):
        return _str_or_none(value.get("id"))
    return _str_or_none(value)


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    id: str
    status: str | None  # open | complete | expired
    payment_status: str | None  # paid | unpaid | no_payment_required
    amount_total: int | None  # minor units
    currency: str | None  # ISO 4217, upper case (Stripe sends lower case)
    url: str | None  # the hosted payment page; null once the session is complete or expired
    expires_at: int | None
    metadata: Mapping[str, str]
    client_reference_id: str | None
    payment_intent: str | None

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> CheckoutSession:
        session_id = obj.get("id")
        if not isinstance(session_id, str) or not session_id:
            raise ValueError("Checkout Session without an id")
        metadata = obj.get("metadata")
        currency = _str_or_none(obj.get("currency"))
        return cls(
            id=session_id,
            status=_str_or_none(obj.get("status")),
            payment_status=_str_or_none(obj.get("payment_status")),
            amount_total=_int_or_none(obj.get("amount_total")),
            currency=currency.upper() if currency else None,
            url=_str_or_none(obj.get("url")),
            expires_at=_int_or_none(obj.get("expires_at")),
            metadata=(
                {str(k): str(v) for k, v in metadata.items()}
                if isinstance(metadata, Mapping)
                else {}
            ),
            client_reference_id=_str_or_none(obj.get("client_reference_id")),
            payment_intent=_expandable_id(obj.get("payment_intent")),
        )


@dataclass(frozen=True, slots=True)
class StripeEvent:
    id: str
    type: str  # e.g. checkout.session.completed
    created: int
    session: CheckoutSession | None  # set for checkout.session.* events only


def parse_event(payload: bytes) -> StripeEvent:
    """The event in a webhook body; ``ValueError`` says what is wrong with a bad one."""
    try:
        obj = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"Stripe event is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError("Stripe event is not a JSON object")
    event_id, event_type = obj.get("id"), obj.get("type")
    created = _int_or_none(obj.get("created"))
    if not isinstance(event_id, str) or not event_id:
        raise ValueError("Stripe event has no id")
    if not isinstance(event_type, str) or not event_type:
        raise ValueError(f"Stripe event {event_id} has no type")
    if created is None:
        raise ValueError(f"Stripe event {event_id} has no created timestamp")
    session = None
    if event_type.startswith("checkout.session."):
        data = obj.get("data")
        inner = data.get("object") if isinstance(data, dict) else None
        if not isinstance(inner, dict):
            raise ValueError(f"Stripe event {event_id} ({event_type}) has no data.object")
        session = CheckoutSession.from_json(inner)
    return StripeEvent(id=event_id, type=event_type, created=created, session=session)


# --- API client ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """What to charge for one payment of one order.

    ``expires_at`` (unix seconds) must fall between 30 minutes and 24 hours after the
    session is created, or Stripe answers 400; Stripe's own default is 24 hours.
    """

    amount: int  # minor units
    currency: str  # ISO 4217, any case
    description: str  # shown on the payment page, e.g. "Order #1042"
    reference: str  # our payment reference
    order_number: int
    payment_id: int
    expires_at: int
    success_url: str
    cancel_url: str


class StripeError(Exception):
    """A failed Stripe call. ``transient``: the same request may succeed if sent again."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        transient: bool = False,
    ) -> None:
        detail = ", ".join(part for part in (f"HTTP {status}" if status else "", code) if part)
        super().__init__(f"{message} ({detail})" if detail else message)
        self.message = message
        self.status = status
        self.code = code
        self.transient = transient


def _is_transient(response: httpx.Response) -> bool:
    # Stripe-Should-Retry, when present, overrides the status code: "false" on a 500
    # means the idempotency layer would replay the same error (docs: error-low-level).
    advice: str | None = response.headers.get("Stripe-Should-Retry")
    if advice is not None:
        return advice.strip().lower() == "true"
    # 409: another request with the same idempotency key is still running.
    return response.status_code in (409, 429) or response.status_code >= 500


def _error_from(response: httpx.Response) -> StripeError:
    message, code = response.reason_phrase or "Stripe request failed", None
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict):
        message = _str_or_none(error.get("message")) or message
        code = _str_or_none(error.get("code")) or _str_or_none(error.get("type"))
    return StripeError(
        message, status=response.status_code, code=code, transient=_is_transient(response)
    )


def _checkout_form(request: CheckoutRequest) -> dict[str, str]:
    metadata = {
        "payment_id": str(request.payment_id),
        "reference": request.reference,
        "order_number": str(request.order_number),
    }
    item = "line_items[0]"
    form = {
        "mode": "payment",
        # Cards settle at once: a bank debit would complete the session unpaid and report
        # days later, long after an unpaid order has expired and released its stock.
        "payment_method_types[0]": "card",
        f"{item}[price_data][currency]": request.currency.lower(),
        f"{item}[price_data][unit_amount]": str(request.amount),
        f"{item}[price_data][product_data][name]": request.description,
        f"{item}[quantity]": "1",
        "client_reference_id": request.reference,
        "expires_at": str(request.expires_at),
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
    }
    # On the PaymentIntent too, so a charge, refund or dispute found in the dashboard
    # (or a webhook about one) leads back to our payment without the session.
    for key, value in metadata.items():
        form[f"metadata[{key}]"] = value
        form[f"payment_intent_data[metadata][{key}]"] = value
    return form


class StripeClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        secret_key: str,
        *,
        base_url: str = "https://api.stripe.com",
    ) -> None:
        self._http = http
        self._secret_key = secret_key
        self._base_url = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"StripeClient(base_url={self._base_url!r})"  # never the key

    async def create_checkout_session(
        self, request: CheckoutRequest, *, idempotency_key: str
    ) -> CheckoutSession:
        """Open a hosted payment page for ``request``.

        Send the same ``idempotency_key`` when retrying the same request: Stripe then
        returns the first session instead of opening a second one (keys last 24 hours).
        """
        return await self._call(
            "POST",
            "/v1/checkout/sessions",
            form=_checkout_form(request),
            idempotency_key=idempotency_key,
        )

    async def retrieve_checkout_session(self, session_id: str) -> CheckoutSession:
        return await self._call("GET", f"/v1/checkout/sessions/{quote(session_id, safe='')}")

    async def expire_checkout_session(self, session_id: str) -> CheckoutSession:
        """Close an ``open`` session so it can no longer be paid; Stripe answers 400 otherwise."""
        path = f"/v1/checkout/sessions/{quote(session_id, safe='')}/expire"
        return await self._call("POST", path)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        form: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> CheckoutSession:
        headers = {"Authorization": f"Bearer {self._secret_key}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        try:
            response = await self._http.request(
                method, f"{self._base_url}{path}", data=form, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise StripeError(f"Stripe did not answer in time: {exc!r}", transient=True) from exc
        except httpx.TransportError as exc:
            raise StripeError(f"could not reach Stripe: {exc!r}", transient=True) from exc
        except httpx.HTTPError as exc:
            raise StripeError(f"Stripe request failed: {exc!r}") from exc
        if not response.is_success:
            raise _error_from(response)
        try:
            return CheckoutSession.from_json(response.json())
        except (ValueError, AttributeError) as exc:
            raise StripeError(
                f"unreadable Checkout Session from Stripe: {exc}", status=response.status_code
            ) from exc
