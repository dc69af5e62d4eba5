"""Lists stay within WhatsApp's limits and every item stays reachable."""

from __future__ import annotations

import pytest

from app.conversation.inputs import Choice
from app.conversation.screens import Option, page_count, paginate
from app.conversation.session import CartItem, Session, Step
from app.conversation.view import CatalogSnapshot
from app.whatsapp.outgoing import ListMessage

from .conftest import Chat, make_ctx, product

LONG = "Extra large hand-made chocolate fudge cake with walnuts, #{n:02}"  # 60 characters


def big_shop(count: int = 25, name: str = LONG) -> CatalogSnapshot:
    assert len(name.format(n=0)) >= 60
    return CatalogSnapshot(
        tuple(
            product(f"SKU-{n:02}", name.format(n=n), "Cakes of the house, made daily", 1000 + n)
            for n in range(count)
        )
    )


def assert_within_limits(chat: Chat) -> ListMessage:
    message = chat.reply
    assert isinstance(message, ListMessage)
    assert len(message.rows) <= 10
    for row in message.rows:
        assert len(row.title) <= 24
        assert row.description is None or len(row.description) <= 72
    assert all(len(section.title) <= 24 for section in message.sections)
    return message


def walk_pages(chat: Chat) -> list[str]:
    """Tap "More…" until the last page; return every id seen."""
    seen: list[str] = []
    for _ in range(20):
        assert_within_limits(chat)
        seen += [i for i in chat.ids if not i.startswith("page:")]
        more = [i for i in chat.ids if i.startswith("page:")]
        if not more:
            return seen
        assert chat.ids[-1] == more[0]  # "More…" closes the page
        assert len(chat.ids) == 10
        chat.tap(more[0])
    raise AssertionError("pagination never ends")


def test_a_category_of_25_products_pages_through_all_of_them() -> None:
    catalog = big_shop()
    chat = Chat(make_ctx(catalog=catalog))
    chat.send("browse")
    chat.tap("cat:Cakes of the house, made daily")
    assert "More…" in chat.text
    assert "Page 2 of 3" in chat.text
    seen = walk_pages(chat)
    assert sorted(seen) == sorted(f"prod:{p.sku}" for p in catalog.products)
    assert len(seen) == len(set(seen))


def test_every_product_on_a_later_page_can_be_opened() -> None:
    chat = Chat(make_ctx(catalog=big_shop()))
    chat.send("browse")
    chat.tap("cat:Cakes of the house, made daily")
    chat.tap("page:1")
    chat.tap("prod:SKU-12")
    assert chat.step == Step.PRODUCT
    assert "#12" in chat.text
    chat.tap("back")  # back to the page it came from
    assert "prod:SKU-12" in chat.ids


def test_many_categories_paginate_too() -> None:
    catalog = CatalogSnapshot(
        tuple(
            product(f"P{n}", f"Thing {n}", f"Category number {n:02} of many", 100)
            for n in range(23)
        )
    )
    chat = Chat(make_ctx(catalog=catalog))
    chat.send("browse")
    seen = walk_pages(chat)
    assert sorted(seen) == sorted(f"cat:Category number {n:02} of many" for n in range(23))


def test_search_results_paginate() -> None:
    chat = Chat(
        make_ctx(
            catalog=big_shop(
                name="Chocolate fudge cake, extra large, with walnut top, number {n:02}"
            )
        )
    )
    chat.send("fudge cake")
    assert chat.step == Step.SEARCH
    seen = walk_pages(chat)
    assert len(seen) == 25


def test_a_long_cart_pages_in_the_change_list() -> None:
    catalog = big_shop(count=30)
    cart = [CartItem(p.sku, 1) for p in catalog.products]
    chat = Chat(make_ctx(catalog=catalog), Session(cart=cart, greeted=True))
    chat.send("cart")
    assert "*Total: $304.35*" in chat.text
    chat.tap_title("Change")
    seen = walk_pages(chat)
    assert sorted(seen) == sorted([*(f"line:{p.sku}" for p in catalog.products), "clear"])


def test_a_stale_page_number_shows_the_last_page() -> None:
    chat = Chat(make_ctx(catalog=big_shop()))
    chat.send("browse")
    chat.tap("cat:Cakes of the house, made daily")
    chat.send(Choice("page:99", "More…"))
    assert chat.session.page == 2
    assert chat.ids[-1] == "prod:SKU-24"


@pytest.mark.parametrize(
    ("items", "pages"), [(0, 1), (1, 1), (10, 1), (11, 2), (19, 2), (20, 3), (25, 3)]
)
def test_page_count(items: int, pages: int) -> None:
    assert page_count(items) == pages


@pytest.mark.parametrize("items", range(0, 60))
def test_paginate_covers_every_option_once(items: int) -> None:
    options = [Option(f"o{n}", f"O{n}") for n in range(items)]
    seen: list[str] = []
    for page in range(page_count(items)):
        shown, actual = paginate(options, page, lambda nxt, pages: Option(f"page:{nxt}", "More"))
        assert actual == page
        assert len(shown) <= 10
        seen += [o.id for o in shown if not o.id.startswith("page:")]
    assert seen == [o.id for o in options]
