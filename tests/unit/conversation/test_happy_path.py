"""A whole order, from "hi" to payment instructions, driven purely."""

from __future__ import annotations

from datetime import timedelta

from app.conversation.effects import OrderPlaced, PlaceOrder
from app.conversation.inputs import Location
from app.conversation.session import Step
from app.ordering.pricing import LineInput, price_cart
from app.ordering.values import CartLine, Destination, Fulfilment
from app.whatsapp.outgoing import ButtonsMessage, ListMessage, LocationRequestMessage

from .conftest import NOW, PAYMENT_INSTRUCTIONS, TERMS, Chat, others, replies


def test_from_greeting_to_payment_instructions(chat: Chat) -> None:
    chat.send("hi")
    assert "Welcome to *Corner Shop*" in chat.text
    assert "browse" in chat.ids

    chat.tap("browse")
    assert chat.step == Step.CATEGORIES
    assert chat.ids == ["cat:Bakery", "cat:Dairy", "cat:Drinks"]

    chat.tap("cat:Dairy")
    assert chat.ids == ["prod:OAT-MILK", "prod:MILK"]  # sorted by name
    assert "Oat milk 1 l — $3.00 · only 5 left" in chat.text

    chat.tap("prod:MILK")
    assert isinstance(chat.reply, ButtonsMessage)
    assert "*Whole milk 1 l*\n$1.20\nIn stock" in chat.text
    assert [title for _, title in chat.options] == ["Add 1", "Choose quantity", "Back"]

    chat.tap("qty:MILK")
    assert chat.step == Step.QUANTITY
    chat.send("2")
    assert "Added 2 × *Whole milk 1 l* to your cart." in chat.text
    assert "Cart: 2 items, $2.59." in chat.text  # 2 × $1.20 + 8 % tax

    chat.send("choclate")  # a typo finds the only match and shows it
    assert "*Chocolate cake*\n$12.50" in chat.text
    chat.tap_title("Add 1")
    assert "Cart: 3 items, $15.09." in chat.text

    chat.tap_title("View cart")
    assert chat.step == Step.CART
    assert "2 × Whole milk 1 l — $2.40" in chat.text
    assert "1 × Chocolate cake — $12.50" in chat.text
    assert "Subtotal: $14.90\nTax: $0.19\n*Total: $15.09*" in chat.text

    chat.tap_title("Change")
    assert chat.ids == ["line:MILK", "line:CAKE-CHOC", "clear"]
    chat.tap("line:MILK")
    chat.send("3")
    assert "*Whole milk 1 l*: you now have 3." in chat.text
    assert "3 × Whole milk 1 l — $3.60" in chat.text

    chat.tap_title("Checkout")
    assert chat.step == Step.FULFILMENT
    assert "Delivery costs $3.00." in chat.text
    chat.tap("ful:delivery")
    assert isinstance(chat.reply, LocationRequestMessage)

    chat.send(Location(latitude=-1.2921, longitude=36.8219, name="Home", address="1 Main St"))
    assert chat.step == Step.CONFIRM
    assert "Delivery: $3.00\n*Total: $19.39*" in chat.text
    assert "Delivery to: Home, 1 Main St" in chat.text

    placing = chat.tap_title("Confirm order")
    assert replies(placing) == []  # the reply comes with the outcome
    assert others(placing) == [
        PlaceOrder(
            lines=(CartLine("MILK", 3), CartLine("CAKE-CHOC", 1)),
            fulfilment=Fulfilment.DELIVERY,
            destination=Destination("Home, 1 Main St", -1.2921, 36.8219),
        )
    ]

    totals = price_cart(
        [
            LineInput("MILK", "Whole milk 1 l", 120, 800, 3),
            LineInput("CAKE-CHOC", "Chocolate cake", 1250, 0, 1),
        ],
        currency="USD",
        prices_include_tax=TERMS.prices_include_tax,
        delivery_fee=TERMS.delivery_fee,
    )
    placed = chat.report(OrderPlaced(7, 1042, totals, "7KQ2-M9X7", NOW + timedelta(minutes=30)))
    assert len(replies(placed)) == 1
    assert others(placed) == []
    text = chat.text
    assert "Order *#1042* is placed." in text
    assert PAYMENT_INSTRUCTIONS in text
    assert "Amount: *$19.39*" in text
    assert "Reference: *7KQ2-M9X7*" in text
    assert "Please pay by 12:30\u202fPM" in text  # CLDR puts a narrow space before PM
    assert chat.step == Step.AWAITING_PAYMENT
    assert chat.session.cart == []


def test_pickup_skips_the_address(chat: Chat) -> None:
    chat.send("green tea")
    chat.tap_title("Add 1")
    chat.send("checkout")
    chat.send("pickup")
    assert chat.step == Step.CONFIRM
    assert "Pickup at Corner Shop" in chat.text
    assert "Delivery:" not in chat.text
    placing = chat.send("yes")
    assert others(placing) == [PlaceOrder((CartLine("TEA", 1),), Fulfilment.PICKUP, None)]


def test_a_typed_address_is_the_destination(chat: Chat) -> None:
    chat.send("green tea")
    chat.tap_title("Add 1")
    chat.send("checkout")
    chat.tap("ful:delivery")
    chat.send("ok")  # too short to be an address
    assert "too short" in chat.text
    assert chat.step == Step.ADDRESS
    chat.send("  12 Baker Street,  Flat 3 ")
    assert "Delivery to: 12 Baker Street, Flat 3" in chat.text
    placing = chat.tap("confirm")
    effect = others(placing)[0]
    assert isinstance(effect, PlaceOrder)
    assert effect.destination == Destination("12 Baker Street, Flat 3")


def test_menu_has_more_than_three_options_so_it_is_a_list(chat: Chat) -> None:
    chat.send("menu")
    assert isinstance(chat.reply, ListMessage)
    assert chat.ids == ["browse", "search", "cart", "help", "human"]
