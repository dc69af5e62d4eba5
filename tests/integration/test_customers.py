"""Finding or registering the customer behind a WhatsApp conversation, against the database."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.customers.service import CustomerRecord, normalize_phone, register_customer
from app.customers.tables import Customer
from app.errors import InvalidInput
from app.ordering import events
from app.ordering.service import PlaceOrder, get_order, place_order
from app.ordering.values import CartLine, Fulfilment
from tests.integration.factories import TERMS, a_product

BSUID = "US.13491208655302741918"
PHONE = "14155552671"


async def stored_customers() -> list[dict[str, Any]]:
    return list(await Customer.select().order_by(Customer.id))


# --------------------------------------------------------------------------- register


async def test_register_by_bsuid_only() -> None:
    customer = await register_customer(user_id=BSUID, profile_name="Ann")

    rows = await stored_customers()
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == customer.id
    assert (row["user_id"], row["wa_id"], row["profile_name"]) == (BSUID, None, "Ann")
    assert customer.user_id == BSUID
    assert customer.wa_id is None
    assert customer.language == "en"
    assert customer.opted_out is False
    assert customer.last_inbound_at is None


async def test_register_by_phone_only() -> None:
    customer = await register_customer(wa_id=PHONE, profile_name="Ben")

    rows = await stored_customers()
    assert len(rows) == 1
    assert (rows[0]["id"], rows[0]["user_id"], rows[0]["wa_id"]) == (customer.id, None, PHONE)
    assert rows[0]["profile_name"] == "Ben"


async def test_register_without_profile_name_stores_empty_name() -> None:
    customer = await register_customer(user_id=BSUID)
    assert customer.profile_name == ""
    assert (await stored_customers())[0]["profile_name"] == ""


async def test_same_customer_is_found_again_by_either_id() -> None:
    first = await register_customer(user_id=BSUID, wa_id=PHONE, profile_name="Cleo")

    by_user_id = await register_customer(user_id=BSUID)
    by_phone = await register_customer(wa_id=PHONE)
    by_both = await register_customer(user_id=BSUID, wa_id=PHONE, profile_name="Cleo")

    assert by_user_id == by_phone == by_both == first
    rows = await stored_customers()
    assert len(rows) == 1
    assert (rows[0]["user_id"], rows[0]["wa_id"], rows[0]["profile_name"]) == (
        BSUID,
        PHONE,
        "Cleo",
    )


async def test_customer_first_seen_by_phone_gets_user_id_attached() -> None:
    by_phone = await register_customer(wa_id=PHONE, profile_name="Dee")

    later = await register_customer(user_id=BSUID, wa_id=PHONE, profile_name="Dee")

    assert later.id == by_phone.id
    assert later.user_id == BSUID
    assert later.wa_id == PHONE
    rows = await stored_customers()
    assert len(rows) == 1
    assert (rows[0]["id"], rows[0]["user_id"], rows[0]["wa_id"]) == (by_phone.id, BSUID, PHONE)
    # From now on the BSUID alone finds them.
    assert (await register_customer(user_id=BSUID)).id == by_phone.id


async def test_customer_first_seen_by_bsuid_gets_phone_attached() -> None:
    by_bsuid = await register_customer(user_id=BSUID)

    later = await register_customer(user_id=BSUID, wa_id=PHONE)

    assert later.id == by_bsuid.id
    rows = await stored_customers()
    assert len(rows) == 1
    assert (rows[0]["user_id"], rows[0]["wa_id"]) == (BSUID, PHONE)
    assert (await register_customer(wa_id=PHONE)).id == by_bsuid.id


async def test_a_changed_phone_number_follows_the_user_id() -> None:
    original = await register_customer(user_id=BSUID, wa_id=PHONE)
    # The user id is stable; a user who changes number keeps it, so the new phone wins.
    again = await register_customer(user_id=BSUID, wa_id="254712345678")
    assert again.id == original.id
    rows = await stored_customers()
    assert len(rows) == 1
    assert rows[0]["wa_id"] == "254712345678"
    assert (await register_customer(wa_id="254712345678")).id == original.id


async def test_profile_name_is_updated_but_not_erased() -> None:
    customer = await register_customer(user_id=BSUID, profile_name="Eve")

    renamed = await register_customer(user_id=BSUID, profile_name="Eve Adams")
    assert renamed.id == customer.id
    assert renamed.profile_name == "Eve Adams"
    assert (await stored_customers())[0]["profile_name"] == "Eve Adams"

    # A message without a profile name does not wipe the one we know.
    unnamed = await register_customer(user_id=BSUID)
    assert unnamed.profile_name == "Eve Adams"
    assert (await stored_customers())[0]["profile_name"] == "Eve Adams"


@pytest.mark.parametrize(
    "ids",
    [{}, {"user_id": None, "wa_id": None}, {"user_id": "", "wa_id": ""}],
    ids=["no-args", "none", "empty-strings"],
)
async def test_neither_id_is_invalid_and_nothing_is_written(ids: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as caught:
        await register_customer(profile_name="Nobody", **ids)
    assert caught.value.field == "user_id"
    assert await Customer.count() == 0


async def test_concurrent_first_contact_by_bsuid_creates_one_customer() -> None:
    results = await asyncio.gather(
        *(register_customer(user_id=BSUID, profile_name="Fay") for _ in range(10))
    )

    assert all(isinstance(r, CustomerRecord) for r in results)
    assert len({r.id for r in results}) == 1
    rows = await stored_customers()
    assert len(rows) == 1
    assert rows[0]["user_id"] == BSUID


async def test_concurrent_first_contact_by_phone_creates_one_customer() -> None:
    results = await asyncio.gather(*(register_customer(wa_id=PHONE) for _ in range(10)))
    assert len({r.id for r in results}) == 1
    assert await Customer.count() == 1


async def test_phone_customer_is_merged_into_the_user_id_customer_with_their_orders() -> None:
    by_bsuid = await register_customer(user_id=BSUID, profile_name="Ada")
    by_phone = await register_customer(wa_id=PHONE)
    product = await a_product(stock=None)
    placed = await place_order(
        PlaceOrder(by_phone.id, [CartLine(product.sku, 1)], Fulfilment.PICKUP),
        TERMS,
        actor="customer",
    )

    customer = await register_customer(user_id=BSUID, wa_id=PHONE)

    assert customer.id == by_bsuid.id
    assert (customer.user_id, customer.wa_id) == (BSUID, PHONE)
    assert await Customer.count() == 1
    assert (await get_order(placed.id))["customer"] == by_bsuid.id
    history = await events.history(placed.id)
    assert history[-1]["type"] == "OrderCustomerMerged"
    assert history[-1]["data"] == {"from_customer": by_phone.id, "to_customer": by_bsuid.id}
    assert (await register_customer(wa_id=PHONE)).id == by_bsuid.id


async def test_a_recycled_phone_number_moves_to_its_new_owner() -> None:
    old_owner = await register_customer(user_id="US.1", wa_id=PHONE)
    new_owner = await register_customer(user_id="US.2")

    customer = await register_customer(user_id="US.2", wa_id=PHONE)

    assert customer.id == new_owner.id
    assert customer.wa_id == PHONE
    rows = await Customer.select().where(Customer.id == old_owner.id)
    assert rows[0]["wa_id"] is None
    assert rows[0]["user_id"] == "US.1"
    assert await Customer.count() == 2


# --------------------------------------------------------------------------- normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 415 555 2671", "14155552671"),
        ("254712345678", "254712345678"),
        ("+254 712 345 678", "254712345678"),
        ("  14155552671  ", "14155552671"),
        ("+44 20 7946 0958", "442079460958"),
        ("(415) 555-2671", "14155552671"),  # national format, default region US
    ],
)
def test_normalize_phone(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["garbage", "", "   ", "12", "+", "call me maybe"])
def test_normalize_phone_refuses_garbage(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_phone(raw)
    assert caught.value.field == "wa_id"


async def test_normalized_phone_finds_the_same_customer() -> None:
    first = await register_customer(wa_id=normalize_phone("+1 415 555 2671"))
    again = await register_customer(wa_id=normalize_phone("14155552671"))
    assert again.id == first.id
    assert await Customer.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"wa_id": "1" * 30}, "wa_id"),
        ({"wa_id": "not-a-phone"}, "wa_id"),
        ({"user_id": "x" * 300}, "user_id"),
        ({"user_id": "robert'); DROP TABLE customer;--"}, "user_id"),
    ],
)
async def test_malformed_ids_are_refused(kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await register_customer(**kwargs)
    assert caught.value.field == field
    assert await Customer.count() == 0


async def test_phone_with_plus_is_the_same_customer() -> None:
    first = await register_customer(wa_id="+254712345678")
    second = await register_customer(wa_id="254712345678")
    assert first.id == second.id
    assert second.wa_id == "254712345678"
