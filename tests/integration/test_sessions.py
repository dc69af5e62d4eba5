"""Conversation sessions live in PostgreSQL: they survive Redis, expire, and re-run safely."""

from __future__ import annotations

import json
from datetime import timedelta

from app.conversation.session import CartItem, Session, Step
from app.conversation.store import SessionStore, forget_idle_sessions
from app.customers.service import register_customer
from app.db.reads import fetch
from app.resources import Resources
from tests.integration.factories import a_customer

STORE = SessionStore(timedelta(hours=24))


def with_cart(*skus: str) -> Session:
    session = Session.new()
    session.step = Step.CART
    session.cart = [CartItem(sku=sku, quantity=1) for sku in skus]
    return session


async def test_a_first_visit_is_a_new_session_not_an_expired_one(db: Resources) -> None:
    customer = (await a_customer()).id
    loaded = await STORE.load(customer, "wamid.1")
    assert loaded.session == Session.new()
    assert loaded.expired is False


async def test_the_next_message_starts_where_the_last_one_left(db: Resources) -> None:
    customer = (await a_customer()).id
    await STORE.save(customer, "wamid.1", Session.new(), with_cart("BREAD"))
    loaded = await STORE.load(customer, "wamid.2")
    assert loaded.session.cart == [CartItem("BREAD", 1)]
    assert loaded.expired is False


async def test_a_message_handled_again_starts_from_before_its_step(db: Resources) -> None:
    customer = (await a_customer()).id
    await STORE.save(customer, "wamid.1", with_cart("BREAD"), with_cart("BREAD", "JAM"))
    again = await STORE.load(customer, "wamid.1")
    assert [item.sku for item in again.session.cart] == ["BREAD"]


async def test_the_session_survives_redis_losing_everything(db: Resources) -> None:
    customer = (await a_customer()).id
    await STORE.save(customer, "wamid.1", Session.new(), with_cart("BREAD"))
    await db.redis.flushdb()
    assert (await STORE.load(customer, "wamid.2")).session.cart == [CartItem("BREAD", 1)]


async def test_an_expired_session_starts_over_and_says_so(db: Resources) -> None:
    customer = (await a_customer()).id
    await STORE.save(customer, "wamid.1", Session.new(), with_cart("BREAD"))
    await fetch("UPDATE conversation_session SET expires_at = now() - interval '1 second'")
    loaded = await STORE.load(customer, "wamid.2")
    assert loaded.session == Session.new()
    assert loaded.expired is True
    assert await STORE.current(customer) is None


async def test_every_save_renews_the_expiry(db: Resources) -> None:
    customer = (await a_customer()).id
    await STORE.save(customer, "wamid.1", Session.new(), with_cart("BREAD"))
    await fetch("UPDATE conversation_session SET expires_at = now() + interval '1 minute'")
    await STORE.save(customer, "wamid.2", with_cart("BREAD"), with_cart("BREAD"))
    rows = await fetch(
        "SELECT expires_at - now() > interval '23 hours' AS renewed FROM conversation_session"
    )
    assert rows[0]["renewed"] is True


async def test_undo_forgets_only_the_step_of_that_message(db: Resources) -> None:
    customer = (await a_customer()).id
    await STORE.save(customer, "wamid.1", with_cart("BREAD"), with_cart("BREAD", "JAM"))
    await STORE.undo(customer, "wamid.other")
    assert len((await STORE.load(customer, "wamid.2")).session.cart) == 2
    await STORE.undo(customer, "wamid.1")
    assert [i.sku for i in (await STORE.load(customer, "wamid.2")).session.cart] == ["BREAD"]


async def test_reset_keeps_the_cart_and_nothing_else(db: Resources) -> None:
    customer = (await a_customer()).id
    session = with_cart("BREAD")
    session.address = "1 Long Road"
    await STORE.save(customer, "wamid.1", Session.new(), session)
    await STORE.reset(customer)
    current = await STORE.current(customer)
    assert current is not None
    assert current.cart == [CartItem("BREAD", 1)]
    assert current.step is Step.MENU
    assert current.address is None


async def test_reset_without_a_session_starts_an_empty_one(db: Resources) -> None:
    customer = (await a_customer()).id
    await STORE.reset(customer)
    assert await STORE.current(customer) == Session.new()


async def test_sessions_idle_for_months_are_forgotten_and_others_kept(db: Resources) -> None:
    old, recent = (await a_customer()).id, (await a_customer()).id
    await STORE.save(old, "wamid.1", Session.new(), with_cart("BREAD"))
    await STORE.save(recent, "wamid.2", Session.new(), with_cart("JAM"))
    await fetch(
        "UPDATE conversation_session SET expires_at = now() - interval '91 days' "
        "WHERE customer = {}",
        old,
    )
    assert await forget_idle_sessions() == 1
    assert (await STORE.load(old, "wamid.3")).expired is False  # a first visit again
    assert (await STORE.current(recent)) is not None


async def test_a_merged_customer_keeps_the_cart_they_built_by_phone(db: Resources) -> None:
    by_user = await register_customer(user_id="US.13491208655302741918", profile_name="Ada")
    by_phone = await register_customer(wa_id="15551234567")
    await STORE.save(by_phone.id, "wamid.1", Session.new(), with_cart("BREAD"))

    merged = await register_customer(user_id="US.13491208655302741918", wa_id="15551234567")

    assert merged.id == by_user.id
    current = await STORE.current(by_user.id)
    assert current is not None
    assert current.cart == [CartItem("BREAD", 1)]


async def test_a_merge_keeps_the_conversation_the_kept_customer_already_has(
    db: Resources,
) -> None:
    by_user = await register_customer(user_id="US.13491208655302741918", profile_name="Ada")
    by_phone = await register_customer(wa_id="15551234567")
    await STORE.save(by_user.id, "wamid.1", Session.new(), with_cart("JAM"))
    await STORE.save(by_phone.id, "wamid.2", Session.new(), with_cart("BREAD"))

    await register_customer(user_id="US.13491208655302741918", wa_id="15551234567")

    current = await STORE.current(by_user.id)
    assert current is not None
    assert current.cart == [CartItem("JAM", 1)]
    assert len(await fetch("SELECT customer FROM conversation_session")) == 1


async def test_a_conversation_under_way_in_redis_before_the_upgrade_carries_on(
    db: Resources,
) -> None:
    customer = (await a_customer()).id
    record = {
        "applied": "wamid.old",
        "before": Session.new().to_json(),
        "current": with_cart("BREAD").to_json(),
    }
    await db.redis.set(f"chatcart:session:{customer}", json.dumps(record))
    upgraded = SessionStore(timedelta(hours=24), earlier=db.redis)

    assert (await upgraded.load(customer, "wamid.new")).session.cart == [CartItem("BREAD", 1)]
    assert (await upgraded.load(customer, "wamid.old")).session.cart == []  # re-run: before
    await upgraded.save(customer, "wamid.new", with_cart("BREAD"), with_cart("BREAD", "JAM"))
    await db.redis.set(f"chatcart:session:{customer}", "not json")
    assert len((await upgraded.load(customer, "wamid.next")).session.cart) == 2  # ours wins


async def test_an_unreadable_earlier_session_starts_afresh(db: Resources) -> None:
    customer = (await a_customer()).id
    await db.redis.set(f"chatcart:session:{customer}", "not json")
    upgraded = SessionStore(timedelta(hours=24), earlier=db.redis)
    assert (await upgraded.load(customer, "wamid.1")).session == Session.new()
