"""Outgoing WhatsApp messages as values, and the Cloud API request bodies they become.

The limits are Meta's (see ``shared/WHATSAPP.md``). Breaking one makes the Cloud API
reject the send with 131009/100 long after the conversation moved on, so a value that
breaks one is refused at construction: it is a bug in the code that built it. Renderers
use ``clip`` on anything that comes from the catalog (product names can be 200 chars).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

TEXT_BODY_MAX = 4096
BUTTONS_MIN, BUTTONS_MAX = 1, 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
BUTTONS_BODY_MAX = 1024
HEADER_MAX = 60
FOOTER_MAX = 60
LIST_BUTTON_MAX = 20
LIST_BODY_MAX = 4096
SECTIONS_MIN, SECTIONS_MAX = 1, 10
ROWS_MAX = 10  # across all sections of one list
SECTION_TITLE_MAX = 24
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
ROW_ID_MAX = 200
LOCATION_BODY_MAX = 1024
MEDIA_CAPTION_MAX = 1024
DOCUMENT_FILENAME_MAX = 240
DOCUMENT_LINK_MAX = 2048

ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """``text`` shortened to at most ``limit`` characters, ending in "…" when cut."""
    if limit < 1:
        raise ValueError("clip needs a limit of at least 1")
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def _check(field: str, value: str, limit: int) -> None:
    if not value.strip():
        raise ValueError(f"{field} must not be empty")
    if len(value) > limit:
        raise ValueError(f"{field} has {len(value)} characters; WhatsApp allows {limit}")


def _check_optional(field: str, value: str | None, limit: int) -> None:
    if value is not None:
        _check(field, value, limit)


def _require_unique(field: str, values: Iterable[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{field} {value!r} appears twice; WhatsApp needs them unique")
        seen.add(value)


@dataclass(frozen=True, slots=True)
class TextMessage:
    body: str

    def __post_init__(self) -> None:
        _check("text body", self.body, TEXT_BODY_MAX)


@dataclass(frozen=True, slots=True)
class Button:
    id: str
    title: str

    def __post_init__(self) -> None:
        _check("button id", self.id, BUTTON_ID_MAX)
        _check("button title", self.title, BUTTON_TITLE_MAX)


@dataclass(frozen=True, slots=True)
class ButtonsMessage:
    body: str
    buttons: tuple[Button, ...]
    header: str | None = None
    footer: str | None = None

    def __post_init__(self) -> None:
        _check("buttons body", self.body, BUTTONS_BODY_MAX)
        _check_optional("header", self.header, HEADER_MAX)
        _check_optional("footer", self.footer, FOOTER_MAX)
        if not BUTTONS_MIN <= len(self.buttons) <= BUTTONS_MAX:
            raise ValueError(f"WhatsApp allows 1 to 3 reply buttons, not {len(self.buttons)}")
        _require_unique("button title", (button.title for button in self.buttons))
        _require_unique("button id", (button.id for button in self.buttons))


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    title: str
    description: str | None = None

    def __post_init__(self) -> None:
        _check("row id", self.id, ROW_ID_MAX)
        _check("row title", self.title, ROW_TITLE_MAX)
        _check_optional("row description", self.description, ROW_DESCRIPTION_MAX)


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    rows: tuple[Row, ...]

    def __post_init__(self) -> None:
        _check("section title", self.title, SECTION_TITLE_MAX)
        if not self.rows:
            raise ValueError("a list section needs at least one row")


@dataclass(frozen=True, slots=True)
class ListMessage:
    body: str
    button: str
    sections: tuple[Section, ...]
    header: str | None = None
    footer: str | None = None

    def __post_init__(self) -> None:
        _check("list body", self.body, LIST_BODY_MAX)
        _check("list button", self.button, LIST_BUTTON_MAX)
        _check_optional("header", self.header, HEADER_MAX)
        _check_optional("footer", self.footer, FOOTER_MAX)
        if not SECTIONS_MIN <= len(self.sections) <= SECTIONS_MAX:
            raise ValueError(f"WhatsApp allows 1 to 10 list sections, not {len(self.sections)}")
        if len(self.rows) > ROWS_MAX:
            raise ValueError(f"WhatsApp allows 10 rows per list in all, not {len(self.rows)}")
        _require_unique("row id", (row.id for row in self.rows))

    @property
    def rows(self) -> tuple[Row, ...]:
        return tuple(row for section in self.sections for row in section.rows)


@dataclass(frozen=True, slots=True)
class LocationRequestMessage:
    """Asks the customer to share a location; WhatsApp shows a "Send location" button."""

    body: str

    def __post_init__(self) -> None:
        _check("location request body", self.body, LOCATION_BODY_MAX)


@dataclass(frozen=True, slots=True)
class DocumentMessage:
    """A file WhatsApp fetches from ``link`` (public HTTPS in production) and delivers."""

    link: str
    filename: str
    caption: str | None = None

    def __post_init__(self) -> None:
        _check("document link", self.link, DOCUMENT_LINK_MAX)
        _check("document filename", self.filename, DOCUMENT_FILENAME_MAX)
        _check_optional("document caption", self.caption, MEDIA_CAPTION_MAX)

    @property
    def body(self) -> str:
        """What the terminal simulator shows for it."""
        caption = f"{self.caption}\n" if self.caption else ""
        return f"{caption}[document {self.filename}] {self.link}"


OutgoingMessage = (
    TextMessage | ButtonsMessage | ListMessage | LocationRequestMessage | DocumentMessage
)


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a message goes to: the phone (``wa_id``) when known, else the user id."""

    wa_id: str | None
    user_id: str | None

    def __post_init__(self) -> None:
        if not self.wa_id and not self.user_id:
            raise ValueError("a recipient needs a wa_id or a user_id")

    def address(self) -> dict[str, str]:
        if self.wa_id:
            return {"to": self.wa_id}
        # Since 2026 customers who use a WhatsApp username may have no known phone; the
        # Cloud API then takes their business-scoped user id (BSUID, e.g.
        # "US.13491208655302741918") in the "recipient" field instead of "to".
        assert self.user_id is not None  # guaranteed by __post_init__
        return {"recipient": self.user_id}


# --- Cloud API request bodies ----------------------------------------------------------


def to_cloud_body(message: OutgoingMessage, recipient: Recipient) -> dict[str, Any]:
    """The JSON ``POST /{phone-number-id}/messages`` receives for ``message``."""
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **recipient.address(),
    }
    if isinstance(message, TextMessage):
        return body | {"type": "text", "text": {"body": message.body}}
    if isinstance(message, DocumentMessage):
        document = {"link": message.link, "filename": message.filename}
        if message.caption is not None:
            document["caption"] = message.caption
        return body | {"type": "document", "document": document}
    return body | {"type": "interactive", "interactive": _interactive(message)}


def _interactive(message: ButtonsMessage | ListMessage | LocationRequestMessage) -> dict[str, Any]:
    if isinstance(message, LocationRequestMessage):
        return {
            "type": "location_request_message",
            "body": {"text": message.body},
            "action": {"name": "send_location"},
        }
    if isinstance(message, ButtonsMessage):
        action: dict[str, Any] = {
            "buttons": [
                {"type": "reply", "reply": {"id": button.id, "title": button.title}}
                for button in message.buttons
            ]
        }
        kind = "button"
    else:
        action = {"button": message.button, "sections": [_section(s) for s in message.sections]}
        kind = "list"
    interactive: dict[str, Any] = {"type": kind}
    if message.header is not None:
        interactive["header"] = {"type": "text", "text": message.header}
    interactive["body"] = {"text": message.body}
    if message.footer is not None:
        interactive["footer"] = {"text": message.footer}
    interactive["action"] = action
    return interactive


def _section(section: Section) -> dict[str, Any]:
    return {"title": section.title, "rows": [_row(row) for row in section.rows]}


def _row(row: Row) -> dict[str, str]:
    fields = {"id": row.id, "title": row.title}
    if row.description is not None:
        fields["description"] = row.description
    return fields


def from_cloud_body(body: Mapping[str, Any]) -> OutgoingMessage:
    """The message a Cloud API request body sends (the inverse of ``to_cloud_body``)."""
    try:
        return _from_cloud_body(body)
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"not a message body chatcart sends: {error!r}") from None


def _from_cloud_body(body: Mapping[str, Any]) -> OutgoingMessage:
    kind = body.get("type")
    if kind == "text":
        return TextMessage(body["text"]["body"])
    if kind == "document":
        document = body["document"]
        return DocumentMessage(document["link"], document["filename"], document.get("caption"))
    interactive = body["interactive"] if kind == "interactive" else {}
    itype = interactive.get("type")
    if itype == "location_request_message":
        return LocationRequestMessage(interactive["body"]["text"])
    if itype not in ("button", "list"):
        raise ValueError(f"not a message chatcart sends: {kind!r}/{itype!r}")
    text = interactive["body"]["text"]
    header = interactive.get("header", {}).get("text")
    footer = interactive.get("footer", {}).get("text")
    action = interactive["action"]
    if itype == "button":
        buttons = tuple(Button(b["reply"]["id"], b["reply"]["title"]) for b in action["buttons"])
        return ButtonsMessage(text, buttons, header=header, footer=footer)
    sections = tuple(
        Section(
            s["title"], tuple(Row(r["id"], r["title"], r.get("description")) for r in s["rows"])
        )
        for s in action["sections"]
    )
    return ListMessage(text, action["button"], sections, header=header, footer=footer)


# --- Plain rendering (the terminal simulator) ------------------------------------------


def choices(message: OutgoingMessage) -> list[tuple[str, str]]:
    """(id, title) of what the customer can tap, in the order ``render_plain`` numbers them."""
    if isinstance(message, ButtonsMessage):
        return [(button.id, button.title) for button in message.buttons]
    if isinstance(message, ListMessage):
        return [(row.id, row.title) for row in message.rows]
    return []


def render_plain(message: OutgoingMessage) -> str:
    """The message as a terminal shows it: body, then numbered choices."""
    parts: list[str] = []
    header = getattr(message, "header", None)
    if header:
        parts.append(header)
    parts.append(message.body)
    numbered = _numbered_choices(message)
    if numbered:
        parts.append("\n".join(numbered))
    if isinstance(message, LocationRequestMessage):
        parts.append("[Send location]")
    footer = getattr(message, "footer", None)
    if footer:
        parts.append(footer)
    return "\n\n".join(parts)


def _numbered_choices(message: OutgoingMessage) -> list[str]:
    if isinstance(message, ListMessage):
        return [
            f"{n}. {row.title}" + (f" — {row.description}" if row.description else "")
            for n, row in enumerate(message.rows, start=1)
        ]
    return [f"{n}. {title}" for n, (_, title) in enumerate(choices(message), start=1)]
