"""What one reply shows, before it becomes a WhatsApp message.

Steps describe a ``Screen``: a body and up to 10 options. ``compose`` picks the message
type that can carry it: reply buttons when the options are three short titles and the
body fits 1,024 characters, else an interactive list (body up to 4,096), plain text when
there is nothing to tap. Because a whole reply is one ``Screen``, a confirmation and the
next choices always travel in one message (Meta allows about one message per 6 s to a
customer), and a hint or a welcome is just a preface to the body.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from app.whatsapp.outgoing import (
    BUTTON_TITLE_MAX,
    BUTTONS_BODY_MAX,
    BUTTONS_MAX,
    LIST_BODY_MAX,
    LIST_BUTTON_MAX,
    LOCATION_BODY_MAX,
    ROW_DESCRIPTION_MAX,
    ROW_TITLE_MAX,
    ROWS_MAX,
    SECTION_TITLE_MAX,
    TEXT_BODY_MAX,
    Button,
    ButtonsMessage,
    ListMessage,
    LocationRequestMessage,
    OutgoingMessage,
    Row,
    Section,
    TextMessage,
    clip,
)

PAGE_SIZE = ROWS_MAX - 1  # a page that is not the last keeps one row for "More…"


@dataclass(frozen=True, slots=True)
class Option:
    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Screen:
    body: str
    options: tuple[Option, ...] = ()
    button: str = ""  # the list's button label, when shown as a list
    section: str = ""  # the list's section title
    ask_location: bool = False

    def __post_init__(self) -> None:
        if len(self.options) > ROWS_MAX:
            raise ValueError(f"a screen offers at most {ROWS_MAX} options; paginate")

    def prefaced(self, text: str) -> Screen:
        return replace(self, body=f"{text}\n\n{self.body}" if self.body else text)


def compose(screen: Screen, *, button: str, section: str) -> OutgoingMessage:
    """The message for ``screen``; ``button``/``section`` label lists that set none."""
    if screen.ask_location:
        return LocationRequestMessage(clip(screen.body, LOCATION_BODY_MAX))
    if not screen.options:
        return TextMessage(clip(screen.body, TEXT_BODY_MAX))
    if _fits_buttons(screen):
        buttons = tuple(Button(option.id, option.title) for option in screen.options)
        return ButtonsMessage(screen.body, buttons)
    rows = tuple(
        Row(
            option.id,
            clip(option.title, ROW_TITLE_MAX),
            clip(option.description, ROW_DESCRIPTION_MAX) if option.description else None,
        )
        for option in screen.options
    )
    return ListMessage(
        clip(screen.body, LIST_BODY_MAX),
        clip(screen.button or button, LIST_BUTTON_MAX),
        (Section(clip(screen.section or section, SECTION_TITLE_MAX), rows),),
    )


def _fits_buttons(screen: Screen) -> bool:
    titles = [option.title for option in screen.options]
    return (
        len(titles) <= BUTTONS_MAX
        and len(set(titles)) == len(titles)
        and all(len(title) <= BUTTON_TITLE_MAX for title in titles)
        and not any(option.description for option in screen.options)
        and len(screen.body) <= BUTTONS_BODY_MAX
    )


def page_count(items: int) -> int:
    """Pages of ``PAGE_SIZE`` items, the last one holding up to ``ROWS_MAX``."""
    if items <= ROWS_MAX:
        return 1
    return -(-(items - ROWS_MAX) // PAGE_SIZE) + 1


def paginate(
    options: Sequence[Option], page: int, more: Callable[[int, int], Option]
) -> tuple[tuple[Option, ...], int]:
    """The options of ``page`` (clamped to the pages there are) and that page.

    ``more(next_page, pages)`` builds the "More…" option closing every page but the last.
    """
    pages = page_count(len(options))
    page = min(max(page, 0), pages - 1)
    rest = options[page * PAGE_SIZE :]
    if len(rest) <= ROWS_MAX:
        return tuple(rest), page
    return (*rest[:PAGE_SIZE], more(page + 1, pages)), page
