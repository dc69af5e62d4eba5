"""``/webhooks/whatsapp`` and ``/sandbox/messages`` through the real app, database and Redis."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from litestar.testing import AsyncTestClient

from app.customers.service import register_customer
from app.customers.tables import Customer
from app.main import create_app
from app.queue import QUEUE_NAME
from app.resources import Resources
from app.settings import Settings
from app.whatsapp.outbound import queue_message
from app.whatsapp.sandbox_secret import SANDBOX_KEY_FILENAME, app_secret
from app.whatsapp.tables import InboundMessage, OutboundMessage
from app.whatsapp.webhook import MAX_BODY_BYTES
from tests.conftest import app_client, database_refusing_connections, make_settings
from tests.integration.whatsapp.payloads import (
    SECRET,
    VERIFY_TOKEN,
    encode,
    envelope,
    signed_headers,
    status,
    text_message,
)

BSUID = "US.13491208655302741918"
PHONE = "15551234567"

T = TypeVar("T")


@dataclass
class Web:
    """The app under test, and a way to reach its database.

    ``AsyncTestClient`` runs the app (and its connection pool) on an event loop of its own,
    in another thread, and the Piccolo tables are bound to that pool while it runs. Database
    work of the test itself therefore runs on the app's loop, through the client's portal.
    """

    client: AsyncTestClient | httpx.AsyncClient  # type: ignore[type-arg]

    async def run(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        if not isinstance(self.client, AsyncTestClient):
            return await fn(*args, **kwargs)  # the app shares this test's loop
        portal = self.client.blocking_portal
        return await asyncio.to_thread(portal.call, functools.partial(fn, *args, **kwargs))

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.post(url, **kwargs)


def webhook_settings(settings: Settings, **overrides: Any) -> Settings:
    return make_settings(
        settings.database_url or "",
        settings.redis_url or "",
        whatsapp_app_secret=SECRET,
        whatsapp_verify_token=VERIFY_TOKEN,
        **overrides,
    )


@pytest.fixture
async def web(settings: Settings, db: Resources) -> AsyncIterator[Web]:
    # Same-loop client: it connects from 127.0.0.1, as `chatcart chat` on this machine does.
    async with app_client(webhook_settings(settings)) as client:
        yield Web(client)


async def post_signed(web: Web, data: Any) -> httpx.Response:
    raw = data if isinstance(data, bytes) else encode(data)
    return await web.post("/webhooks/whatsapp", content=raw, headers=signed_headers(raw))


async def inbound_rows() -> list[dict[str, Any]]:
    return list(await InboundMessage.select().order_by(InboundMessage.id))


async def customer_rows() -> list[dict[str, Any]]:
    return list(await Customer.select().order_by(Customer.id))


async def queued_tasks(db: Resources) -> list[tuple[str, list[Any]]]:
    entries = await db.redis.xrange(QUEUE_NAME) or []
    tasks = []
    for _, fields in entries:
        assert fields is not None
        data = json.loads(fields[b"data"])
        tasks.append((data["task_name"], data["args"]))
    return tasks


async def assert_nothing_stored(web: Web, db: Resources) -> None:
    assert await web.run(InboundMessage.count().run) == 0
    assert await web.run(Customer.count().run) == 0
    assert await queued_tasks(db) == []


# --- GET verification -------------------------------------------------------------------


async def test_verification_echoes_the_challenge(web: Web) -> None:
    response = await web.get(
        "/webhooks/whatsapp",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )
    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN + "x", "hub.challenge": "1"},
        {},
    ],
)
async def test_verification_refuses_a_wrong_token_or_mode(web: Web, params: dict[str, str]) -> None:
    response = await web.get("/webhooks/whatsapp", params=params)
    assert response.status_code == 403
    assert response.text != "1"


async def test_verification_is_refused_when_no_token_is_configured(
    settings: Settings, db: Resources
) -> None:
    app = create_app(
        make_settings(settings.database_url or "", settings.redis_url or ""), run_worker=False
    )
    async with AsyncTestClient(app=app) as client:
        response = await client.get(
            "/webhooks/whatsapp",
            params={"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "9"},
        )
    assert response.status_code == 403


# --- POST: signatures, size, JSON --------------------------------------------------------


async def test_unsigned_post_is_refused_and_stores_nothing(web: Web, db: Resources) -> None:
    raw = encode(envelope([text_message("wamid.1")]))
    response = await web.post(
        "/webhooks/whatsapp", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
    await assert_nothing_stored(web, db)


@pytest.mark.parametrize(
    "header",
    [
        "sha256=" + "0" * 64,
        "sha1=abc",
        "",
        "sha256=",
        "garbage",
    ],
)
async def test_wrong_signature_is_refused_and_stores_nothing(
    web: Web, db: Resources, header: str
) -> None:
    raw = encode(envelope([text_message("wamid.1")]))
    response = await web.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={"X-Hub-Signature-256": header, "Content-Type": "application/json"},
    )
    assert response.status_code == 401
    await assert_nothing_stored(web, db)


async def test_signature_with_another_secret_is_refused(web: Web, db: Resources) -> None:
    raw = encode(envelope([text_message("wamid.1")]))
    response = await web.post(
        "/webhooks/whatsapp", content=raw, headers=signed_headers(raw, "other-secret")
    )
    assert response.status_code == 401
    await assert_nothing_stored(web, db)


async def test_tampered_body_is_refused(web: Web, db: Resources) -> None:
    raw = encode(envelope([text_message("wamid.1", "1 cake")]))
    headers = signed_headers(raw)
    tampered = raw.replace(b"1 cake", b"9 cake")
    assert tampered != raw
    response = await web.post("/webhooks/whatsapp", content=tampered, headers=headers)
    assert response.status_code == 401
    await assert_nothing_stored(web, db)


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b'{"entry": [}'])
async def test_malformed_json_is_a_400_with_nothing_stored(
    web: Web, db: Resources, raw: bytes
) -> None:
    response = await post_signed(web, raw)
    assert response.status_code == 400
    await assert_nothing_stored(web, db)


async def test_a_body_over_3_mb_is_a_413(web: Web, db: Resources) -> None:
    data = envelope([text_message("wamid.big")])
    data["padding"] = "x" * MAX_BODY_BYTES
    raw = encode(data)
    assert len(raw) > 3 * 1024 * 1024
    response = await post_signed(web, raw)
    assert response.status_code == 413
    await assert_nothing_stored(web, db)


async def test_a_body_just_under_3_mb_is_accepted(web: Web) -> None:
    data = envelope([text_message("wamid.big")])
    raw = encode(data)
    data["padding"] = "x" * (MAX_BODY_BYTES - len(raw) - 100)
    raw = encode(data)
    assert len(raw) <= MAX_BODY_BYTES
    response = await post_signed(web, raw)
    assert response.status_code == 200
    assert response.json()["messages"] == 1


async def test_json_that_is_not_a_webhook_is_acknowledged_and_ignored(
    web: Web, db: Resources
) -> None:
    bodies: list[Any] = [[], {"object": "page", "entry": []}, "hello"]
    for data in bodies:
        response = await post_signed(web, data)
        assert response.status_code == 200
        assert response.json() == {"messages": 0, "duplicates": 0, "statuses": 0}
    await assert_nothing_stored(web, db)


async def test_without_a_configured_secret_the_sandbox_secret_signs(
    settings: Settings, db: Resources, tmp_path: Path
) -> None:
    sandbox = make_settings(
        settings.database_url or "", settings.redis_url or "", chatcart_data_dir=tmp_path
    )
    secret = app_secret(sandbox)
    key_file = tmp_path / SANDBOX_KEY_FILENAME
    assert key_file.read_text() == secret
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert app_secret(sandbox) == secret  # made once, then kept
    raw = encode(envelope([text_message("wamid.sandbox")]))
    async with AsyncTestClient(app=create_app(sandbox, run_worker=False)) as client:
        wrong = await client.post(
            "/webhooks/whatsapp", content=raw, headers=signed_headers(raw, SECRET)
        )
        right = await client.post(
            "/webhooks/whatsapp", content=raw, headers=signed_headers(raw, secret)
        )
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert right.json()["messages"] == 1


# --- POST: messages -------------------------------------------------------------------------


async def test_a_text_message_is_stored_pending_and_processing_is_enqueued(
    web: Web, db: Resources
) -> None:
    response = await post_signed(web, envelope([text_message("wamid.1", "hi", wa_id=PHONE)]))

    assert response.status_code == 200
    assert response.json() == {"messages": 1, "duplicates": 0, "statuses": 0}
    [row] = await web.run(inbound_rows)
    [customer] = await web.run(customer_rows)
    assert row["wamid"] == "wamid.1"
    assert row["status"] == "pending"
    assert row["type"] == "text"
    assert row["customer"] == customer["id"]
    assert json.loads(row["payload"])["message"]["text"]["body"] == "hi"
    assert row["attempts"] == 0
    assert (customer["wa_id"], customer["user_id"]) == (PHONE, None)
    assert customer["profile_name"] == f"Customer {PHONE}"
    assert customer["last_inbound_at"] == row["sent_at"]
    assert await queued_tasks(db) == [("process_inbox", [customer["id"]])]


async def test_the_same_body_five_times_is_stored_once(web: Web, db: Resources) -> None:
    data = envelope([text_message("wamid.dup", "hello")])
    answers = [(await post_signed(web, data)).json() for _ in range(5)]

    assert answers[0] == {"messages": 1, "duplicates": 0, "statuses": 0}
    assert answers[1:] == [{"messages": 0, "duplicates": 1, "statuses": 0}] * 4
    assert len(await web.run(inbound_rows)) == 1
    assert len(await web.run(customer_rows)) == 1
    assert len(await queued_tasks(db)) == 1


async def test_the_same_body_delivered_concurrently_is_stored_once(web: Web) -> None:
    raw = encode(envelope([text_message("wamid.race", "hello")]))
    # The app shares this loop, so the five requests really overlap.
    responses = await asyncio.gather(
        *(
            web.post("/webhooks/whatsapp", content=raw, headers=signed_headers(raw))
            for _ in range(5)
        )
    )
    assert [r.status_code for r in responses] == [200] * 5
    assert sum(r.json()["messages"] for r in responses) == 1
    assert sum(r.json()["duplicates"] for r in responses) == 4
    assert len(await web.run(inbound_rows)) == 1
    assert len(await web.run(customer_rows)) == 1


async def test_a_batch_of_20_messages_from_4_customers(web: Web, db: Resources) -> None:
    phones = [f"1555000000{n}" for n in range(4)]
    pairs = [
        text_message(f"wamid.{p}.{m}", f"message {m}", wa_id=p, timestamp=1767225600 + m)
        for p in phones
        for m in range(5)
    ]
    response = await post_signed(web, envelope(pairs))

    assert response.json() == {"messages": 20, "duplicates": 0, "statuses": 0}
    rows = await web.run(inbound_rows)
    customers = await web.run(customer_rows)
    assert len(rows) == 20
    assert sorted(c["wa_id"] for c in customers) == phones
    by_id = {c["id"]: c["wa_id"] for c in customers}
    for row in rows:
        assert row["wamid"].startswith(f"wamid.{by_id[row['customer']]}.")
    tasks = await queued_tasks(db)
    assert sorted(args[0] for _, args in tasks) == sorted(by_id)
    assert {name for name, _ in tasks} == {"process_inbox"}


async def test_a_batch_spread_over_entries_and_changes(web: Web) -> None:
    first = envelope([text_message("wamid.a", wa_id="15550000001")])
    second = envelope([text_message("wamid.b", wa_id="15550000002")])
    third = envelope([text_message("wamid.c", wa_id="15550000003")])
    first["entry"][0]["changes"].extend(second["entry"][0]["changes"])
    first["entry"].extend(third["entry"])
    response = await post_signed(web, first)
    assert response.json()["messages"] == 3
    assert [r["wamid"] for r in await web.run(inbound_rows)] == ["wamid.a", "wamid.b", "wamid.c"]


async def test_a_username_sender_becomes_a_customer_with_a_user_id_and_no_phone(
    web: Web,
) -> None:
    response = await post_signed(
        web, envelope([text_message("wamid.u", wa_id=None, user_id=BSUID)])
    )
    assert response.status_code == 200
    [customer] = await web.run(customer_rows)
    assert (customer["user_id"], customer["wa_id"]) == (BSUID, None)
    [row] = await web.run(inbound_rows)
    assert row["customer"] == customer["id"]


async def test_phone_customer_gets_the_user_id_when_both_appear(web: Web) -> None:
    await post_signed(web, envelope([text_message("wamid.1", wa_id=PHONE)]))
    await post_signed(web, envelope([text_message("wamid.2", wa_id=PHONE, user_id=BSUID)]))
    [customer] = await web.run(customer_rows)
    assert (customer["user_id"], customer["wa_id"]) == (BSUID, PHONE)
    assert {r["customer"] for r in await web.run(inbound_rows)} == {customer["id"]}


@pytest.mark.parametrize(
    ("type_", "content"),
    [
        ("unsupported", {"errors": [{"code": 131051, "title": "Message type unknown"}]}),
        ("hologram", {"hologram": {"id": "x"}}),
        ("sticker", {"sticker": {"id": "media.1", "mime_type": "image/webp"}}),
    ],
)
async def test_unknown_message_types_are_stored(
    web: Web, type_: str, content: dict[str, Any]
) -> None:
    pair = text_message("wamid.odd", type_=type_, content=content)
    response = await post_signed(web, envelope([pair]))
    assert response.status_code == 200
    [row] = await web.run(inbound_rows)
    assert (row["type"], row["status"]) == (type_, "pending")


async def test_a_malformed_message_does_not_lose_the_rest_of_the_body(web: Web) -> None:
    good = text_message("wamid.good")
    data = envelope([good])
    data["entry"][0]["changes"][0]["value"]["messages"].insert(0, {"type": "text"})
    response = await post_signed(web, data)
    assert response.status_code == 200
    assert [r["wamid"] for r in await web.run(inbound_rows)] == ["wamid.good"]


@pytest.mark.parametrize(
    "odd",
    [
        {"wa_id": "123", "user_id": None},  # too short for E.164
        {"wa_id": None, "user_id": "not-a-bsuid"},
    ],
)
async def test_one_unusable_sender_does_not_lose_the_others_messages(
    web: Web, odd: dict[str, Any]
) -> None:
    pairs = [
        text_message("wamid.ok.1", wa_id="15550000001"),
        text_message("wamid.odd", **odd),
        text_message("wamid.ok.2", wa_id="15550000002"),
    ]
    response = await post_signed(web, envelope(pairs))
    assert response.status_code == 200
    assert {r["wamid"] for r in await web.run(inbound_rows)} >= {"wamid.ok.1", "wamid.ok.2"}


# --- POST: statuses ---------------------------------------------------------------------------


async def an_outbound(wamid: str, *, state: str = "queued") -> int:
    customer = await register_customer(wa_id=PHONE)
    body = {"messaging_product": "whatsapp", "to": PHONE, "type": "text", "text": {"body": "x"}}
    outbound_id = await queue_message(customer_id=customer.id, body=body, kind="text")
    assert outbound_id is not None
    await OutboundMessage.update(
        {OutboundMessage.wamid: wamid, OutboundMessage.status: state}
    ).where(OutboundMessage.id == outbound_id)
    return outbound_id


async def outbound(outbound_id: int) -> dict[str, Any]:
    row = await OutboundMessage.select().where(OutboundMessage.id == outbound_id).first()
    assert row is not None
    return row


async def test_statuses_move_an_outbound_message_forward_only(web: Web) -> None:
    outbound_id = await web.run(an_outbound, "wamid.out.1")

    steps = [
        ("sent", 1, "sent"),
        ("sent", 0, "sent"),  # a redelivered status changes nothing
        ("delivered", 1, "delivered"),
        ("read", 1, "read"),
        ("delivered", 0, "read"),  # late "delivered" after "read"
        ("sent", 0, "read"),
        ("failed", 0, "read"),
    ]
    for state, applied, expected in steps:
        response = await post_signed(web, envelope(statuses=[status("wamid.out.1", state)]))
        assert response.status_code == 200
        assert response.json()["statuses"] == applied, state
        assert (await web.run(outbound, outbound_id))["status"] == expected


async def test_read_straight_after_queued_skips_ahead(web: Web) -> None:
    outbound_id = await web.run(an_outbound, "wamid.out.2")
    await post_signed(web, envelope(statuses=[status("wamid.out.2", "read")]))
    assert (await web.run(outbound, outbound_id))["status"] == "read"
    await post_signed(web, envelope(statuses=[status("wamid.out.2", "delivered")]))
    assert (await web.run(outbound, outbound_id))["status"] == "read"


async def test_statuses_of_one_batch_in_reverse_order_end_at_the_furthest(web: Web) -> None:
    outbound_id = await web.run(an_outbound, "wamid.out.3", state="sent")
    statuses = [status("wamid.out.3", s) for s in ("read", "delivered", "sent")]
    response = await post_signed(web, envelope(statuses=statuses))
    assert response.json()["statuses"] == 1
    assert (await web.run(outbound, outbound_id))["status"] == "read"


async def test_failed_status_stores_the_code_and_reason(web: Web) -> None:
    outbound_id = await web.run(an_outbound, "wamid.out.4", state="sent")
    errors = [
        {
            "code": 131047,
            "title": "Re-engagement message",
            "message": "Re-engagement message",
            "error_data": {"details": "More than 24 hours have passed"},
        }
    ]
    data = envelope(statuses=[status("wamid.out.4", "failed", errors=errors)])
    assert "contacts" not in data["entry"][0]["changes"][0]["value"]
    response = await post_signed(web, data)
    assert response.json()["statuses"] == 1
    row = await web.run(outbound, outbound_id)
    assert row["status"] == "failed"
    assert row["error_code"] == 131047
    assert "Re-engagement message" in row["last_error"]
    assert "24 hours" in row["last_error"]
    # A late "delivered" does not resurrect it.
    await post_signed(web, envelope(statuses=[status("wamid.out.4", "delivered")]))
    assert (await web.run(outbound, outbound_id))["status"] == "failed"


async def test_a_failed_status_for_a_passing_reason_queues_the_message_again(web: Web) -> None:
    outbound_id = await web.run(an_outbound, "wamid.out.9", state="sent")
    errors = [{"code": 131056, "title": "(Business Account, Consumer Account) pair rate limit"}]
    await post_signed(web, envelope(statuses=[status("wamid.out.9", "failed", errors=errors)]))
    row = await web.run(outbound, outbound_id)
    assert row["status"] == "queued"
    assert row["wamid"] is None
    assert row["error_code"] == 131056
    assert row["next_attempt_at"] > row["updated_at"]


async def test_a_status_for_an_unknown_message_is_acknowledged(web: Web) -> None:
    response = await post_signed(web, envelope(statuses=[status("wamid.nobody", "read")]))
    assert response.status_code == 200
    assert response.json()["statuses"] == 0


async def test_messages_and_statuses_in_one_body(web: Web) -> None:
    outbound_id = await web.run(an_outbound, "wamid.out.5", state="sent")
    data = envelope(
        [text_message("wamid.in.5", wa_id=PHONE)],
        statuses=[status("wamid.out.5", "delivered")],
    )
    response = await post_signed(web, data)
    assert response.json() == {"messages": 1, "duplicates": 0, "statuses": 1}
    assert (await web.run(outbound, outbound_id))["status"] == "delivered"


async def test_with_redis_down_the_message_is_still_stored_and_acknowledged(
    settings: Settings, db: Resources
) -> None:
    no_redis = make_settings(
        settings.database_url or "",
        "redis://127.0.0.1:1/0",
        whatsapp_app_secret=SECRET,
        whatsapp_verify_token=VERIFY_TOKEN,
    )
    async with AsyncTestClient(app=create_app(no_redis, run_worker=False)) as client:
        web = Web(client)
        response = await post_signed(web, envelope([text_message("wamid.noredis")]))
        rows = await web.run(inbound_rows)
    # Stored and acknowledged; the stale-inbox sweep enqueues it once Redis is back.
    assert response.status_code == 200
    assert response.json()["messages"] == 1
    assert [(r["wamid"], r["status"]) for r in rows] == [("wamid.noredis", "pending")]


# --- Database down --------------------------------------------------------------------------


async def deliver_until_stored(web: Web, data: Any) -> httpx.Response:
    """WhatsApp's retries: the same body again until it is acknowledged."""
    for _ in range(50):
        response = await post_signed(web, data)
        if response.status_code == 200:
            return response
        assert response.status_code >= 500
        await asyncio.sleep(0.1)
    return response


async def test_a_delivery_refused_while_the_database_is_down_is_stored_when_it_is_back(
    web: Web, settings: Settings, db: Resources
) -> None:
    data = envelope([text_message("wamid.outage", "are you there?")])
    async with database_refusing_connections(settings):
        down = await post_signed(web, data)
        assert down.status_code >= 500  # never a 200 for a message that was not stored
    back = await deliver_until_stored(web, data)
    assert back.status_code == 200
    assert back.json()["messages"] == 1
    assert [r["wamid"] for r in await web.run(inbound_rows)] == ["wamid.outage"]
    assert await queued_tasks(db) != []
    await db.engine.run_ddl("SELECT 1")  # the session's pool recovers too


async def test_a_database_refusing_connections_is_a_503(
    web: Web, settings: Settings, db: Resources
) -> None:
    data = envelope([text_message("wamid.outage", "are you there?")])
    try:
        async with database_refusing_connections(settings):
            down = await post_signed(web, data)
    finally:
        # Leave every pool healthy for the next test.
        await deliver_until_stored(web, data)
        await db.engine.run_ddl("SELECT 1")
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "UNAVAILABLE"


# --- GET /sandbox/messages ------------------------------------------------------------------


def text_body(to: str, text: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": text},
    }


async def test_sandbox_lists_what_was_sent_to_one_recipient_in_order(web: Web) -> None:
    ann = await web.run(register_customer, wa_id="15550000001")
    bob = await web.run(register_customer, wa_id="15550000002")
    ids: list[int] = []
    for n in range(5):
        for customer, phone in ((ann, "15550000001"), (bob, "15550000002")):
            queued = await web.run(
                queue_message, customer_id=customer.id, body=text_body(phone, f"m{n}"), kind="text"
            )
            assert queued is not None
            if customer is ann:
                ids.append(queued)
    await web.run(
        OutboundMessage.update({OutboundMessage.status: "sent", OutboundMessage.wamid: "wamid.s.1"})
        .where(OutboundMessage.id == ids[0])
        .run
    )

    response = await web.get("/sandbox/messages", params={"to": "15550000001"})
    assert response.status_code == 200
    items = response.json()["messages"]
    assert [item["id"] for item in items] == ids
    assert [item["body"]["text"]["body"] for item in items] == [f"m{n}" for n in range(5)]
    assert all(item["body"]["to"] == "15550000001" for item in items)
    assert [item["status"] for item in items] == ["sent"] + ["queued"] * 4
    assert items[0]["wamid"] == "wamid.s.1"

    after = await web.get("/sandbox/messages", params={"to": "+15550000001", "after": ids[2]})
    assert [item["id"] for item in after.json()["messages"]] == ids[3:]

    page = await web.get("/sandbox/messages", params={"to": "15550000001", "limit": 2})
    assert [item["id"] for item in page.json()["messages"]] == ids[:2]

    nobody = await web.get("/sandbox/messages", params={"to": "15559999999"})
    assert nobody.json() == {"messages": []}


async def test_sandbox_lists_messages_to_a_username_user(web: Web) -> None:
    customer = await web.run(register_customer, user_id=BSUID)
    body = {
        "messaging_product": "whatsapp",
        "recipient": BSUID,
        "type": "text",
        "text": {"body": "x"},
    }
    await web.run(queue_message, customer_id=customer.id, body=body, kind="text")
    response = await web.get("/sandbox/messages", params={"to": BSUID})
    assert [item["body"]["recipient"] for item in response.json()["messages"]] == [BSUID]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"to": ""},
        {"to": "+"},
        {"to": "15550000001", "after": "-1"},
        {"to": "15550000001", "after": "x"},
        {"to": "15550000001", "limit": "0"},
        {"to": "15550000001", "limit": "201"},
    ],
)
async def test_sandbox_refuses_bad_queries(web: Web, params: dict[str, str]) -> None:
    response = await web.get("/sandbox/messages", params=params)
    assert response.status_code in (400, 422)


async def test_sandbox_endpoint_does_not_exist_with_the_cloud_transport(
    settings: Settings, db: Resources
) -> None:
    cloud = webhook_settings(
        settings,
        whatsapp_transport="cloud",
        whatsapp_access_token="token",
        whatsapp_phone_number_id="106540352242922",
    )
    async with AsyncTestClient(app=create_app(cloud, run_worker=False)) as client:
        response = await client.get("/sandbox/messages", params={"to": PHONE})
    assert response.status_code == 404


async def test_sandbox_endpoint_answers_this_machine_only(
    settings: Settings, db: Resources
) -> None:
    # Litestar's test client connects as "testclient", i.e. not from the loopback address.
    async with AsyncTestClient(app=create_app(webhook_settings(settings))) as client:
        response = await client.get("/sandbox/messages", params={"to": PHONE})
    assert response.status_code == 404


def test_production_refuses_the_sandbox(settings: Settings) -> None:
    from app.settings import SettingsError, load_settings

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENVIRONMENT", "production")
        patch.setenv("WHATSAPP_TRANSPORT", "sandbox")
        with pytest.raises(SettingsError) as refused:
            load_settings()
    assert "WHATSAPP_TRANSPORT" in str(refused.value)
