"""The Cloud API transport over a mocked HTTP layer, how it classifies errors, and backoff."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.whatsapp.outbound import BACKOFF_CAP_SECONDS, backoff
from app.whatsapp.transport import CloudTransport, SandboxTransport, SendError

BASE = "https://graph.example.test/"
VERSION = "v26.0"
PHONE_ID = "106540352242922"
TOKEN = "EAAG-token"
URL = f"https://graph.example.test/{VERSION}/{PHONE_ID}/messages"

BODY = {
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "to": "15551234567",
    "type": "interactive",
    "interactive": {
        "type": "button",
        "body": {"text": "Añadido: 2 × Chocolate Cake 🎂"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "cart", "title": "Cart"}}]},
    },
}

SUCCESS = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "15551234567", "wa_id": "15551234567"}],
    "messages": [{"id": "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI"}],
}

Handler = Callable[[httpx.Request], httpx.Response]


def graph_error(code: int, message: str = "boom", details: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": f"({'#'}{code}) {message}",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
    }
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


@pytest.fixture
async def make_transport() -> AsyncIterator[Callable[[Handler], CloudTransport]]:
    clients: list[httpx.AsyncClient] = []

    def build(handler: Handler) -> CloudTransport:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        clients.append(client)
        return CloudTransport(
            client=client,
            base_url=BASE,
            api_version=VERSION,
            phone_number_id=PHONE_ID,
            access_token=TOKEN,
        )

    yield build
    for client in clients:
        await client.aclose()


async def failure(
    make_transport: Callable[[Handler], CloudTransport], response: httpx.Response
) -> SendError:
    transport = make_transport(lambda request: response)
    with pytest.raises(SendError) as caught:
        await transport.send(BODY)
    return caught.value


# --- The request -----------------------------------------------------------------------


async def test_send_posts_the_body_to_the_messages_endpoint_with_the_token(
    make_transport: Callable[[Handler], CloudTransport],
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=SUCCESS)

    transport = make_transport(handler)
    wamid = await transport.send(BODY)

    assert wamid == "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI"
    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == URL
    assert transport.url == URL
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == BODY


async def test_mark_read_posts_a_read_status(
    make_transport: Callable[[Handler], CloudTransport],
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"success": True})

    await make_transport(handler).mark_read("wamid.in.1")
    assert str(seen[0].url) == URL
    assert json.loads(seen[0].content) == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.in.1",
    }


async def test_sandbox_transport_returns_distinct_ids() -> None:
    sandbox = SandboxTransport()
    ids = {await sandbox.send(BODY) for _ in range(5)}
    assert len(ids) == 5
    assert all(i.startswith("wamid.sandbox.") for i in ids)
    await sandbox.mark_read("wamid.x")  # accepted, nothing to do


# --- Classification -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("server hung up"),
    ],
)
async def test_network_errors_and_timeouts_are_retryable(
    make_transport: Callable[[Handler], CloudTransport], exc: Exception
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    transport = make_transport(handler)
    with pytest.raises(SendError) as caught:
        await transport.send(BODY)
    assert caught.value.retryable is True
    assert caught.value.code is None
    assert "network error" in caught.value.message


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_without_a_code_are_retryable(
    make_transport: Callable[[Handler], CloudTransport], status: int
) -> None:
    error = await failure(make_transport, httpx.Response(status, text="<html>Bad gateway</html>"))
    assert error.retryable is True
    assert error.code is None
    assert str(status) in error.message


async def test_429_without_a_code_is_retryable(
    make_transport: Callable[[Handler], CloudTransport],
) -> None:
    error = await failure(make_transport, httpx.Response(429, json={"error": {"message": "slow"}}))
    assert (error.retryable, error.code) == (True, None)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (429, 130429),  # throughput
        (400, 130429),
        (400, 131056),  # pair rate limit
        (429, 131056),
        (500, 131000),  # unknown
        (400, 131000),
        (503, 131057),  # maintenance
        (400, 80007),  # WABA rate limit
        (400, 4),  # app rate limit
    ],
)
async def test_throttling_and_unknown_codes_are_retryable(
    make_transport: Callable[[Handler], CloudTransport], status: int, code: int
) -> None:
    error = await failure(make_transport, httpx.Response(status, json=graph_error(code)))
    assert error.retryable is True
    assert error.code == code


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, 131026),  # undeliverable
        (400, 131047),  # outside the 24-hour window
        (400, 131009),  # invalid parameter
        (400, 100),  # invalid parameter
        (400, 131008),  # missing parameter
        (400, 132001),  # template does not exist
        (401, 190),  # token expired
        (500, 131009),  # our payload is wrong whatever the HTTP status says
        (500, 100),
    ],
)
async def test_permanent_codes_are_not_retryable(
    make_transport: Callable[[Handler], CloudTransport], status: int, code: int
) -> None:
    response = httpx.Response(status, json=graph_error(code, "bad", details="title too long"))
    error = await failure(make_transport, response)
    assert error.retryable is False
    assert error.code == code
    assert f"HTTP {status}" in error.message
    assert "title too long" in error.message


async def test_a_4xx_without_a_code_is_not_retryable(
    make_transport: Callable[[Handler], CloudTransport],
) -> None:
    error = await failure(make_transport, httpx.Response(400, text="bad request"))
    assert (error.retryable, error.code) == (False, None)


@pytest.mark.parametrize(
    "content",
    [b"not json", b"[]", b'{"messages": []}', b'{"messages": "x"}', b'{"ok": true}', b""],
)
async def test_a_success_without_a_message_id_is_a_retryable_error(
    make_transport: Callable[[Handler], CloudTransport], content: bytes
) -> None:
    error = await failure(make_transport, httpx.Response(200, content=content))
    assert error.retryable is True
    assert error.code is None


async def test_error_messages_are_bounded(
    make_transport: Callable[[Handler], CloudTransport],
) -> None:
    response = httpx.Response(400, json=graph_error(131009, "x" * 5000, details="y" * 5000))
    error = await failure(make_transport, response)
    assert len(error.message) <= 1000


# --- Backoff --------------------------------------------------------------------------------


def test_backoff_grows_with_each_attempt_and_stays_within_its_jitter_band() -> None:
    rng = random.Random(7)
    for attempt in range(1, 12):
        ceiling = min(2.0 * 2 ** (attempt - 1), BACKOFF_CAP_SECONDS)
        for _ in range(20):
            delay = backoff(attempt, None, rng=rng).total_seconds()
            assert ceiling / 2 <= delay <= ceiling
    # The band moves up: the smallest delay of attempt n+1 reaches the largest of n.
    assert backoff(5, 130429, rng=random.Random(1)) > backoff(1, 130429, rng=random.Random(1))


def test_backoff_is_capped_at_five_minutes() -> None:
    rng = random.Random(3)
    delays = [backoff(attempt, None, rng=rng) for attempt in range(1, 51)]
    assert max(delays) <= timedelta(seconds=300)
    assert backoff(50, 131056) == timedelta(seconds=300)
    assert BACKOFF_CAP_SECONDS == 300


def test_backoff_has_jitter() -> None:
    rng = random.Random(11)
    assert len({backoff(6, None, rng=rng) for _ in range(10)}) > 1


@pytest.mark.parametrize(("attempt", "seconds"), [(1, 1), (2, 4), (3, 16), (4, 64), (5, 256)])
def test_pair_rate_limit_waits_four_to_the_power_of_x(attempt: int, seconds: int) -> None:
    assert backoff(attempt, 131056) == timedelta(seconds=seconds)


def test_pair_rate_limit_wait_is_capped() -> None:
    assert backoff(6, 131056) == timedelta(seconds=300)
