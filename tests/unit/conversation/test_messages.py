"""The message catalog: every word the customer reads comes from it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from app.conversation import machine, render
from app.conversation.messages import ENGLISH, Command, Texts

KEY = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")


def string_constants(module: object) -> list[str]:
    """String literals of a module, docstrings left out."""
    tree = ast.parse(Path(module.__file__).read_text())  # type: ignore[attr-defined]
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


@pytest.mark.parametrize("module", [machine, render])
def test_every_message_id_used_exists(module: object) -> None:
    used = {text for text in string_constants(module) if KEY.match(text)}
    assert used
    plural_bases = {key.rsplit(".", 1)[0] for key in ENGLISH if key.endswith(".other")}
    missing = {key for key in used if key not in ENGLISH and key not in plural_bases}
    assert not missing


def test_the_machine_has_no_customer_facing_text() -> None:
    sentences = [
        text for text in string_constants(machine) if re.search(r"[A-Za-z]{2,}\s+[A-Za-z]", text)
    ]
    assert sentences == []


def test_button_titles_fit_whatsapp_buttons() -> None:
    titles = {k: v for k, v in ENGLISH.items() if k.startswith("opt.") and ".desc" not in k}
    assert all(len(title) <= 20 for title in titles.values()), titles


def test_row_descriptions_fit() -> None:
    assert all(len(v) <= 60 for k, v in ENGLISH.items() if ".desc" in k)


def test_texts_format_money_numbers_and_plurals() -> None:
    tx = Texts.for_locale("en_US", "USD")
    assert tx.money(123456) == "$1,234.56"
    assert tx.number(1000) == "1,000"
    assert tx.plural("cart.count", 1, total="$1.00") == "Cart: 1 item, $1.00."
    assert tx.plural("cart.count", 2, total="$2.00") == "Cart: 2 items, $2.00."
    assert tx.status("pending_payment") == "waiting for payment"
    assert tx.status("some_new_status") == "some_new_status"


def test_an_unknown_language_falls_back_to_english() -> None:
    tx = Texts.for_locale("de-DE", "EUR")
    assert tx.t("cart.title") == "*Your cart*"
    assert tx.money(1250) == "12,50\xa0€"  # but money in the customer's format
    assert Texts.for_locale("not a locale", "USD").money(1250) == "$12.50"


def test_every_command_has_words() -> None:
    tx = Texts.for_locale("en", "USD")
    assert all(tx.words[command] for command in Command)
