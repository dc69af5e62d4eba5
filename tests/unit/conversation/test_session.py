"""Sessions survive JSON exactly and load across releases."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.conversation.session import CartItem, Session, Step
from app.ordering.values import Destination, Fulfilment

texts = st.text(max_size=40)
floats = st.floats(allow_nan=False, allow_infinity=False)

sessions = st.builds(
    Session,
    step=st.sampled_from(Step),
    cart=st.lists(st.builds(CartItem, sku=texts, quantity=st.integers(1, 10**6)), max_size=5),
    category=st.none() | texts,
    query=st.none() | texts,
    results=st.lists(texts, max_size=5),
    page=st.integers(0, 100),
    sku=st.none() | texts,
    fulfilment=st.none() | st.sampled_from(Fulfilment),
    address=st.none() | texts,
    latitude=st.none() | floats,
    longitude=st.none() | floats,
    note=texts,
    order_number=st.none() | st.integers(1, 10**9),
    options=st.lists(st.tuples(texts, texts), max_size=10),
    greeted=st.booleans(),
)


@given(sessions)
def test_json_round_trip_is_exact(session: Session) -> None:
    assert Session.from_json(session.to_json()) == session


def test_new_session() -> None:
    session = Session.new()
    assert session.step == Step.MENU
    assert session.cart == []
    assert not session.greeted


def test_unknown_keys_are_ignored_and_missing_ones_default() -> None:
    stored = json.dumps({"step": "cart", "cart": [{"sku": "TEA", "quantity": 2}], "loyalty": 7})
    session = Session.from_json(stored)
    assert session.step == Step.CART
    assert session.cart == [CartItem("TEA", 2)]
    assert session.options == []
    assert session.page == 0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("step", "retired_step"),
        ("cart", "not a list"),
        ("page", -1),
        ("page", True),
        ("greeted", "yes"),
        ("fulfilment", "drone"),
        ("latitude", "north"),
        ("latitude", float("inf")),
        ("order_number", 1.5),
        ("options", {"a": 1}),
        ("note", None),
    ],
)
def test_malformed_values_fall_back_to_defaults(key: str, value: object) -> None:
    session = Session.from_json(json.dumps({key: value}))
    assert getattr(session, key) == getattr(Session.new(), key)


def test_malformed_cart_entries_are_dropped() -> None:
    stored = json.dumps(
        {"cart": [{"sku": "TEA", "quantity": 1}, {"sku": "X", "quantity": 0}, {"sku": 3}, "junk"]}
    )
    assert Session.from_json(stored).cart == [CartItem("TEA", 1)]


def test_integer_coordinates_load_as_floats() -> None:
    session = Session.from_json(json.dumps({"latitude": 1, "longitude": -2}))
    assert session.latitude == 1.0
    assert isinstance(session.latitude, float)


@pytest.mark.parametrize("stored", ["[]", "42", "not json", ""])
def test_a_stored_value_that_is_not_a_session_object_raises(stored: str) -> None:
    with pytest.raises(ValueError):
        Session.from_json(stored)


def test_destination_only_for_delivery() -> None:
    session = Session(fulfilment=Fulfilment.PICKUP, address="1 Main St")
    assert session.destination is None
    session.fulfilment = Fulfilment.DELIVERY
    assert session.destination == Destination("1 Main St")


def test_copy_is_independent() -> None:
    session = Session(cart=[CartItem("TEA", 1)])
    copy = session.copy()
    copy.cart[0].quantity = 5
    assert session.cart == [CartItem("TEA", 1)]
