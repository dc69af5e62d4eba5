"""Delivering queued outbound messages: order, retries, dead and failed rows, the 24-hour window."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.customers.service import CustomerRecord, register_customer
from app.customers.tables import Customer
from app.resources import Resources
from app.whatsapp.outbound import (
    DeliveryPolicy,
    DeliveryReport,
    customers_with_due_messages,
    deliver_customer_queue,
    queue_message,
)
from app.whatsapp.tables import OutboundMessage
from app.whatsapp.transport import CloudTransport, SendError

POLICY = DeliveryPolicy(max_attempts=4, template_name=None, template_language="en_US")
WITH_TEMPLATE = DeliveryPolicy(
    max_attempts=4, template_name="order_update", template_language="en_GB"
)


def rate_limited() -> SendError:
    return SendError("HTTP 400: (#130429) Rate limit hit", code=130429, retryable=True)


def pair_limited() -> SendError:
    return SendError("HTTP 400: (#131056) pair rate limit hit", code=131056, retryable=True)


def undeliverable() -> SendError:
    return SendError("HTTP 400: (#131026) Message undeliverable", code=131026, retryable=False)


class FakeTransport:
    """Records what it sends; fails with the errors planned for a recipient, in turn."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.attempts: list[dict[str, Any]] = []
        self.plan: dict[str, list[SendError]] = {}
        self.always_fail: dict[str, SendError] = {}

    def fail(self, recipient: str, *errors: SendError) -> None:
        self.plan.setdefault(recipient, []).extend(errors)

    async def send(self, body: dict[str, Any]) -> str:
        self.attempts.append(body)
        recipient = str(body.get("to") or body.get("recipient"))
        await asyncio.sleep(0)
        if recipient in self.always_fail:
            raise self.always_fail[recipient]
        planned = self.plan.get(recipient)
        if planned:
            raise planned.pop(0)
        self.sent.append(body)
        return f"wamid.fake.{len(self.sent)}"

    async def mark_read(self, wamid: str) -> None:
        return None

    def texts(self, recipient: str | None = None) -> list[str]:
        return [
            body["text"]["body"]
            for body in self.sent
            if recipient is None or recipient in (body.get("to"), body.get("recipient"))
        ]


def text(to: str, body: str, *, key: str = "to") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        key: to,
        "type": "text",
        "text": {"body": body},
    }


async def a_customer(
    phone: str | None = None, *, user_id: str | None = None, last_inbound: datetime | None = None
) -> CustomerRecord:
    customer = await register_customer(wa_id=phone, user_id=user_id)
    await Customer.update({Customer.last_inbound_at: last_inbound or datetime.now(UTC)}).where(
        Customer.id == customer.id
    )
    return customer


async def queue_texts(customer: CustomerRecord, *bodies: str) -> list[int]:
    ids = []
    for body in bodies:
        queued = await queue_message(
            customer_id=customer.id, body=text(str(customer.wa_id), body), kind="text"
        )
        assert queued is not None
        ids.append(queued)
    return ids


async def row(outbound_id: int) -> dict[str, Any]:
    found = await OutboundMessage.select().where(OutboundMessage.id == outbound_id).first()
    assert found is not None
    return found


def soon() -> datetime:
    """A moment every row queued so far is due at (its next_attempt_at is the DB's now())."""
    return datetime.now(UTC) + timedelta(seconds=1)


async def deliver(
    customer: CustomerRecord,
    transport: Any,
    db: Resources,
    *,
    policy: DeliveryPolicy = POLICY,
    now: datetime | None = None,
) -> DeliveryReport:
    return await deliver_customer_queue(
        customer.id, transport=transport, policy=policy, lock_pool=db.lock_pool, now=now or soon()
    )


# --- Order --------------------------------------------------------------------------------


async def test_messages_to_one_customer_leave_in_the_order_they_were_queued(
    db: Resources,
) -> None:
    customer = await a_customer("15550000001")
    ids = await queue_texts(customer, *(f"message {n}" for n in range(6)))
    transport = FakeTransport()
    now = soon()

    report = await deliver(customer, transport, db, now=now)

    assert report.sent == ids
    assert report.waiting is None
    assert transport.texts() == [f"message {n}" for n in range(6)]
    for n, outbound_id in enumerate(ids):
        stored = await row(outbound_id)
        assert stored["status"] == "sent"
        assert stored["wamid"] == f"wamid.fake.{n + 1}"
        assert stored["attempts"] == 1
        assert stored["sent_at"] == now
        assert stored["last_error"] is None


async def test_nothing_queued_sends_nothing(db: Resources) -> None:
    customer = await a_customer("15550000001")
    transport = FakeTransport()
    report = await deliver(customer, transport, db)
    assert (report.sent, report.failed, report.dead, report.waiting) == ([], [], [], None)
    assert transport.attempts == []


async def test_concurrent_deliveries_for_one_customer_send_each_message_once(
    db: Resources,
) -> None:
    customer = await a_customer("15550000001")
    ids = await queue_texts(customer, *(f"m{n}" for n in range(10)))
    transport = FakeTransport()
    now = soon()
    reports = await asyncio.gather(*(deliver(customer, transport, db, now=now) for _ in range(4)))
    assert sorted(i for r in reports for i in r.sent) == ids
    assert transport.texts() == [f"m{n}" for n in range(10)]


# --- Retries ---------------------------------------------------------------------------------


async def test_a_retryable_error_holds_that_customers_queue_but_not_the_others(
    db: Resources,
) -> None:
    ann = await a_customer("15550000001")
    bob = await a_customer("15550000002")
    ann_ids = await queue_texts(ann, "a1", "a2", "a3")
    bob_ids = await queue_texts(bob, "b1", "b2")
    transport = FakeTransport()
    transport.fail("15550000001", rate_limited())
    now = soon()

    await deliver(ann, transport, db, now=now)

    first = await row(ann_ids[0])
    assert first["status"] == "queued"
    assert first["attempts"] == 1
    assert first["next_attempt_at"] > now
    assert first["last_error"] is not None
    assert "130429" in first["last_error"]
    assert first["error_code"] == 130429
    for later in ann_ids[1:]:
        waiting = await row(later)
        assert (waiting["status"], waiting["attempts"]) == ("queued", 0)
    assert transport.texts("15550000001") == []

    # Bob is not held up by Ann's rate limit.
    assert (await deliver(bob, transport, db, now=now)).sent == bob_ids
    assert transport.texts("15550000002") == ["b1", "b2"]

    # Before the retry is due nothing of Ann's leaves.
    again = await deliver(ann, transport, db, now=now + timedelta(milliseconds=500))
    assert again.sent == []
    assert again.waiting == ann_ids[0]
    assert len(transport.attempts) == 3  # a1 once, b1, b2
    assert (await row(ann_ids[0]))["attempts"] == 1

    # Once due, all of Ann's go, still in order.
    later = first["next_attempt_at"] + timedelta(seconds=1)
    final = await deliver(ann, transport, db, now=later)
    assert final.sent == ann_ids
    assert transport.texts("15550000001") == ["a1", "a2", "a3"]
    resent = await row(ann_ids[0])
    assert (resent["status"], resent["attempts"], resent["last_error"]) == ("sent", 2, None)


async def test_a_retryable_error_is_reported_as_waiting(db: Resources) -> None:
    customer = await a_customer("15550000001")
    first, _ = await queue_texts(customer, "a1", "a2")
    transport = FakeTransport()
    transport.fail("15550000001", rate_limited())

    report = await deliver(customer, transport, db)

    assert report.sent == []
    assert report.waiting == first


async def test_the_pair_rate_limit_retries_after_4_to_the_x_seconds(db: Resources) -> None:
    customer = await a_customer("15550000001")
    [outbound_id] = await queue_texts(customer, "hello")
    transport = FakeTransport()
    transport.fail("15550000001", pair_limited(), pair_limited(), pair_limited())
    now = soon()
    expected = [1, 4, 16]
    for attempt, seconds in enumerate(expected, start=1):
        await deliver(customer, transport, db, now=now)
        stored = await row(outbound_id)
        assert (stored["status"], stored["attempts"]) == ("queued", attempt)
        assert stored["next_attempt_at"] == now + timedelta(seconds=seconds)
        now = stored["next_attempt_at"]
    assert (await deliver(customer, transport, db, now=now)).sent == [outbound_id]


async def test_after_max_attempts_a_message_is_dead_and_the_next_one_goes(
    db: Resources,
) -> None:
    customer = await a_customer("15550000001")
    first, second = await queue_texts(customer, "doomed", "fine")
    transport = FakeTransport()
    transport.fail("15550000001", *(rate_limited() for _ in range(POLICY.max_attempts)))
    now = soon()

    for attempt in range(1, POLICY.max_attempts):
        await deliver(customer, transport, db, now=now)
        stored = await row(first)
        assert (stored["status"], stored["attempts"]) == ("queued", attempt)
        assert transport.texts() == []  # "fine" waits behind "doomed"
        now = stored["next_attempt_at"] + timedelta(seconds=1)

    report = await deliver(customer, transport, db, now=now)

    assert report.dead == [first]
    assert report.sent == [second]
    dead = await row(first)
    assert dead["status"] == "dead"
    assert dead["attempts"] == POLICY.max_attempts
    assert dead["error_code"] == 130429
    assert "Rate limit" in dead["last_error"]
    assert transport.texts() == ["fine"]
    # A dead row is not picked up again.
    assert (await deliver(customer, transport, db, now=now + timedelta(hours=1))).sent == []


async def test_a_permanent_error_fails_the_message_and_the_next_one_goes(
    db: Resources,
) -> None:
    customer = await a_customer("15550000001")
    first, second = await queue_texts(customer, "undeliverable", "next")
    transport = FakeTransport()
    transport.fail("15550000001", undeliverable())

    report = await deliver(customer, transport, db)

    assert report.failed == [first]
    assert report.sent == [second]
    failed = await row(first)
    assert failed["status"] == "failed"
    assert failed["attempts"] == 1
    assert failed["error_code"] == 131026
    assert "undeliverable" in failed["last_error"]
    assert transport.texts() == ["next"]


# --- Idempotency ------------------------------------------------------------------------------


async def test_queueing_twice_with_one_idempotency_key_makes_one_row(db: Resources) -> None:
    customer = await a_customer("15550000001")
    body = text("15550000001", "your order is confirmed")
    first = await queue_message(
        customer_id=customer.id, body=body, kind="text", idempotency_key="wamid.in.1:0"
    )
    second = await queue_message(
        customer_id=customer.id, body=body, kind="text", idempotency_key="wamid.in.1:0"
    )
    other = await queue_message(
        customer_id=customer.id, body=body, kind="text", idempotency_key="wamid.in.1:1"
    )
    assert first is not None
    assert second is None
    assert other is not None
    assert other != first
    assert await OutboundMessage.count() == 2


async def test_messages_without_a_key_are_never_merged(db: Resources) -> None:
    customer = await a_customer("15550000001")
    body = text("15550000001", "same")
    ids = [await queue_message(customer_id=customer.id, body=body, kind="text") for _ in range(3)]
    assert None not in ids
    assert len(set(ids)) == 3


async def test_a_body_without_an_address_is_refused(db: Resources) -> None:
    customer = await a_customer("15550000001")
    with pytest.raises(ValueError, match="to"):
        await queue_message(customer_id=customer.id, body={"type": "text"}, kind="text")


# --- The 24-hour window --------------------------------------------------------------------


async def test_outside_the_window_without_a_template_the_message_fails(db: Resources) -> None:
    customer = await a_customer("15550000001", last_inbound=datetime.now(UTC) - timedelta(hours=25))
    [outbound_id] = await queue_texts(customer, "late reply")
    transport = FakeTransport()

    report = await deliver(customer, transport, db)

    assert report.failed == [outbound_id]
    assert transport.attempts == []
    failed = await row(outbound_id)
    assert failed["status"] == "failed"
    assert "WHATSAPP_TEMPLATE_NAME" in failed["last_error"]
    assert failed["error_code"] == 131047


async def test_a_customer_who_never_wrote_is_outside_the_window(db: Resources) -> None:
    customer = await register_customer(wa_id="15550000001")
    [outbound_id] = await queue_texts(customer, "hello?")
    report = await deliver(customer, FakeTransport(), db)
    assert report.failed == [outbound_id]


async def test_just_inside_the_window_free_text_is_sent(db: Resources) -> None:
    now = soon()
    customer = await a_customer("15550000001", last_inbound=now - timedelta(hours=23, minutes=59))
    await queue_texts(customer, "still open")
    transport = FakeTransport()
    assert len((await deliver(customer, transport, db, now=now)).sent) == 1
    assert transport.sent[0]["type"] == "text"


async def test_outside_the_window_the_template_is_sent_to_the_same_recipient(
    db: Resources,
) -> None:
    customer = await a_customer("15550000001", last_inbound=datetime.now(UTC) - timedelta(days=3))
    [outbound_id] = await queue_texts(customer, "your order shipped")
    transport = FakeTransport()

    report = await deliver(customer, transport, db, policy=WITH_TEMPLATE)

    assert report.sent == [outbound_id]
    [sent] = transport.sent
    assert sent == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "15550000001",
        "type": "template",
        "template": {"name": "order_update", "language": {"code": "en_GB"}},
    }
    stored = await row(outbound_id)
    assert stored["status"] == "sent"
    assert json.loads(stored["payload"]) == sent  # the record shows what really left


async def test_outside_the_window_a_username_user_gets_the_template_by_user_id(
    db: Resources,
) -> None:
    bsuid = "US.13491208655302741918"
    customer = await a_customer(user_id=bsuid, last_inbound=datetime.now(UTC) - timedelta(days=2))
    await queue_message(
        customer_id=customer.id, body=text(bsuid, "hi", key="recipient"), kind="text"
    )
    transport = FakeTransport()
    await deliver(customer, transport, db, policy=WITH_TEMPLATE)
    [sent] = transport.sent
    assert sent["recipient"] == bsuid
    assert "to" not in sent
    assert sent["type"] == "template"


async def test_a_template_message_is_sent_as_it_is_outside_the_window(db: Resources) -> None:
    customer = await a_customer("15550000001", last_inbound=datetime.now(UTC) - timedelta(days=2))
    body = {
        "messaging_product": "whatsapp",
        "to": "15550000001",
        "type": "template",
        "template": {"name": "payment_reminder", "language": {"code": "en_US"}},
    }
    await queue_message(customer_id=customer.id, body=body, kind="template")
    transport = FakeTransport()
    await deliver(customer, transport, db)
    assert transport.sent == [body]


# --- Which customers have due messages ---------------------------------------------------


async def test_customers_with_due_messages(db: Resources) -> None:
    due = await a_customer("15550000001")
    waiting = await a_customer("15550000002")
    done = await a_customer("15550000003")
    await queue_texts(due, "x")
    [later] = await queue_texts(waiting, "y")
    [sent] = await queue_texts(done, "z")
    await OutboundMessage.update(
        {OutboundMessage.next_attempt_at: datetime.now(UTC) + timedelta(minutes=5)}
    ).where(OutboundMessage.id == later)
    await OutboundMessage.update({OutboundMessage.status: "sent"}).where(OutboundMessage.id == sent)
    assert await customers_with_due_messages(soon()) == [due.id]


# --- The Cloud API transport end to end --------------------------------------------------------


@pytest.fixture
async def graph() -> AsyncIterator[tuple[CloudTransport, list[httpx.Request]]]:
    requests: list[httpx.Request] = []
    answers = [
        httpx.Response(500, json={"error": {"message": "An unknown error occurred"}}),
        httpx.Response(500, text="Service unavailable"),
        httpx.Response(
            200,
            json={
                "messaging_product": "whatsapp",
                "contacts": [{"input": "15550000001", "wa_id": "15550000001"}],
                "messages": [{"id": "wamid.HBgLMTU1NTAwMDAwMDEVAgARGBI"}],
            },
        ),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return answers[len(requests) - 1]

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        yield (
            CloudTransport(
                client=client,
                base_url="https://graph.example.test",
                api_version="v26.0",
                phone_number_id="106540352242922",
                access_token="token-1",
            ),
            requests,
        )


async def test_cloud_transport_retries_server_errors_until_sent(
    db: Resources, graph: tuple[CloudTransport, list[httpx.Request]]
) -> None:
    transport, requests = graph
    customer = await a_customer("15550000001")
    [outbound_id] = await queue_texts(customer, "hello from the shop")
    now = soon()

    for attempt in (1, 2):
        await deliver(customer, transport, db, now=now)
        stored = await row(outbound_id)
        assert (stored["status"], stored["attempts"]) == ("queued", attempt)
        assert "HTTP 500" in stored["last_error"]
        now = stored["next_attempt_at"] + timedelta(seconds=1)

    report = await deliver(customer, transport, db, now=now)

    assert report.sent == [outbound_id]
    stored = await row(outbound_id)
    assert stored["status"] == "sent"
    assert stored["wamid"] == "wamid.HBgLMTU1NTAwMDAwMDEVAgARGBI"
    assert stored["attempts"] == 3
    assert stored["last_error"] is None
    assert len(requests) == 3
    for request in requests:
        assert str(request.url) == "https://graph.example.test/v26.0/106540352242922/messages"
        assert request.headers["authorization"] == "Bearer token-1"
        assert json.loads(request.content) == text("15550000001", "hello from the shop")
