"""Whatever the customer sends, there is one clear reply and never an exception."""

from __future__ import annotations

import pytest

from app.conversation.inputs import Choice, Location, Media, Unsupported
from app.conversation.session import CartItem, Session, Step
from app.conversation.view import CatalogSnapshot
from app.whatsapp.outgoing import ListMessage

from .conftest import CATALOG, Chat, make_ctx, replies


def test_first_message_gets_a_welcome(chat: Chat) -> None:
    chat.send("hello")
    assert chat.text.startswith("Hi! Welcome to *Corner Shop*.")
    assert "cart was cleared" not in chat.text


def test_an_expired_session_says_the_cart_was_cleared() -> None:
    chat = Chat(make_ctx(session_expired=True))
    chat.send("hi")
    assert "Welcome to *Corner Shop*" in chat.text
    assert "your earlier cart was cleared" in chat.text
    chat.send("hi")
    assert "cart was cleared" not in chat.text  # said once


def test_a_first_message_that_is_a_search_is_answered_with_a_welcome(chat: Chat) -> None:
    chat.send("milk")
    assert chat.text.startswith("Hi! Welcome to *Corner Shop*.")
    assert chat.ids == ["prod:OAT-MILK", "prod:MILK"]


@pytest.mark.parametrize("kind", ["image", "document", "audio", "video", "sticker"])
def test_media_gets_a_polite_reply_with_the_current_options(kind: str) -> None:
    chat = Chat(session=Session(step=Step.CART, cart=[CartItem("TEA", 1)], greeted=True))
    chat.send(Media(kind, caption="look"))
    assert "Sorry, I can only read text and choices." in chat.text
    assert chat.ids == ["checkout", "edit", "shop"]


@pytest.mark.parametrize("kind", ["reaction", "contacts", "unsupported", "poll"])
def test_unsupported_messages_get_a_polite_reply(kind: str, chat: Chat) -> None:
    chat.send(Unsupported(kind))
    assert "Sorry, I can only read text and choices." in chat.text
    assert "browse" in chat.ids


def test_a_location_outside_checkout_gets_a_hint(chat: Chat) -> None:
    chat.send(Location(1.0, 2.0, None, None))
    assert "I only need it when you check out with delivery" in chat.text


def test_an_impossible_location_is_asked_again() -> None:
    chat = Chat(session=Session(step=Step.ADDRESS, cart=[CartItem("TEA", 1)], greeted=True))
    chat.send(Location(float("nan"), 200.0, None, None))
    assert "I couldn't read that location" in chat.text
    assert chat.step == Step.ADDRESS


@pytest.mark.parametrize("typed", ["xyzzy", "?", "🙂", "", "   ", "asdf qwer zxcv"])
def test_not_understood_gets_a_hint_with_the_options(typed: str, chat: Chat) -> None:
    chat.send(typed)
    assert "Sorry" in chat.text
    assert "browse" in chat.ids


def test_a_search_with_no_result_says_so() -> None:
    chat = Chat(session=Session(greeted=True))
    chat.send("xyzzy")
    assert 'Sorry, I found nothing for "xyzzy".' in chat.text


def test_a_very_long_text_is_handled() -> None:
    chat = Chat(session=Session(greeted=True))
    turn = chat.send("chocolate " * 2000)
    assert len(replies(turn)) == 1


@pytest.mark.parametrize(
    "choice_id",
    [
        "",
        "nonsense",
        "prod:",
        "add:",
        "add:TEA:",
        "add:TEA:abc",
        "add:TEA:99999999999",
        "page:x",
        "ful:teleport",
        "order:abc",
        "cancel-yes:",
    ],
)
def test_forged_or_odd_choice_ids_get_a_reply(choice_id: str) -> None:
    chat = Chat(session=Session(greeted=True))
    turn = chat.send(Choice(choice_id, "?"))
    assert len(replies(turn)) == 1


def test_a_stale_product_row_says_it_is_gone_and_shows_the_list_again() -> None:
    chat = Chat()
    chat.send("browse")
    chat.tap("cat:Bakery")
    chat.ctx = make_ctx(
        catalog=CatalogSnapshot(tuple(p for p in CATALOG.products if p.sku != "CROISSANT"))
    )
    chat.tap("prod:CROISSANT")
    assert "Sorry, that product is no longer available." in chat.text
    assert chat.step == Step.PRODUCTS
    assert "prod:CAKE-CHOC" in chat.ids
    assert "prod:CROISSANT" not in chat.ids


def test_a_sold_out_product_is_refused_with_alternatives() -> None:
    chat = Chat()
    chat.send("browse")
    chat.tap("cat:Bakery")
    assert "Sourdough bread — $4.50 · sold out" in chat.text
    chat.tap("prod:BREAD")
    assert "Sorry, *Sourdough bread* is sold out." in chat.text
    assert "You might like one of these instead:" in chat.text
    assert isinstance(chat.reply, ListMessage)
    assert chat.ids == ["prod:CROISSANT", "prod:CAKE-CHOC", "back"]


def test_an_unavailable_product_with_no_alternative_shows_the_list() -> None:
    catalog = CatalogSnapshot(
        tuple(p for p in CATALOG.products if p.category != "Bakery" or p.sku == "BREAD")
    )
    chat = Chat(make_ctx(catalog=catalog))
    chat.send(Choice("prod:BREAD", "Sourdough bread"))
    assert "Sorry, *Sourdough bread* is sold out." in chat.text
    assert chat.step == Step.CATEGORIES


def test_a_stale_category_row() -> None:
    chat = Chat(session=Session(greeted=True))
    chat.send(Choice("cat:Seasonal", "Seasonal"))
    assert "Sorry, that category is no longer available." in chat.text
    assert chat.ids == ["cat:Bakery", "cat:Dairy", "cat:Drinks"]


def test_an_empty_shop_says_so() -> None:
    chat = Chat(make_ctx(catalog=CatalogSnapshot(())))
    chat.send("browse")
    assert "There are no products available right now." in chat.text
    chat.send("cake")
    assert "found nothing" in chat.text


def test_adding_a_product_archived_since_the_detail_was_shown() -> None:
    chat = Chat()
    chat.send("green tea")
    chat.ctx = make_ctx(
        catalog=CatalogSnapshot(tuple(p for p in CATALOG.products if p.sku != "TEA"))
    )
    chat.tap_title("Add 1")
    assert "Sorry, that product is no longer available." in chat.text
    assert chat.session.cart == []


def test_typed_option_titles_work_like_taps() -> None:
    chat = Chat(session=Session(greeted=True))
    chat.send("green tea")
    chat.send("Add 1")
    assert chat.session.cart == [CartItem("TEA", 1)]
    chat.send("view cart")
    assert chat.step == Step.CART
    chat.send("change")
    assert chat.step == Step.CART_EDIT
