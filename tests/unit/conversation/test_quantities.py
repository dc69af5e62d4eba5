"""Quantities, tapped or typed, and the refusals a customer can understand."""

from __future__ import annotations

import pytest

from app.conversation.inputs import Choice
from app.conversation.session import CartItem, Session, Step

from .conftest import Chat


def at_quantity(sku: str, cart: list[CartItem] | None = None) -> Chat:
    chat = Chat(session=Session(cart=cart or [], greeted=True))
    chat.send("menu")
    chat.send(Choice(f"qty:{sku}", "Choose quantity"))
    assert chat.step == Step.QUANTITY
    return chat


@pytest.mark.parametrize(
    ("typed", "quantity"),
    [
        ("2", 2),
        ("x3", 3),
        ("3x", 3),
        ("×4", 4),
        ("3 please", 3),
        ("I'd like 5", 5),
        ("two", 2),
        ("Seven!", 7),
        ("1,000", 1000),
    ],
)
def test_typed_quantities_are_understood(typed: str, quantity: int) -> None:
    chat = at_quantity("TEA")  # stock not tracked
    chat.send(typed)
    assert chat.session.cart == [CartItem("TEA", quantity)]
    assert f"Added {quantity:,} × *Green tea* to your cart." in chat.text


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("0", "The quantity must be at least 1."),
        ("-3", "The quantity must be at least 1."),
        ("1000000000", "You can order at most 1,000 at a time."),
        ("9" * 5000, "You can order at most 1,000 at a time."),
        ("1001", "You can order at most 1,000 at a time."),
        ("abc", "Please type the quantity as a whole number"),
        ("", "Please type the quantity as a whole number"),
        ("1.5", "Please type the quantity as a whole number"),
        ("2 or 3", "Please type the quantity as a whole number"),
        ("🍰🍰", "Please type the quantity as a whole number"),
    ],
)
def test_bad_quantities_are_refused_and_asked_again(typed: str, says: str) -> None:
    chat = at_quantity("TEA")
    chat.send(typed)
    assert says in chat.text
    assert chat.session.cart == []
    assert chat.step == Step.QUANTITY  # the customer can type again
    assert "How many *Green tea* would you like?" in chat.text


def test_over_stock_says_how_many_are_left() -> None:
    chat = at_quantity("OAT-MILK")  # 5 in stock
    assert "Type a number from 1 to 5." in chat.text
    chat.send("6")
    assert "Sorry, there are only 5 *Oat milk 1 l* left." in chat.text
    chat.send("5")
    assert chat.session.cart == [CartItem("OAT-MILK", 5)]


def test_stock_counts_what_is_already_in_the_cart() -> None:
    chat = at_quantity("OAT-MILK", cart=[CartItem("OAT-MILK", 4)])
    assert "Type a number from 1 to 1." in chat.text
    chat.send("2")
    assert (
        "You already have 4 *Oat milk 1 l* in your cart, so you can add at most 1 more."
        in chat.text
    )
    assert chat.session.cart == [CartItem("OAT-MILK", 4)]


def test_no_room_left_shows_the_product_instead_of_asking() -> None:
    chat = Chat(session=Session(cart=[CartItem("OAT-MILK", 5)], greeted=True))
    chat.send("oat milk")
    chat.tap("prod:OAT-MILK")
    chat.tap_title("Add 1")
    assert "that's as many as we can sell" in chat.text
    assert chat.session.cart == [CartItem("OAT-MILK", 5)]


def test_quick_picks_add_directly() -> None:
    chat = at_quantity("CROISSANT")
    assert [title for _, title in chat.options] == ["2", "3", "Back"]
    chat.tap_title("3")
    assert chat.session.cart == [CartItem("CROISSANT", 3)]


def test_adding_twice_adds_up() -> None:
    chat = Chat()
    chat.send("croissant")
    chat.tap_title("Add 1")
    chat.send("croissant")
    chat.tap_title("Add 1")
    assert chat.session.cart == [CartItem("CROISSANT", 2)]
    assert "Cart: 2 items, $5.00." in chat.text


def test_back_from_the_quantity_returns_to_the_product() -> None:
    chat = at_quantity("TEA")
    chat.send("back")
    assert chat.step == Step.PRODUCT
    assert "*Green tea*" in chat.text


def test_changing_a_line_to_zero_is_refused_and_remove_is_offered() -> None:
    chat = Chat(session=Session(cart=[CartItem("TEA", 2)], greeted=True))
    chat.send("cart")
    chat.tap_title("Change")
    chat.tap("line:TEA")
    chat.send("0")
    assert "The quantity must be at least 1." in chat.text
    assert "Remove" in [title for _, title in chat.options]
    chat.send("remove")
    assert "Removed *Green tea* from your cart." in chat.text
    assert chat.session.cart == []


def test_changing_a_line_above_stock_is_refused() -> None:
    chat = Chat(session=Session(cart=[CartItem("OAT-MILK", 2)], greeted=True))
    chat.send("cart")
    chat.tap_title("Change")
    chat.tap("line:OAT-MILK")
    chat.send("9")
    assert "only 5 *Oat milk 1 l* left" in chat.text
    assert chat.session.cart == [CartItem("OAT-MILK", 2)]
