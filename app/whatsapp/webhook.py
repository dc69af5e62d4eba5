"""``/webhooks/whatsapp``: Meta's verification handshake and the signed update feed.

The POST handler stores what arrived and enqueues processing; it does no conversation
work, so it answers fast. It answers 200 only after the commit, and 503 when the
database is down, so WhatsApp retries the delivery.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Annotated, Any, TypedDict

import orjson
import structlog
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.enums import MediaType
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from app.db.errors import DATABASE_UNAVAILABLE
from app.metrics import WEBHOOK_REQUESTS, WEBHOOK_SECONDS
from app.settings import Settings
from app.whatsapp.inbox import store_batch
from app.whatsapp.sandbox_secret import app_secret
from app.whatsapp.signature import is_valid_signature
from app.whatsapp.updates import parse_webhook

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 3 * 1024 * 1024
SIGNATURE_HEADER = "x-hub-signature-256"


@get("/webhooks/whatsapp", media_type="text/plain", sync_to_thread=False)
def verify_subscription(
    state: State,
    mode: Annotated[str, QueryParameter(name="hub.mode")] = "",
    token: Annotated[str, QueryParameter(name="hub.verify_token")] = "",
    challenge: Annotated[str, QueryParameter(name="hub.challenge", max_length=1000)] = "",
) -> Response[str]:
    """Echo the challenge when Meta presents our verify token."""
    settings: Settings = state.settings
    expected = settings.whatsapp_verify_token
    if mode == "subscribe" and expected and _same(token, expected.get_secret_value()):
        return Response(challenge, status_code=200, media_type="text/plain")
    raise HTTPException(status_code=403, detail="Verification token does not match.")


class Stored(TypedDict):
    """What a delivery added: new messages, redelivered ones, status updates applied."""

    messages: int
    duplicates: int
    statuses: int


@post(
    "/webhooks/whatsapp",
    status_code=200,
    request_max_body_size=MAX_BODY_BYTES,
    responses={200: ResponseSpec(data_container=Stored, description="What the delivery added")},
)
async def receive_updates(request: Request[Any, Any, Any], state: State) -> Response[bytes]:
    started = time.perf_counter()
    outcome = "failed"
    try:
        answer = await _receive(request, state)
        outcome = "stored"
        return answer
    except HTTPException as refused:
        outcome = _OUTCOMES.get(refused.status_code, "failed")
        raise
    finally:
        WEBHOOK_REQUESTS.labels(outcome).inc()
        WEBHOOK_SECONDS.labels(outcome).observe(time.perf_counter() - started)


_OUTCOMES = {400: "malformed", 401: "unsigned", 503: "unavailable"}


async def _receive(request: Request[Any, Any, Any], state: State) -> Response[bytes]:
    settings: Settings = state.settings
    body = await request.body()
    if not is_valid_signature(body, request.headers.get(SIGNATURE_HEADER), app_secret(settings)):
        raise HTTPException(status_code=401, detail="Missing or invalid X-Hub-Signature-256.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(status_code=400, detail="Body is not valid JSON.") from None
    batch = parse_webhook(data)
    for reason in batch.skipped:
        log.warning("webhook item skipped", reason=reason)
    try:
        stored = await store_batch(batch)
    except DATABASE_UNAVAILABLE as exc:
        log.error("webhook not stored: database unavailable", error=repr(exc))
        raise HTTPException(status_code=503, detail="Database unavailable; retry later.") from exc
    await _enqueue(state, stored.customers)
    answer: Stored = {
        "messages": stored.new_messages,
        "duplicates": stored.duplicates,
        "statuses": stored.statuses_applied,
    }
    # Encoded here: Litestar's serialization of a returned dict cost more than the answer.
    return Response(orjson.dumps(answer), media_type=MediaType.JSON)


async def _enqueue(state: State, customers: set[int]) -> None:
    """Kick processing. If Redis is down the messages stay pending and the sweep picks them up."""
    tasks = state.runtime.tasks
    for customer_id in sorted(customers):
        try:
            await tasks.process_inbox.kiq(customer_id)
        except Exception as exc:
            log.warning(
                "enqueue failed; sweep will retry", customer_id=customer_id, error=repr(exc)
            )


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
