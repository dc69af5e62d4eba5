"""Reading what the customer typed: commands, quantities, order numbers, option titles."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from app.conversation.messages import Command

# Commands that may carry an argument: "status 1042", "reorder 1042", "search cake".
_WITH_ARGUMENT = (
    Command.STATUS,
    Command.REORDER,
    Command.CANCEL,
    Command.SEARCH,
    Command.PAY,
    Command.PAID,
    Command.RECEIPT,
)
_TRAILING_PUNCTUATION = ".,!?;:…¡¿"
_INTEGER = re.compile(r"[-−]?\d+")
_FRACTION = re.compile(r"\d[.,]\d")
_THOUSANDS = re.compile(r"(?<=\d)[,  ](?=\d{3}(?!\d))")
_PUNCTUATION = re.compile(r"(?:(?![-−]\d)[^\w\s])|_")
_ORDER_NUMBER = re.compile(r"(?:order\s*)?#?\s*(\d{1,9})")
# More digits than any quantity we accept; such a number is "too large", however long it is
# (and int() of a 5,000-digit string raises in Python 3.11).
_MAX_DIGITS = 12


def normalize(text: str) -> str:
    """Case-folded, single-spaced, without trailing punctuation: "  Menu!! " → "menu".

    Phone keyboards type the apostrophe as "’", so "I’ve paid" reads as "i've paid".
    """
    folded = text.casefold().replace("\u2019", "'")
    return " ".join(folded.split()).rstrip(_TRAILING_PUNCTUATION).strip()


def read_command(text: str, words: Mapping[Command, frozenset[str]]) -> tuple[Command, str] | None:
    """The command ``text`` (normalized) is, with its argument; YES is not a command."""
    for command, phrases in words.items():
        if command is not Command.YES and text in phrases:
            return command, ""
    # The longest phrase wins across commands: "payment sent 1042" is PAID, not PAY.
    found = [
        (phrase, command)
        for command in _WITH_ARGUMENT
        for phrase in words.get(command, ())
        if text.startswith(phrase + " ")
    ]
    if not found:
        return None
    phrase, command = max(found, key=lambda candidate: len(candidate[0]))
    return command, text[len(phrase) :].strip()


def is_yes(text: str, words: Mapping[Command, frozenset[str]]) -> bool:
    return text in words.get(Command.YES, frozenset())


def parse_quantity(text: str, numbers: Mapping[str, int]) -> int | None:
    """The one whole number in ``text`` ("2", "x3", "3 please", "two"), else None.

    Negative numbers come back negative so the caller can say why they are refused.
    """
    text = _THOUSANDS.sub("", normalize(text))
    if _FRACTION.search(text):
        return None
    found = _INTEGER.findall(text)
    if len(found) == 1:
        return _to_int(found[0])
    if found:
        return None
    named = [numbers[word] for word in re.findall(r"\w+", text) if word in numbers]
    return named[0] if len(named) == 1 else None


def _to_int(digits: str) -> int:
    negative = digits[0] in "-−"
    digits = digits.lstrip("-−").lstrip("0") or "0"
    value = 10**_MAX_DIGITS if len(digits) > _MAX_DIGITS else int(digits)
    return -value if negative else value


def parse_order_number(text: str) -> int | None:
    """ "1042", "#1042" or "order 1042" → 1042."""
    match = _ORDER_NUMBER.fullmatch(normalize(text))
    return int(match.group(1)) if match else None


def match_option(text: str, options: Sequence[tuple[str, str]]) -> str | None:
    """The id of the option whose title the customer typed (or its unique first word)."""
    typed = _plain(text)
    if not typed:
        return None
    exact = [option_id for option_id, title in options if _plain(title) == typed]
    if len(exact) == 1:
        return exact[0]
    if " " in typed:
        return None
    first = [option_id for option_id, title in options if _plain(title).split()[:1] == [typed]]
    return first[0] if len(first) == 1 else None


def _plain(text: str) -> str:
    # Punctuation becomes space ("More…" is "more"), but a minus sign stays: "-3" is not "3".
    return " ".join(_PUNCTUATION.sub(" ", text.casefold()).split())
