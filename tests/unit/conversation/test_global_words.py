"""Global words work in every step; in HANDOVER the bot stays silent."""

from __future__ import annotations

import pytest

from app.conversation.effects import StartHandover
from app.conversation.session import CartItem, Session, Step
from app.ordering.values import Fulfilment

from .conftest import COMPLETED, PENDING, Chat, make_ctx, others, replies

CHECKOUT = {Step.FULFILMENT, Step.ADDRESS, Step.CONFIRM}


def session_at(step: Step) -> Session:
    """A customer some way into a conversation, now at ``step``."""
    return Session(
        step=step,
        cart=[CartItem("CAKE-CHOC", 2), CartItem("MILK", 1)],
        category="Bakery",
        sku="CAKE-CHOC",
        fulfilment=Fulfilment.DELIVERY,
        address="1 Main St",
        order_number=1042,
        greeted=True,
    )


def expected_step(word: str, start: Step) -> Step:
    if word == "cancel":
        # In a checkout, "cancel" stops it; elsewhere it offers to cancel the unpaid order.
        return Step.CART if start in CHECKOUT else Step.ORDERS
    return {
        "menu": Step.MENU,
        "cart": Step.CART,
        "status": Step.ORDERS,
        "help": Step.MENU,
        "human": Step.HANDOVER,
    }[word]


WORDS = ["menu", "cart", "status", "help", "cancel", "human"]
ACTIVE_STEPS = [step for step in Step if step is not Step.HANDOVER]


@pytest.mark.parametrize("word", WORDS)
@pytest.mark.parametrize("start", ACTIVE_STEPS)
def test_a_global_word_works_in_every_step(word: str, start: Step) -> None:
    chat = Chat(make_ctx(orders=(PENDING, COMPLETED)), session_at(start))
    turn = chat.send(word)
    assert chat.session.step == expected_step(word, start)
    assert len(replies(turn)) == 1
    assert others(turn) == ([StartHandover()] if word == "human" else [])


@pytest.mark.parametrize("word", [*WORDS, "hi", "anything", "1042", "yes"])
def test_handover_is_silent(word: str) -> None:
    chat = Chat(make_ctx(orders=(PENDING,)), session_at(Step.HANDOVER))
    turn = chat.send(word)
    assert turn.effects == ()
    assert chat.session.step == Step.HANDOVER


@pytest.mark.parametrize("typed", ["MENU", "  Menu ", "menu!", "Menu.", "menu?!", "Main menu"])
def test_words_tolerate_case_spaces_and_punctuation(typed: str) -> None:
    chat = Chat(session=session_at(Step.PRODUCT))
    chat.send(typed)
    assert chat.session.step == Step.MENU


@pytest.mark.parametrize("typed", ["human", "agent", "person", "Talk to a person"])
def test_asking_for_a_person_hands_over(typed: str) -> None:
    chat = Chat(session=session_at(Step.MENU))
    turn = chat.send(typed)
    assert others(turn) == [StartHandover()]
    assert "a person from Corner Shop will reply here soon" in chat.text


def test_cancel_during_checkout_keeps_the_cart() -> None:
    chat = Chat(make_ctx(orders=(PENDING,)), session_at(Step.ADDRESS))
    chat.send("cancel")
    assert "Checkout stopped. Your cart is kept." in chat.text
    assert chat.session.cart == session_at(Step.ADDRESS).cart


def test_global_words_keep_the_cart() -> None:
    chat = Chat(session=session_at(Step.QUANTITY))
    for word in ["menu", "help", "status", "cancel", "cart"]:
        chat.send(word)
        assert chat.session.cart == session_at(Step.QUANTITY).cart
