"""Order status, cancelling an unpaid order, and reordering."""

from __future__ import annotations

import pytest

from app.conversation.effects import CancelOrder, CancelRefused, OrderCancelled
from app.conversation.session import CartItem, Session, Step

from .conftest import COMPLETED, PENDING, Chat, make_ctx, others, replies


def customer(*orders: object, cart: list[CartItem] | None = None) -> Chat:
    return Chat(make_ctx(orders=orders), Session(cart=cart or [], greeted=True))


def test_status_without_orders() -> None:
    chat = customer()
    chat.send("status")
    assert "You have no orders yet." in chat.text
    assert chat.step == Step.MENU


def test_status_shows_the_latest_order() -> None:
    chat = customer(PENDING, COMPLETED)
    chat.send("status")
    text = chat.text
    assert "Order *#1042*: waiting for payment" in text
    assert "2 × Chocolate cake\n1 × Green tea\nTotal: $28.00" in text
    assert "Payment reference: *7KQ2-M9X7*" in text
    assert chat.ids == ["paid:1042", "cancel:1042", "menu"]


@pytest.mark.parametrize("typed", ["status 1001", "Status #1001", "1001", "#1001", "order 1001"])
def test_status_of_a_given_order(typed: str) -> None:
    chat = customer(PENDING, COMPLETED)
    chat.send(typed)
    assert "Order *#1001*: completed" in chat.text
    assert "Placed Nov 19" in chat.text
    assert chat.ids == ["reorder:1001", "orders", "menu"]


def test_status_of_an_unknown_order() -> None:
    chat = customer(PENDING)
    chat.send("status 9999")
    assert "I can't find order #9999." in chat.text


def test_my_orders_lists_recent_orders() -> None:
    chat = customer(PENDING, COMPLETED)
    chat.send("orders")
    assert chat.options == [
        ("order:1042", "#1042 · waiting for pay…"),
        ("order:1001", "#1001 · completed"),
    ]
    chat.tap("order:1001")
    assert "Order *#1001*" in chat.text


def test_cancel_asks_first_then_cancels_the_unpaid_order() -> None:
    chat = customer(PENDING, COMPLETED)
    chat.send("cancel")
    assert "Cancel order *#1042* ($28.00)?" in chat.text
    assert [title for _, title in chat.options] == ["Yes, cancel it", "Keep order"]

    turn = chat.send("yes")
    assert others(turn) == [CancelOrder(order_id=7)]
    assert replies(turn) == []

    chat.ctx = make_ctx(orders=(PENDING, COMPLETED))  # the handler may pass the old list
    done = chat.report(OrderCancelled(1042))
    assert len(replies(done)) == 1
    assert "Order *#1042* is cancelled." in chat.text
    assert "waiting for payment" not in chat.text
    assert chat.step == Step.MENU


def test_keeping_the_order() -> None:
    chat = customer(PENDING)
    chat.send("cancel")
    turn = chat.tap_title("Keep order")
    assert others(turn) == []
    assert "OK, order *#1042* stays as it is." in chat.text


def test_cancel_without_an_unpaid_order() -> None:
    chat = customer(COMPLETED)
    turn = chat.send("cancel")
    assert others(turn) == []
    assert "You have no unpaid order to cancel." in chat.text


def test_a_paid_order_cannot_be_cancelled_here() -> None:
    chat = customer(PENDING, COMPLETED)
    chat.send("cancel 1001")
    assert "Order #1001 is completed, so it can't be cancelled here." in chat.text


def test_a_refused_cancel_says_why() -> None:
    chat = customer(PENDING)
    chat.send("cancel")
    chat.tap("cancel-yes:1042")
    chat.report(CancelRefused(1042, "A order that is paid cannot become cancelled."))
    assert "order #1042 could not be cancelled: A order that is paid" in chat.text


def test_reorder_without_orders() -> None:
    chat = customer()
    chat.send("reorder")
    assert "You have no past orders to repeat yet." in chat.text


def test_reorder_copies_the_latest_order_into_the_cart() -> None:
    chat = customer(PENDING, COMPLETED, cart=[CartItem("TEA", 1)])
    chat.send("reorder")
    assert chat.session.cart == [CartItem("TEA", 2), CartItem("CAKE-CHOC", 2)]
    assert "I've added the items of order *#1042* to your cart." in chat.text
    assert chat.step == Step.CART


def test_reorder_skips_what_cannot_be_sold_any_more() -> None:
    chat = customer(PENDING, COMPLETED)
    chat.send("reorder 1001")
    assert chat.session.cart == [CartItem("CROISSANT", 3)]
    assert "Sourdough bread is sold out, so I left it out." in chat.text
    assert "3 × Butter croissant — $7.50" in chat.text


def test_reorder_button_on_a_past_order() -> None:
    chat = customer(COMPLETED)
    chat.send("status")
    chat.tap("reorder:1001")
    assert chat.session.cart == [CartItem("CROISSANT", 3)]
