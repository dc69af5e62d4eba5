"""Outgoing message values: WhatsApp's limits, the Cloud API bodies, the plain rendering."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.whatsapp.outgoing import (
    Button,
    ButtonsMessage,
    ListMessage,
    LocationRequestMessage,
    OutgoingMessage,
    Recipient,
    Row,
    Section,
    TextMessage,
    choices,
    clip,
    from_cloud_body,
    render_plain,
    to_cloud_body,
)

PHONE = Recipient(wa_id="15551234567", user_id="US.13491208655302741918")
USERNAME_ONLY = Recipient(wa_id=None, user_id="US.13491208655302741918")


def buttons(*titles: str, body: str = "Pick one") -> ButtonsMessage:
    return ButtonsMessage(body, tuple(Button(f"id-{n}", t) for n, t in enumerate(titles)))


def rows(count: int, prefix: str = "r") -> tuple[Row, ...]:
    return tuple(Row(f"{prefix}{n}", f"Row {n}") for n in range(count))


# --- Limits ---------------------------------------------------------------------------


def test_text_body_up_to_4096_characters() -> None:
    TextMessage("x" * 4096)
    with pytest.raises(ValueError, match="4096"):
        TextMessage("x" * 4097)


@pytest.mark.parametrize("body", ["", "   ", "\n"])
def test_empty_bodies_are_refused(body: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        TextMessage(body)
    with pytest.raises(ValueError, match="empty"):
        buttons("A", body=body)


@pytest.mark.parametrize("count", [0, 4])
def test_one_to_three_buttons(count: int) -> None:
    with pytest.raises(ValueError, match="1 to 3"):
        buttons(*(f"B{n}" for n in range(count)))


def test_three_buttons_are_fine() -> None:
    assert len(buttons("A", "B", "C").buttons) == 3


def test_button_titles_are_unique() -> None:
    with pytest.raises(ValueError, match="twice"):
        buttons("Same", "Same")


def test_button_ids_are_unique() -> None:
    with pytest.raises(ValueError, match="twice"):
        ButtonsMessage("b", (Button("x", "One"), Button("x", "Two")))


def test_button_title_up_to_20_and_id_up_to_256() -> None:
    Button("i" * 256, "t" * 20)
    with pytest.raises(ValueError, match="20"):
        Button("id", "t" * 21)
    with pytest.raises(ValueError, match="256"):
        Button("i" * 257, "ok")


def test_buttons_body_up_to_1024_header_and_footer_up_to_60() -> None:
    ButtonsMessage("b" * 1024, (Button("a", "A"),), header="h" * 60, footer="f" * 60)
    with pytest.raises(ValueError, match="1024"):
        buttons("A", body="b" * 1025)
    with pytest.raises(ValueError, match="60"):
        ButtonsMessage("b", (Button("a", "A"),), header="h" * 61)
    with pytest.raises(ValueError, match="60"):
        ButtonsMessage("b", (Button("a", "A"),), footer="f" * 61)


def test_list_limits() -> None:
    ListMessage("b" * 4096, "c" * 20, (Section("s" * 24, rows(10)),), "h" * 60, "f" * 60)
    with pytest.raises(ValueError, match="4096"):
        ListMessage("b" * 4097, "Choose", (Section("S", rows(1)),))
    with pytest.raises(ValueError, match="20"):
        ListMessage("b", "c" * 21, (Section("S", rows(1)),))
    with pytest.raises(ValueError, match="1 to 10"):
        ListMessage("b", "Choose", ())
    with pytest.raises(ValueError, match="1 to 10"):
        ListMessage("b", "Choose", tuple(Section(f"S{n}", rows(1, f"s{n}-")) for n in range(11)))


def test_at_most_ten_rows_across_all_sections() -> None:
    sections = (Section("A", rows(6, "a")), Section("B", rows(5, "b")))
    with pytest.raises(ValueError, match="10 rows"):
        ListMessage("b", "Choose", sections)


def test_row_ids_are_unique_across_sections() -> None:
    with pytest.raises(ValueError, match="twice"):
        ListMessage("b", "Choose", (Section("A", rows(2)), Section("B", rows(1))))


def test_row_and_section_limits() -> None:
    Row("i" * 200, "t" * 24, "d" * 72)
    with pytest.raises(ValueError, match="24"):
        Row("id", "t" * 25)
    with pytest.raises(ValueError, match="72"):
        Row("id", "title", "d" * 73)
    with pytest.raises(ValueError, match="200"):
        Row("i" * 201, "title")
    with pytest.raises(ValueError, match="24"):
        Section("s" * 25, rows(1))
    with pytest.raises(ValueError, match="at least one row"):
        Section("S", ())


def test_location_request_body_up_to_1024() -> None:
    LocationRequestMessage("b" * 1024)
    with pytest.raises(ValueError, match="1024"):
        LocationRequestMessage("b" * 1025)


def test_clip_shortens_with_an_ellipsis() -> None:
    assert clip("Chocolate cake", 24) == "Chocolate cake"
    assert clip("Extra large chocolate fudge cake", 24) == "Extra large chocolate f…"
    assert clip("Extra large  chocolate", 13) == "Extra large…"  # no dangling space
    with pytest.raises(ValueError, match="limit"):
        clip("x", 0)


@given(st.text(min_size=1), st.integers(min_value=1, max_value=100))
def test_clip_never_exceeds_the_limit(text: str, limit: int) -> None:
    clipped = clip(text, limit)
    assert len(clipped) <= limit
    assert clipped == text or clipped.endswith("…")


# --- Cloud API bodies -------------------------------------------------------------------


def test_text_body_to_a_phone() -> None:
    assert to_cloud_body(TextMessage("Hello"), PHONE) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "15551234567",
        "type": "text",
        "text": {"body": "Hello"},
    }


def test_a_customer_without_phone_is_addressed_by_user_id() -> None:
    body = to_cloud_body(TextMessage("Hello"), USERNAME_ONLY)
    assert body["recipient"] == "US.13491208655302741918"
    assert "to" not in body


def test_a_recipient_needs_an_address() -> None:
    with pytest.raises(ValueError, match="wa_id or a user_id"):
        Recipient(wa_id=None, user_id=None)
    with pytest.raises(ValueError, match="wa_id or a user_id"):
        Recipient(wa_id="", user_id="")


def test_reply_buttons_body() -> None:
    message = ButtonsMessage(
        "Add to cart?",
        (Button("add:CAKE:1", "Add 1"), Button("back", "Back")),
        header="Chocolate cake",
        footer="Corner Shop",
    )
    assert to_cloud_body(message, PHONE) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "15551234567",
        "type": "interactive",
        "interactive": {
            "type": "button",
            "header": {"type": "text", "text": "Chocolate cake"},
            "body": {"text": "Add to cart?"},
            "footer": {"text": "Corner Shop"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "add:CAKE:1", "title": "Add 1"}},
                    {"type": "reply", "reply": {"id": "back", "title": "Back"}},
                ]
            },
        },
    }


def test_buttons_without_header_and_footer_leave_them_out() -> None:
    interactive = to_cloud_body(buttons("A"), PHONE)["interactive"]
    assert set(interactive) == {"type", "body", "action"}


def test_list_body() -> None:
    message = ListMessage(
        "Pick a product:",
        "Choose",
        (
            Section(
                "Bakery",
                (Row("prod:CAKE", "Chocolate cake", "$12.50"), Row("page:1", "More…")),
            ),
        ),
    )
    assert to_cloud_body(message, USERNAME_ONLY) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "recipient": "US.13491208655302741918",
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "Pick a product:"},
            "action": {
                "button": "Choose",
                "sections": [
                    {
                        "title": "Bakery",
                        "rows": [
                            {"id": "prod:CAKE", "title": "Chocolate cake", "description": "$12.50"},
                            {"id": "page:1", "title": "More…"},
                        ],
                    }
                ],
            },
        },
    }


def test_location_request_body() -> None:
    body = to_cloud_body(LocationRequestMessage("Where should we deliver?"), PHONE)
    assert body["type"] == "interactive"
    assert body["interactive"] == {
        "type": "location_request_message",
        "body": {"text": "Where should we deliver?"},
        "action": {"name": "send_location"},
    }


MESSAGES: list[OutgoingMessage] = [
    TextMessage("Hello *there*\nSecond line"),
    buttons("One", "Two", "Three"),
    ButtonsMessage("b", (Button("a", "A"),), header="Head", footer="Foot"),
    ListMessage("b", "Menu", (Section("One", rows(3, "a")), Section("Two", rows(7, "b")))),
    ListMessage(
        "b", "Menu", (Section("S", (Row("x", "X", "desc"), Row("y", "Y"))),), "Head", "Foot"
    ),
    LocationRequestMessage("Share your location"),
]


@pytest.mark.parametrize("message", MESSAGES)
@pytest.mark.parametrize("recipient", [PHONE, USERNAME_ONLY])
def test_from_cloud_body_inverts_to_cloud_body(
    message: OutgoingMessage, recipient: Recipient
) -> None:
    assert from_cloud_body(to_cloud_body(message, recipient)) == message


@pytest.mark.parametrize(
    "body",
    [
        {"type": "image", "image": {"id": "1"}},
        {"type": "interactive", "interactive": {"type": "flow", "body": {"text": "x"}}},
    ],
)
def test_from_cloud_body_refuses_what_chatcart_does_not_send(body: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="chatcart"):
        from_cloud_body(body)


# --- Plain rendering ----------------------------------------------------------------------


def test_render_plain_numbers_list_rows_across_sections() -> None:
    message = ListMessage(
        "Pick one:",
        "Choose",
        (
            Section("Bakery", (Row("prod:A", "Chocolate cake", "$12.50"),)),
            Section("Dairy", (Row("prod:B", "Milk"), Row("page:1", "More…", "Page 2 of 3"))),
        ),
    )
    assert render_plain(message) == (
        "Pick one:\n\n1. Chocolate cake — $12.50\n2. Milk\n3. More… — Page 2 of 3"
    )
    assert choices(message) == [
        ("prod:A", "Chocolate cake"),
        ("prod:B", "Milk"),
        ("page:1", "More…"),
    ]


def test_render_plain_numbers_buttons_and_shows_header_and_footer() -> None:
    message = ButtonsMessage(
        "Add?", (Button("a", "Add 1"), Button("b", "Back")), header="Cake", footer="Shop"
    )
    assert render_plain(message) == "Cake\n\nAdd?\n\n1. Add 1\n2. Back\n\nShop"
    assert choices(message) == [("a", "Add 1"), ("b", "Back")]


def test_render_plain_text_and_location_request() -> None:
    assert render_plain(TextMessage("Hi")) == "Hi"
    assert choices(TextMessage("Hi")) == []
    assert render_plain(LocationRequestMessage("Where?")) == "Where?\n\n[Send location]"
