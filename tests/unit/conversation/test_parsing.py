"""Reading typed text."""

from __future__ import annotations

import pytest

from app.conversation.messages import ENGLISH_NUMBERS, ENGLISH_WORDS, Command
from app.conversation.parsing import (
    match_option,
    normalize,
    parse_order_number,
    parse_quantity,
    read_command,
)


@pytest.mark.parametrize(
    ("typed", "command"),
    [
        ("menu", (Command.MENU, "")),
        ("status 1042", (Command.STATUS, "1042")),
        ("reorder #1001", (Command.REORDER, "#1001")),
        ("search choc cake", (Command.SEARCH, "choc cake")),
        ("talk to a person", (Command.HUMAN, "")),
        ("menu please", None),
        ("cart 3", None),  # only some commands take an argument
        ("yes", None),
        ("chocolate", None),
    ],
)
def test_read_command(typed: str, command: tuple[Command, str] | None) -> None:
    assert read_command(normalize(typed), ENGLISH_WORDS) == command


@pytest.mark.parametrize(
    ("typed", "quantity"),
    [
        ("2", 2),
        ("x3", 3),
        ("3 please", 3),
        ("qty: 4", 4),
        ("10 pcs", 10),
        ("-3", -3),
        ("0", 0),
        ("1 000", 1000),
        ("1,000", 1000),
        ("a dozen", 12),
        ("three", 3),
        ("1000000000", 1000000000),
        ("9" * 5000, 10**12),
        ("abc", None),
        ("", None),
        ("1.5", None),
        ("2 or 3", None),
        ("two or three", None),
    ],
)
def test_parse_quantity(typed: str, quantity: int | None) -> None:
    assert parse_quantity(typed, ENGLISH_NUMBERS) == quantity


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("1042", 1042),
        ("#1042", 1042),
        ("order 1042", 1042),
        ("Order #7", 7),
        ("10 42", None),
        ("x", None),
    ],
)
def test_parse_order_number(typed: str, number: int | None) -> None:
    assert parse_order_number(typed) == number


OPTIONS = [("confirm", "Confirm order"), ("cart", "Edit cart"), ("page:1", "More…"), ("q", "3")]


@pytest.mark.parametrize(
    ("typed", "chosen"),
    [
        ("confirm order", "confirm"),
        ("Confirm", "confirm"),
        ("edit cart!", "cart"),
        ("more", "page:1"),
        ("3", "q"),
        ("-3", None),
        ("order", None),
        ("cart", None),  # not a first word
        ("", None),
    ],
)
def test_match_option(typed: str, chosen: str | None) -> None:
    assert match_option(normalize(typed), OPTIONS) == chosen


def test_a_first_word_shared_by_two_options_matches_neither() -> None:
    assert match_option("add", [("a", "Add 1"), ("b", "Add more")]) is None
