"""The inbox's quick path: a message from a known, unchanged sender is stored in one
statement; every other case takes the general path and ends the same way."""

from __future__ import annotations

from datetime import UTC, datetime

from app.customers.service import register_customer
from app.customers.tables import Customer
from app.resources import Resources
from app.whatsapp.inbox import store_batch
from app.whatsapp.tables import InboundMessage
from app.whatsapp.updates import WebhookBatch, parse_webhook
from tests.integration.graphql.test_orders import statements
from tests.integration.whatsapp.payloads import TS, envelope, text_message

PHONE, USER = "15551234567", "US.13491208655302741918"


def one(wamid: str, *, wa_id: str | None = PHONE, user_id: str | None = None) -> WebhookBatch:
    return parse_webhook(envelope([text_message(wamid, wa_id=wa_id, user_id=user_id)]))


async def test_a_known_senders_message_is_one_statement(db: Resources) -> None:
    known = await register_customer(wa_id=PHONE, profile_name=f"Customer {PHONE}")
    with statements() as seen:
        stored = await store_batch(one("wamid.a"))
    assert len(seen) == 1
    assert (stored.new_messages, stored.duplicates, stored.customers) == (1, 0, {known.id})
    row = await InboundMessage.select().where(InboundMessage.wamid == "wamid.a").first()
    assert row is not None
    assert (row["customer"], row["status"], row["type"]) == (known.id, "pending", "text")
    customer = await Customer.select(Customer.last_inbound_at).first()
    assert customer is not None
    assert customer["last_inbound_at"] == datetime.fromtimestamp(TS, UTC)


async def test_a_redelivered_message_is_a_duplicate_on_the_quick_path(db: Resources) -> None:
    await register_customer(wa_id=PHONE, profile_name=f"Customer {PHONE}")
    await store_batch(one("wamid.a"))
    again = await store_batch(one("wamid.a"))
    assert (again.new_messages, again.duplicates, again.customers) == (0, 1, set())
    assert await InboundMessage.count() == 1


async def test_a_known_user_id_with_the_same_phone_takes_the_quick_path(db: Resources) -> None:
    known = await register_customer(user_id=USER, wa_id=PHONE, profile_name=f"Customer {PHONE}")
    with statements() as seen:
        stored = await store_batch(one("wamid.u", user_id=USER))
    assert len(seen) == 1
    assert stored.customers == {known.id}


async def test_a_new_name_is_saved_by_the_general_path(db: Resources) -> None:
    known = await register_customer(wa_id=PHONE, profile_name="Old name")
    with statements() as seen:
        stored = await store_batch(one("wamid.n"))
    assert len(seen) > 1
    assert stored.customers == {known.id}
    customer = await Customer.select(Customer.profile_name).first()
    assert customer == {"profile_name": f"Customer {PHONE}"}


async def test_a_first_message_registers_the_customer(db: Resources) -> None:
    stored = await store_batch(one("wamid.f"))
    assert stored.new_messages == 1
    assert await Customer.count() == 1


async def test_a_user_id_joining_a_phone_only_customer_fills_it_in(db: Resources) -> None:
    known = await register_customer(wa_id=PHONE, profile_name=f"Customer {PHONE}")
    stored = await store_batch(one("wamid.j", user_id=USER))
    assert stored.customers == {known.id}
    customer = await Customer.select(Customer.user_id).first()
    assert customer == {"user_id": USER}


async def test_a_malformed_sender_is_kept_unusable_not_stored_for_work(db: Resources) -> None:
    stored = await store_batch(one("wamid.x", wa_id="not-a-phone"))
    assert (stored.new_messages, stored.unusable) == (0, 1)
    row = await InboundMessage.select(InboundMessage.status).first()
    assert row == {"status": "failed"}
