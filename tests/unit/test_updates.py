"""Reading WhatsApp Cloud API webhook bodies: every message type, batches, identity, statuses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.whatsapp.updates import parse_webhook

PHONE = "15551234567"
BSUID = "US.13491208655302741918"
TS = "1767225600"  # 2026-01-01T00:00:00Z
TS_AT = datetime(2026, 1, 1, tzinfo=UTC)
RECEIVED = datetime(2026, 5, 5, 12, 0, tzinfo=UTC)


def contact(
    wa_id: str | None = PHONE, user_id: str | None = BSUID, name: str = "Ada"
) -> dict[str, Any]:
    found: dict[str, Any] = {"profile": {"name": name}}
    if wa_id is not None:
        found["wa_id"] = wa_id
    if user_id is not None:
        found["user_id"] = user_id
    return found


def message(
    wamid: str = "wamid.1",
    type_: str = "text",
    *,
    sender: str | None = PHONE,
    user_id: str | None = BSUID,
    timestamp: Any = TS,
    **content: Any,
) -> dict[str, Any]:
    found: dict[str, Any] = {"id": wamid, "timestamp": timestamp, "type": type_, **content}
    if sender is not None:
        found["from"] = sender
    if user_id is not None:
        found["from_user_id"] = user_id
    return found


def value(
    messages: list[Any] | None = None,
    contacts: list[Any] | None = None,
    statuses: list[Any] | None = None,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": "106540352242922"},
    }
    if contacts is not None:
        found["contacts"] = contacts
    if messages is not None:
        found["messages"] = messages
    if statuses is not None:
        found["statuses"] = statuses
    return found


def body(*values: dict[str, Any], field: str = "messages") -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "102290129340398", "changes": [{"value": v, "field": field} for v in values]}
        ],
    }


def one(msg: dict[str, Any], contacts: list[Any] | None = None) -> dict[str, Any]:
    return body(value([msg], [contact()] if contacts is None else contacts))


# --- Every message type ---------------------------------------------------------------

MESSAGE_CONTENT: dict[str, dict[str, Any]] = {
    "text": {"text": {"body": "hi there"}},
    "interactive_list": {
        "type": "interactive",
        "interactive": {
            "type": "list_reply",
            "list_reply": {"id": "product:42", "title": "Chocolate Cake", "description": "$12"},
        },
    },
    "interactive_button": {
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": "cart", "title": "Cart"}},
    },
    "button": {
        "type": "button",
        "button": {"payload": "REORDER", "text": "Reorder"},
        "context": {"from": "15550000000", "id": "wamid.template"},
    },
    "location": {
        "location": {
            "latitude": -1.2921,
            "longitude": 36.8219,
            "name": "Home",
            "address": "1 Main St",
        }
    },
    "image": {
        "image": {
            "caption": "this one",
            "mime_type": "image/jpeg",
            "sha256": "abc",
            "id": "media.1",
        }
    },
    "document": {
        "document": {
            "caption": "receipt",
            "filename": "receipt.pdf",
            "mime_type": "application/pdf",
            "sha256": "def",
            "id": "media.2",
        }
    },
    "audio": {"audio": {"mime_type": "audio/ogg; codecs=opus", "id": "media.3", "voice": True}},
    "video": {"video": {"mime_type": "video/mp4", "id": "media.4", "sha256": "x"}},
    "sticker": {"sticker": {"mime_type": "image/webp", "id": "media.5", "animated": False}},
    "contacts": {
        "contacts": [
            {
                "name": {"formatted_name": "Bob B", "first_name": "Bob"},
                "phones": [{"phone": "+1 555 987 6543", "wa_id": "15559876543", "type": "CELL"}],
            }
        ]
    },
    "reaction": {"reaction": {"message_id": "wamid.out.1", "emoji": "\U0001f44d"}},
    "order": {
        "order": {
            "catalog_id": "cat-1",
            "text": "no nuts please",
            "product_items": [
                {
                    "product_retailer_id": "CAKE-1",
                    "quantity": 2,
                    "item_price": 1,
                    "currency": "USD",
                },
                {
                    "product_retailer_id": "TEA-1",
                    "quantity": "1",
                    "item_price": 0.5,
                    "currency": "USD",
                },
            ],
        }
    },
    "unsupported": {
        "errors": [
            {
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }
        ]
    },
}


@pytest.mark.parametrize("kind", sorted(MESSAGE_CONTENT))
def test_every_message_type_is_read_with_its_payload(kind: str) -> None:
    content = dict(MESSAGE_CONTENT[kind])
    type_ = content.pop("type", kind)
    msg = message(f"wamid.{kind}", type_, **content)

    batch = parse_webhook(one(msg), received_at=RECEIVED)

    assert batch.skipped == []
    assert batch.statuses == []
    [received] = batch.messages
    assert received.wamid == f"wamid.{kind}"
    assert received.type == type_
    assert received.sent_at == TS_AT
    assert received.wa_id == PHONE
    assert received.user_id == BSUID
    assert received.profile_name == "Ada"
    assert received.payload["message"] == msg  # the whole message is kept, untouched
    assert received.payload["contact"] == contact()


def test_interactive_replies_keep_the_tapped_ids() -> None:
    content = MESSAGE_CONTENT["interactive_list"]
    batch = parse_webhook(one(message(**content)))
    [received] = batch.messages
    assert received.type == "interactive"
    assert received.payload["message"]["interactive"]["list_reply"]["id"] == "product:42"


def test_order_keeps_every_product_item() -> None:
    batch = parse_webhook(one(message("wamid.o", "order", **MESSAGE_CONTENT["order"])))
    [received] = batch.messages
    items = received.payload["message"]["order"]["product_items"]
    assert [item["product_retailer_id"] for item in items] == ["CAKE-1", "TEA-1"]


def test_unsupported_message_keeps_its_errors() -> None:
    batch = parse_webhook(one(message("wamid.u", "unsupported", **MESSAGE_CONTENT["unsupported"])))
    [received] = batch.messages
    assert received.type == "unsupported"
    assert received.payload["message"]["errors"][0]["code"] == 131051


def test_a_type_nobody_documented_is_still_read() -> None:
    batch = parse_webhook(one(message("wamid.new", "hologram", hologram={"x": 1})))
    assert [m.type for m in batch.messages] == ["hologram"]


def test_a_message_without_a_type_is_read_as_unknown() -> None:
    msg = message("wamid.nt")
    del msg["type"]
    batch = parse_webhook(one(msg))
    assert [m.type for m in batch.messages] == ["unknown"]


# --- Batches ----------------------------------------------------------------------------


def test_every_entry_change_and_message_of_a_batch_is_read() -> None:
    entries = []
    for e in range(3):
        changes = []
        for c in range(2):
            messages = [
                message(
                    f"wamid.{e}.{c}.{m}", text={"body": f"m{m}"}, sender=f"1555000{e}{c}{m:02d}"
                )
                for m in range(5)
            ]
            contacts = [contact(wa_id=f"1555000{e}{c}{m:02d}", user_id=None) for m in range(5)]
            changes.append({"field": "messages", "value": value(messages, contacts)})
        entries.append({"id": f"waba-{e}", "changes": changes})
    data = {"object": "whatsapp_business_account", "entry": entries}

    batch = parse_webhook(data)

    assert len(batch.messages) == 30
    assert len({m.wamid for m in batch.messages}) == 30
    assert batch.skipped == []
    # Each message got its own sender's contact.
    for received in batch.messages:
        assert received.payload["contact"]["wa_id"] == received.wa_id


def test_messages_and_statuses_in_one_body_all_count() -> None:
    data = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": value(
                            [message(f"wamid.in.{n}", text={"body": "x"}) for n in range(4)],
                            [contact()],
                        ),
                    },
                    {
                        "field": "messages",
                        "value": value(
                            statuses=[
                                {
                                    "id": f"wamid.out.{n}",
                                    "status": "delivered",
                                    "timestamp": TS,
                                    "recipient_id": PHONE,
                                }
                                for n in range(6)
                            ]
                        ),
                    },
                ],
            },
            {
                "id": "2",
                "changes": [
                    {
                        "field": "messages",
                        "value": value(
                            [message("wamid.in.x", text={"body": "y"})],
                            [contact()],
                            [{"id": "wamid.out.x", "status": "read", "timestamp": TS}],
                        ),
                    }
                ],
            },
        ],
    }
    batch = parse_webhook(data)
    assert len(batch.messages) == 5
    assert len(batch.statuses) == 7


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"type": "text", "from": PHONE, "timestamp": TS, "text": {"body": "no id"}}, "id"),
        ({"id": "", "type": "text", "from": PHONE, "timestamp": TS}, "id"),
        ({"id": "wamid.anon", "type": "text", "timestamp": TS}, "sender"),
    ],
)
def test_one_malformed_message_is_skipped_and_the_rest_count(
    bad: dict[str, Any], reason: str
) -> None:
    good = [message(f"wamid.g{n}", text={"body": "ok"}) for n in range(3)]
    # Two contacts, so the sender-less message cannot borrow "the only contact".
    contacts = [contact(), contact(wa_id="15559990000", user_id="US.999")]
    data = body(value([good[0], bad, good[1], good[2]], contacts))

    batch = parse_webhook(data)

    assert [m.wamid for m in batch.messages] == ["wamid.g0", "wamid.g1", "wamid.g2"]
    assert len(batch.skipped) == 1
    assert reason in batch.skipped[0]


@pytest.mark.parametrize("bad", [None, "wamid.str", 42, ["nested"], True])
def test_a_message_that_is_not_an_object_does_not_lose_the_others(bad: Any) -> None:
    good = [message(f"wamid.g{n}", text={"body": "ok"}) for n in range(2)]
    batch = parse_webhook(body(value([good[0], bad, good[1]], [contact()])))
    assert [m.wamid for m in batch.messages] == ["wamid.g0", "wamid.g1"]


def test_a_message_that_is_not_an_object_is_reported_as_skipped() -> None:
    batch = parse_webhook(body(value([message("wamid.ok", text={"body": "x"}), "junk"], [])))
    assert len(batch.messages) == 1
    assert len(batch.skipped) == 1


def test_odd_parts_of_a_body_do_not_hide_the_good_ones() -> None:
    data = {
        "object": "whatsapp_business_account",
        "entry": [
            "not an entry",
            {"id": "no-changes"},
            {"id": "bad-changes", "changes": "nope"},
            {
                "id": "ok",
                "changes": [
                    {"field": "messages", "value": "not an object"},
                    {"field": "messages", "value": value([message("wamid.kept")], [contact()])},
                ],
            },
        ],
    }
    batch = parse_webhook(data)
    assert [m.wamid for m in batch.messages] == ["wamid.kept"]


@pytest.mark.parametrize("data", [[], "text", 1, None, {"object": "page"}, {"entry": "x"}])
def test_bodies_of_the_wrong_shape_give_nothing(data: Any) -> None:
    batch = parse_webhook(data)
    assert batch.messages == []
    assert batch.statuses == []


def test_changes_of_other_fields_are_ignored() -> None:
    data = body(
        value([message("wamid.tpl")], [contact()]),
        field="message_template_status_update",
    )
    data["entry"][0]["changes"].append(
        {"field": "messages", "value": value([message("wamid.real")], [contact()])}
    )
    data["entry"][0]["changes"].append(
        {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}}
    )
    batch = parse_webhook(data)
    assert [m.wamid for m in batch.messages] == ["wamid.real"]
    assert len(batch.skipped) == 2


# --- Identity (business-scoped user ids) ------------------------------------------------


def test_username_user_has_a_user_id_and_no_phone() -> None:
    msg = message("wamid.u", sender=None, user_id=BSUID, text={"body": "hi"})
    batch = parse_webhook(one(msg, [contact(wa_id=None, user_id=BSUID, name="@ada")]))
    [received] = batch.messages
    assert received.user_id == BSUID
    assert received.wa_id is None
    assert received.profile_name == "@ada"


def test_user_id_from_the_contact_when_the_message_lacks_from_user_id() -> None:
    msg = message("wamid.c", sender=None, user_id=None, text={"body": "hi"})
    batch = parse_webhook(one(msg, [contact(wa_id=None, user_id=BSUID)]))
    [received] = batch.messages
    assert (received.user_id, received.wa_id) == (BSUID, None)


def test_phone_and_user_id_both_kept() -> None:
    batch = parse_webhook(one(message("wamid.b", text={"body": "hi"})))
    [received] = batch.messages
    assert (received.user_id, received.wa_id) == (BSUID, PHONE)


def test_phone_only_sender_of_the_old_shape() -> None:
    msg = message("wamid.p", user_id=None, text={"body": "hi"})
    batch = parse_webhook(one(msg, [contact(user_id=None)]))
    [received] = batch.messages
    assert (received.user_id, received.wa_id) == (None, PHONE)


def test_phone_is_reduced_to_digits() -> None:
    msg = message("wamid.p", sender="+1 (555) 123-4567", user_id=None, text={"body": "hi"})
    batch = parse_webhook(one(msg, []))
    assert batch.messages[0].wa_id == PHONE


def test_each_message_gets_its_own_senders_contact() -> None:
    contacts = [
        contact(wa_id="15550000001", user_id="US.1", name="One"),
        contact(wa_id=None, user_id="US.2", name="Two"),
        contact(wa_id="15550000003", user_id=None, name="Three"),
    ]
    messages = [
        message("wamid.3", sender="15550000003", user_id=None, text={"body": "c"}),
        message("wamid.2", sender=None, user_id="US.2", text={"body": "b"}),
        message("wamid.1", sender="15550000001", user_id="US.1", text={"body": "a"}),
    ]
    batch = parse_webhook(body(value(messages, contacts)))
    found = {m.wamid: (m.profile_name, m.user_id, m.wa_id) for m in batch.messages}
    assert found == {
        "wamid.1": ("One", "US.1", "15550000001"),
        "wamid.2": ("Two", "US.2", None),
        "wamid.3": ("Three", None, "15550000003"),
    }


def test_an_unmatched_sender_does_not_borrow_another_contacts_identity() -> None:
    contacts = [contact(wa_id="15550000001", user_id="US.1"), contact("15550000002", "US.2")]
    msg = message("wamid.x", sender="15550000009", user_id=None, text={"body": "?"})
    batch = parse_webhook(body(value([msg], contacts)))
    [received] = batch.messages
    assert (received.user_id, received.wa_id, received.profile_name) == (None, "15550000009", "")


def test_long_profile_names_are_cut_to_256() -> None:
    batch = parse_webhook(one(message(), [contact(name="x" * 1000)]))
    assert batch.messages[0].profile_name == "x" * 256


# --- Timestamps ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "timestamp", [None, "", "soon", "-5", "0", "1.5", "9" * 40, [], {"s": 1}, 10**30]
)
def test_bad_timestamps_fall_back_to_the_receipt_time(timestamp: Any) -> None:
    batch = parse_webhook(one(message(timestamp=timestamp)), received_at=RECEIVED)
    assert batch.messages[0].sent_at == RECEIVED


def test_integer_timestamps_are_read() -> None:
    batch = parse_webhook(one(message(timestamp=int(TS))), received_at=RECEIVED)
    assert batch.messages[0].sent_at == TS_AT


# --- Statuses ----------------------------------------------------------------------------


def status(wamid: str, state: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": wamid,
        "status": state,
        "timestamp": TS,
        "recipient_id": PHONE,
        "recipient_user_id": BSUID,
        **extra,
    }


def test_sent_delivered_read_statuses() -> None:
    statuses = [
        status("wamid.o1", "sent", pricing={"billable": False, "category": "service"}),
        status("wamid.o1", "delivered"),
        status("wamid.o1", "read"),
    ]
    batch = parse_webhook(body(value(statuses=statuses, contacts=[contact()])))
    assert [(s.wamid, s.status) for s in batch.statuses] == [
        ("wamid.o1", "sent"),
        ("wamid.o1", "delivered"),
        ("wamid.o1", "read"),
    ]
    assert all(s.at == TS_AT for s in batch.statuses)
    assert all(
        s.errors == () and s.error_code is None and s.error_text is None for s in batch.statuses
    )


def test_failed_status_without_contacts_carries_code_and_text() -> None:
    failed = status(
        "wamid.o2",
        "failed",
        errors=[
            {
                "code": 131047,
                "title": "Re-engagement message",
                "message": "Re-engagement message",
                "error_data": {
                    "details": "Message failed to send because more than 24 hours have passed"
                },
            }
        ],
    )
    data = body(value(statuses=[failed]))  # failed statuses omit `contacts`
    assert "contacts" not in data["entry"][0]["changes"][0]["value"]

    [update] = parse_webhook(data).statuses

    assert update.status == "failed"
    assert update.error_code == 131047
    assert update.error_text is not None
    assert "131047" in update.error_text
    assert "Re-engagement message" in update.error_text
    assert "24 hours" in update.error_text


def test_failed_status_with_a_string_code_and_no_title() -> None:
    failed = status("wamid.o3", "failed", errors=[{"code": "131026", "message": "Undeliverable"}])
    [update] = parse_webhook(body(value(statuses=[failed]))).statuses
    assert update.error_code == 131026
    assert update.error_text == "131026 Undeliverable"


def test_failed_status_with_no_errors() -> None:
    [update] = parse_webhook(body(value(statuses=[status("wamid.o4", "failed")]))).statuses
    assert (update.error_code, update.error_text) == (None, None)


def test_unknown_or_incomplete_statuses_are_skipped_and_the_rest_count() -> None:
    statuses = [
        status("wamid.a", "sent"),
        status("wamid.b", "deleted"),
        {"status": "read", "timestamp": TS},
        status("wamid.c", "read"),
    ]
    batch = parse_webhook(body(value(statuses=statuses)))
    assert [s.wamid for s in batch.statuses] == ["wamid.a", "wamid.c"]
    assert len(batch.skipped) == 2


def test_status_with_a_bad_timestamp_falls_back() -> None:
    [update] = parse_webhook(
        body(value(statuses=[status("wamid.t", "sent", timestamp="later")])),
        received_at=RECEIVED,
    ).statuses
    assert update.at == RECEIVED
