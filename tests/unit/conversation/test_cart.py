"""The cart: totals, changes, products that vanished, and carts sent from the catalog."""

from __future__ import annotations

from dataclasses import replace

from app.conversation.effects import OrderRefused, PlaceOrder
from app.conversation.inputs import CatalogOrder, Choice
from app.conversation.session import CartItem, Session, Step
from app.conversation.view import CatalogSnapshot
from app.ordering.values import CartLine, Fulfilment, ShopTerms
from app.whatsapp.outgoing import ButtonsMessage

from .conftest import PENDING, TERMS, Chat, make_ctx, others, product, replies


def with_cart(*items: tuple[str, int], **ctx: object) -> Chat:
    cart = [CartItem(sku, quantity) for sku, quantity in items]
    return Chat(make_ctx(**ctx), Session(cart=cart, greeted=True))


def test_cart_shows_line_totals_tax_and_total() -> None:
    chat = with_cart(("CAKE-CHOC", 2), ("MILK", 3))
    chat.send("cart")
    assert isinstance(chat.reply, ButtonsMessage)
    assert chat.text.startswith(
        "*Your cart*\n"
        "2 × Chocolate cake — $25.00\n"
        "3 × Whole milk 1 l — $3.60\n\n"
        "Subtotal: $28.60\n"
        "Tax: $0.29\n"
        "*Total: $28.89*"
    )
    assert [title for _, title in chat.options] == ["Checkout", "Change", "Keep shopping"]


def test_cart_with_tax_inclusive_prices_shows_the_tax_inside() -> None:
    terms = ShopTerms(currency="USD", prices_include_tax=True, delivery_fee=0, payment_minutes=30)
    chat = with_cart(("MILK", 3), terms=terms)
    chat.send("cart")
    assert "3 × Whole milk 1 l — $3.60" in chat.text
    assert "Items: $3.60 (incl. $0.27 tax)" in chat.text
    assert "*Total: $3.60*" in chat.text


def test_delivery_fee_shows_once_delivery_is_chosen() -> None:
    chat = with_cart(("TEA", 1))
    chat.session.fulfilment = Fulfilment.DELIVERY
    chat.send("cart")
    assert "Delivery: $3.00\n*Total: $7.00*" in chat.text


def test_the_shop_currency_and_locale_format_money() -> None:
    terms = replace(TERMS, currency="EUR")
    chat = with_cart(("CAKE-CHOC", 2), terms=terms, locale="de_DE")
    chat.send("cart")
    assert "2 × Chocolate cake — 25,00\xa0€" in chat.text


def test_empty_cart_offers_browsing() -> None:
    chat = Chat()
    chat.send("cart")
    assert "Your cart is empty." in chat.text
    assert chat.ids == ["browse", "menu"]
    chat.send("checkout")
    assert "Your cart is empty." in chat.text
    assert chat.step == Step.CART


def test_clear_empties_the_cart() -> None:
    chat = with_cart(("TEA", 1), ("MILK", 2))
    chat.send("cart")
    chat.tap("edit")
    chat.tap("clear")
    assert chat.session.cart == []
    assert "Your cart is now empty." in chat.text


def test_an_archived_product_blocks_checkout_until_removed() -> None:
    chat = with_cart(("TEA", 1), ("DISCONTINUED", 2))
    chat.send("cart")
    assert "2 × DISCONTINUED — no longer available" in chat.text
    assert "*Total: $4.00*" in chat.text  # only what can be ordered
    assert "Tap *Fix cart*" in chat.text
    assert "checkout" not in chat.ids

    turn = chat.send("checkout")
    assert others(turn) == []
    assert "Some items in your cart can't be ordered." in chat.text
    assert chat.step == Step.CART

    chat.tap_title("Fix cart")
    assert chat.session.cart == [CartItem("TEA", 1)]
    assert "I removed what's no longer available" in chat.text
    chat.tap_title("Checkout")
    assert chat.step == Step.FULFILMENT


def test_sold_out_and_short_lines_are_flagged_and_fixed() -> None:
    chat = with_cart(("BREAD", 1), ("OAT-MILK", 9), ("TEA", 1))
    chat.send("cart")
    assert "1 × Sourdough bread — sold out" in chat.text
    assert "9 × Oat milk 1 l — only 5 left" in chat.text
    chat.tap("fix")
    assert chat.session.cart == [CartItem("OAT-MILK", 5), CartItem("TEA", 1)]


def test_a_product_archived_between_summary_and_confirm_is_caught() -> None:
    chat = with_cart(("TEA", 1), ("CAKE-CHOC", 1))
    chat.send("checkout")
    chat.send("pickup")
    assert chat.step == Step.CONFIRM
    gone = tuple(p for p in chat.ctx.catalog.products if p.sku != "CAKE-CHOC")
    chat.ctx = make_ctx(catalog=CatalogSnapshot(gone))
    turn = chat.send("confirm")
    assert others(turn) == []
    assert "1 × CAKE-CHOC — no longer available" in chat.text
    assert chat.step == Step.CART


def test_a_refused_order_returns_to_the_cart_with_the_reason() -> None:
    chat = with_cart(("OAT-MILK", 2))
    chat.send("checkout")
    chat.send("pickup")
    placing = chat.send("yes")
    assert isinstance(others(placing)[0], PlaceOrder)
    turn = chat.report(
        OrderRefused("Oat milk 1 l (OAT-MILK) is out of stock: 2 requested, only 1 left.")
    )
    assert len(replies(turn)) == 1
    assert (
        "Sorry, I couldn't place your order: Oat milk 1 l (OAT-MILK) is out of stock" in chat.text
    )
    assert chat.step == Step.CART
    assert chat.session.cart == [CartItem("OAT-MILK", 2)]


def test_confirm_tapped_again_after_placing_shows_the_order() -> None:
    chat = Chat(
        make_ctx(orders=(PENDING,)),
        Session(step=Step.AWAITING_PAYMENT, order_number=1042, greeted=True),
    )
    turn = chat.send(Choice("confirm", "Confirm order"))
    assert others(turn) == []
    assert "Order *#1042*: waiting for payment" in chat.text


def test_a_catalog_order_replaces_the_cart_and_reports_problems() -> None:
    chat = with_cart(("TEA", 4))
    order = CatalogOrder(
        items=(
            ("CAKE-CHOC", 2),
            ("NO-SUCH-SKU", 1),
            ("BREAD", 1),  # sold out
            ("MILK", 0),
            ("CROISSANT", 50),  # 12 in stock
            ("CAKE-CHOC", 1),  # the same product twice
        ),
        note="Please ring twice",
    )
    chat.send(order)
    assert chat.step == Step.CART
    assert chat.session.cart == [CartItem("CAKE-CHOC", 3), CartItem("CROISSANT", 12)]
    assert chat.session.note == "Please ring twice"
    text = chat.text
    assert "I've put the items you picked in the catalog in your cart." in text
    assert "Item NO-SUCH-SKU is not in our catalog." in text
    assert "Sourdough bread is sold out" in text
    assert "Whole milk 1 l: 0 is not a quantity I can add." in text
    assert "Butter croissant: only 12 available, so I added 12." in text
    assert "3 × Chocolate cake — $37.50" in text


def test_the_catalog_note_goes_with_the_order() -> None:
    chat = Chat()
    chat.send(CatalogOrder(items=(("TEA", 1),), note="Gate code 1234"))
    chat.send("checkout")
    chat.send("pickup")
    placing = chat.send("yes")
    assert others(placing) == [
        PlaceOrder((CartLine("TEA", 1),), Fulfilment.PICKUP, None, "Gate code 1234")
    ]


def test_a_cart_holds_at_most_50_products() -> None:
    catalog = CatalogSnapshot(
        tuple(product(f"P{n}", f"Product {n}", "All", 100) for n in range(51))
    )
    cart = [CartItem(f"P{n}", 1) for n in range(50)]
    chat = Chat(make_ctx(catalog=catalog), Session(cart=cart, greeted=True))
    chat.send(Choice("add:P50:1", "Add 1"))
    assert "Your cart can hold at most 50 different products." in chat.text
    assert len(chat.session.cart) == 50
