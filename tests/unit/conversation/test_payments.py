"""Paying in the chat: choosing a method, "paid" claims, proofs, receipts, and their replies."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from app.conversation.effects import (
    ClaimPayment,
    ClaimState,
    OrderPlaced,
    PaymentClaimed,
    PaymentReady,
    PaymentRefused,
    ReceiptMissing,
    ReceiptSent,
    SendReceipt,
    StartPayment,
)
from app.conversation.inputs import Choice, Media
from app.conversation.session import CartItem, Session, Step
from app.conversation.view import OrderView
from app.ordering.pricing import LineInput, price_cart
from app.ordering.values import MAX_LINES, Fulfilment
from app.payments.providers import Method, Proof
from app.whatsapp.outgoing import ButtonsMessage

from .conftest import COMPLETED, NOW, PAYMENT_INSTRUCTIONS, PENDING, TERMS, Chat, make_ctx, others

REFERENCE = "7KQ2-M9X7"  # valid check symbol
OLDER_REFERENCE = "10Q2-M9XZ"  # has a 0 and a 1, which customers type as O and I/L
STRANGER_REFERENCE = "3HT8-W2NQ"  # valid, but on none of this customer's orders
DEADLINE = NOW + timedelta(minutes=30)
CARD_URL = "https://checkout.example/c/pay/cs_test_1"
BOTH = (Method.CARD, Method.MANUAL)

UNPAID = replace(PENDING, payment_reference=REFERENCE, references=(REFERENCE,), expires_at=DEADLINE)
OLDER_UNPAID = replace(
    PENDING,
    id=6,
    number=1040,
    placed_at=NOW - timedelta(hours=1),
    payment_reference=OLDER_REFERENCE,
    references=(OLDER_REFERENCE,),
)
PAID = OrderView(
    id=5,
    number=1030,
    status="paid",
    total=900,
    currency="USD",
    placed_at=NOW - timedelta(days=1),
    items=(("TEA", "Green tea", 2),),
    references=("3333-333F",),
    payment_status="confirmed",
    receipt="R-000012",
)
EXPIRED = replace(PENDING, id=8, number=1050, status="expired")
CANCELLED = replace(PENDING, id=9, number=1051, status="cancelled")


def customer(
    *orders: OrderView, methods: tuple[Method, ...] = (Method.MANUAL,), **changes: Any
) -> Chat:
    ctx = make_ctx(orders=orders, payment_methods=methods, **changes)
    return Chat(ctx, Session(greeted=True))


def placed(reference: str | None, *, lines: list[LineInput] | None = None) -> OrderPlaced:
    totals = price_cart(
        lines or [LineInput("CAKE-CHOC", "Chocolate cake", 1250, 0, 2)],
        currency="USD",
        prices_include_tax=TERMS.prices_include_tax,
        delivery_fee=0,
    )
    return OrderPlaced(7, 1042, totals, reference, DEADLINE)


def ready(method: Method = Method.MANUAL, **changes: Any) -> PaymentReady:
    return replace(PaymentReady(1042, method, REFERENCE, 2800, DEADLINE), **changes)


def assert_silent(chat: Chat, effect: object) -> None:
    """The turn only asks the handler to act: the outcome brings the reply."""
    assert chat.turn is not None
    assert chat.turn.effects == (effect,)


def assert_refused(chat: Chat, lead: str) -> None:
    """A reply that says why, and nothing for the handler to do."""
    assert chat.turn is not None
    assert others(chat.turn) == []
    assert lead in chat.text


# --- Placing an order ------------------------------------------------------------------


def test_placed_with_manual_only_gives_the_instructions_at_once() -> None:
    chat = customer()
    chat.report(placed(REFERENCE))
    text = chat.text
    assert "Thank you! Order *#1042* is placed.\n2 × Chocolate cake" in text
    assert f"*How to pay*\n{PAYMENT_INSTRUCTIONS}" in text
    assert "Amount: *$25.00*" in text
    assert f"Reference: *{REFERENCE}* (please quote it with your payment)" in text
    assert "Please pay by 12:30\u202fPM, or the order will be cancelled." in text
    assert isinstance(chat.reply, ButtonsMessage)
    assert chat.options == [
        ("paid:1042", "I've paid"),
        ("order:1042", "Order status"),
        ("cancel:1042", "Cancel order"),
    ]
    assert chat.session.step == Step.AWAITING_PAYMENT
    assert chat.session.order_number == 1042


def test_placed_shows_the_account_details_when_set() -> None:
    chat = customer(manual_account="IBAN DE89 3704 0044 0532 0130 00")
    chat.report(placed(REFERENCE))
    assert f"{PAYMENT_INSTRUCTIONS}\nIBAN DE89 3704 0044 0532 0130 00\nAmount:" in chat.text


def test_placed_with_card_offered_asks_how_to_pay() -> None:
    chat = customer(methods=BOTH)
    chat.report(placed(None))
    text = chat.text
    assert "Order *#1042* is placed." in text
    assert "How would you like to pay *$25.00*? Please pay by 12:30\u202fPM" in text
    assert "Reference" not in text
    assert chat.options == [
        ("pay:1042:card", "Pay by card"),
        ("pay:1042:manual", "Bank transfer"),
        ("cancel:1042", "Cancel order"),
    ]
    assert chat.session.step == Step.AWAITING_PAYMENT


def test_a_long_manual_label_is_clipped_to_a_button_title() -> None:
    chat = customer(methods=BOTH, manual_label="Mobile money (M-Pesa) or bank transfer")
    chat.report(placed(None))
    assert isinstance(chat.reply, ButtonsMessage)
    assert dict(chat.options)["pay:1042:manual"] == "Mobile money (M-Pes…"


@pytest.mark.parametrize("method", [Method.CARD, Method.MANUAL])
def test_tapping_a_method_starts_that_payment(method: Method) -> None:
    chat = customer(UNPAID, methods=BOTH)
    chat.report(placed(None))
    chat.tap(f"pay:1042:{method.value}")
    assert_silent(chat, StartPayment(7, method))


@pytest.mark.parametrize(
    ("typed", "method"), [("Pay by card", Method.CARD), ("bank transfer", Method.MANUAL)]
)
def test_typing_a_method_title_chooses_it(typed: str, method: Method) -> None:
    chat = customer(UNPAID, methods=BOTH)
    chat.report(placed(None))
    chat.send(typed)
    assert_silent(chat, StartPayment(7, method))


# --- "pay" -----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["pay", "Pay now", "payment details", "pay 1042", "pay #1042"])
def test_pay_with_one_method_starts_a_manual_payment(typed: str) -> None:
    chat = customer(UNPAID, COMPLETED)
    chat.send(typed)
    assert_silent(chat, StartPayment(7, Method.MANUAL))
    assert chat.session.step == Step.AWAITING_PAYMENT
    assert chat.session.order_number == 1042


def test_pay_names_an_older_unpaid_order() -> None:
    chat = customer(UNPAID, OLDER_UNPAID)
    chat.send("pay 1040")
    assert_silent(chat, StartPayment(6, Method.MANUAL))


def test_pay_with_two_methods_asks_how() -> None:
    chat = customer(UNPAID, methods=BOTH)
    turn = chat.send("pay")
    assert others(turn) == []
    assert "How would you like to pay for order *#1042* ($28.00)?" in chat.text
    assert chat.ids == ["pay:1042:card", "pay:1042:manual", "cancel:1042"]
    chat.tap("pay:1042:card")
    assert_silent(chat, StartPayment(7, Method.CARD))


def test_a_pay_button_asks_how_when_there_is_a_choice() -> None:
    chat = customer(UNPAID, methods=BOTH)
    chat.send(Choice("pay:1042", "Pay"))
    assert chat.ids == ["pay:1042:card", "pay:1042:manual", "cancel:1042"]


@pytest.mark.parametrize(
    ("order", "lead"),
    [
        (PAID, "Order *#1030* is already paid. Type *receipt* to get the receipt again."),
        (EXPIRED, "Order *#1050* is expired (not paid in time), so it can't be paid."),
        (CANCELLED, "Order *#1051* is cancelled, so it can't be paid."),
    ],
)
@pytest.mark.parametrize("tapped", [False, True])
def test_an_order_that_cannot_be_paid_says_why(order: OrderView, lead: str, tapped: bool) -> None:
    chat = customer(UNPAID, order, methods=BOTH)
    tap = Choice(f"pay:{order.number}:card", "Pay by card")  # an old button, tapped later
    chat.send(tap if tapped else f"pay {order.number}")
    assert_refused(chat, lead)
    assert f"Order *#{order.number}*:" in chat.text  # the order itself follows


@pytest.mark.parametrize("orders", [(), (PAID, COMPLETED)])
def test_pay_without_an_unpaid_order(orders: tuple[OrderView, ...]) -> None:
    chat = customer(*orders)
    chat.send("pay")
    assert_refused(chat, "You have no order waiting for payment.")
    assert chat.session.step == Step.MENU


def test_pay_for_an_order_that_is_not_theirs() -> None:
    chat = customer(UNPAID)
    chat.send("pay 9999")
    assert_refused(chat, "I can't find order #9999.")


# --- Payment instructions (PaymentReady / PaymentRefused) -------------------------------


def test_a_card_payment_sends_the_link() -> None:
    chat = customer(UNPAID, methods=BOTH)
    chat.report(ready(Method.CARD, checkout_url=CARD_URL))
    text = chat.text
    assert f"*Pay by card*\nTap the secure link to pay *$28.00*:\n{CARD_URL}" in text
    assert "The order is kept for you until 12:30\u202fPM." in text
    assert "Reference" not in text
    assert chat.ids == ["paid:1042", "order:1042", "cancel:1042"]
    assert chat.session.step == Step.AWAITING_PAYMENT


def test_a_manual_payment_sends_the_instructions() -> None:
    chat = customer(UNPAID)
    chat.report(ready())
    text = chat.text
    assert f"*How to pay*\n{PAYMENT_INSTRUCTIONS}\nAmount: *$28.00*" in text
    assert f"Reference: *{REFERENCE}*" in text
    assert "Card payments" not in text
    assert chat.ids == ["paid:1042", "order:1042", "cancel:1042"]


def test_when_cards_fail_the_manual_instructions_come_with_an_apology() -> None:
    chat = customer(UNPAID, methods=BOTH)
    chat.report(ready(fallback=True))
    assert chat.text.startswith(
        "Card payments aren't available right now, so here's how to pay by Bank transfer "
        f"instead.\n\n*How to pay*\n{PAYMENT_INSTRUCTIONS}"
    )
    assert f"Reference: *{REFERENCE}*" in chat.text


def test_a_deadline_on_another_day_shows_the_date() -> None:
    chat = customer(UNPAID)
    chat.report(ready(expires_at=NOW + timedelta(days=1)))
    assert "The order is kept for you until Nov 29, 12:00\u202fPM." in chat.text


def test_a_refused_payment_says_why_with_the_order() -> None:
    chat = customer(UNPAID)
    chat.report(PaymentRefused(1042, "The order is no longer waiting for payment."))
    assert chat.text.startswith(
        "Sorry, I couldn't get the payment details for order #1042: The order is no longer "
        "waiting for payment.\n\nOrder *#1042*: waiting for payment"
    )


def test_a_refused_payment_for_an_order_not_loaded_falls_back_to_the_menu() -> None:
    chat = customer()
    chat.report(PaymentRefused(1042, "Gone."))
    assert "order #1042: Gone." in chat.text
    assert chat.session.step == Step.MENU


# --- "paid" ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "paid",
        "Paid!",
        "I've paid",
        "I\u2019ve paid",  # a phone keyboard's apostrophe
        "i paid",
        "payment sent",
        "paid 1042",
        "paid #1042",
        "payment sent 1042",
    ],
)
def test_paid_claims_the_waiting_order(typed: str) -> None:
    chat = customer(UNPAID, OLDER_UNPAID, COMPLETED)
    chat.send(typed)
    assert_silent(chat, ClaimPayment(7, None))
    assert chat.session.step == Step.AWAITING_PAYMENT
    assert chat.session.order_number == 1042


@pytest.mark.parametrize(
    "typed",
    ["paid 10Q2-M9XZ", "paid 10q2m9xz", "paid 10Q2 M9XZ", "paid IOQ2-M9XZ", "paid ref loq2-m9xz"],
)
def test_paid_with_a_reference_claims_that_order(typed: str) -> None:
    chat = customer(UNPAID, OLDER_UNPAID)
    chat.send(typed)
    assert_silent(chat, ClaimPayment(6, None))
    assert chat.session.order_number == 1040


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("paid 7KQ2-M9X8", "7KQ2-M9X8 is not a valid payment reference; please check it"),
        ("paid 7KQ2-M9XU", "'U' does not appear in payment references."),
        ("paid 7KQ2-M9", "A payment reference has 8 letters and digits, like ABCD-1234; got 6."),
    ],
)
def test_a_mistyped_reference_is_explained(typed: str, problem: str) -> None:
    chat = customer(UNPAID)
    chat.send(typed)
    assert_refused(chat, problem)


def test_a_reference_of_no_order_of_theirs() -> None:
    chat = customer(UNPAID)
    chat.send(f"paid {STRANGER_REFERENCE}")
    assert_refused(
        chat, f"I can't find a payment with reference {STRANGER_REFERENCE} among your orders."
    )


@pytest.mark.parametrize("message", ["paid 9999", "I've paid 9999", Choice("paid:9999", "Paid")])
def test_paid_for_an_order_that_is_not_theirs(message: str | Choice) -> None:
    chat = customer(UNPAID)
    chat.send(message)
    assert_refused(chat, "I can't find order #9999.")


@pytest.mark.parametrize("typed", ["paid 1030", "paid 3333-333F"])
def test_paid_for_an_order_already_paid(typed: str) -> None:
    chat = customer(UNPAID, PAID)
    chat.send(typed)
    assert_refused(chat, "Order *#1030* is already paid.")


def test_paid_without_an_unpaid_order() -> None:
    chat = customer(PAID)
    chat.send("paid")
    assert_refused(chat, "You have no order waiting for payment.")


def test_tapping_ive_paid_after_placing() -> None:
    chat = customer(UNPAID)
    chat.report(placed(REFERENCE))
    chat.tap_title("I've paid")
    assert_silent(chat, ClaimPayment(7, None))


# --- A photo or PDF as the proof -------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "mime"), [("image", "image/jpeg"), ("document", "application/pdf")]
)
def test_a_photo_or_pdf_is_taken_as_the_proof(kind: str, mime: str) -> None:
    chat = customer(UNPAID)
    chat.send(Media(kind, caption="transfer done", media_id="media-1", mime_type=mime))
    assert_silent(chat, ClaimPayment(7, Proof("media-1", mime, "transfer done")))
    assert chat.session.step == Step.AWAITING_PAYMENT


def test_a_proof_goes_to_the_unpaid_order_on_screen() -> None:
    chat = Chat(make_ctx(orders=(UNPAID, OLDER_UNPAID)), Session(order_number=1040, greeted=True))
    chat.send(Media("image", media_id="media-1", mime_type="image/png"))
    assert_silent(chat, ClaimPayment(6, Proof("media-1", "image/png")))


def test_a_proof_while_a_paid_order_is_on_screen_goes_to_the_unpaid_one() -> None:
    chat = Chat(make_ctx(orders=(UNPAID, PAID)), Session(order_number=1030, greeted=True))
    chat.send(Media("image", media_id="media-1"))
    assert_silent(chat, ClaimPayment(7, Proof("media-1")))


def test_a_file_without_an_unpaid_order_gets_a_polite_reply() -> None:
    chat = customer(PAID)
    chat.send(Media("document", media_id="media-1", mime_type="application/pdf"))
    assert_refused(chat, "Thanks for the file. If it's a proof of payment, I can only take it")


@pytest.mark.parametrize("kind", ["audio", "sticker", "video"])
def test_other_media_is_not_a_proof(kind: str) -> None:
    chat = customer(UNPAID)
    chat.send(Media(kind, media_id="media-1"))
    assert_refused(chat, "Sorry, I can only read text and choices.")


# --- What a claim found (PaymentClaimed) -----------------------------------------------


@pytest.mark.parametrize(
    ("claim", "text"),
    [
        (
            PaymentClaimed(1042, ClaimState.CLAIMED, reference=REFERENCE),
            f"Thanks! We'll check your payment for order *#1042* (reference *{REFERENCE}*)",
        ),
        (
            PaymentClaimed(1042, ClaimState.AGAIN, reference=REFERENCE),
            "We're still checking your payment for order *#1042*.",
        ),
        (
            PaymentClaimed(1042, ClaimState.PROOF, reference=REFERENCE),
            "Thanks, I've passed your proof of payment for order *#1042* to the shop.",
        ),
        (
            PaymentClaimed(1042, ClaimState.CARD_CONFIRMED),
            "Your card payment for order *#1042* went through. Your receipt is on its way.",
        ),
        (
            PaymentClaimed(1042, ClaimState.CARD_PENDING, checkout_url=CARD_URL),
            f"I can't see your card payment for order *#1042* yet. If you haven't paid, tap "
            f"the link:\n{CARD_URL}",
        ),
    ],
)
def test_a_claim_is_answered_by_its_state(claim: PaymentClaimed, text: str) -> None:
    chat = customer(UNPAID)
    chat.report(claim)
    assert chat.text.startswith(text)
    assert chat.ids == ["order:1042", "orders", "menu"]
    assert chat.session.step == Step.AWAITING_PAYMENT


@pytest.mark.parametrize(
    ("methods", "then"),
    [((Method.MANUAL,), StartPayment(7, Method.MANUAL)), (BOTH, None)],
)
def test_a_claim_with_nothing_open_offers_to_pay(
    methods: tuple[Method, ...], then: StartPayment | None
) -> None:
    chat = customer(UNPAID, methods=methods)
    chat.report(PaymentClaimed(1042, ClaimState.NOTHING_OPEN))
    assert chat.text.startswith("Order *#1042* has no payment waiting to be checked.")
    assert chat.options[0] == ("pay:1042", "Pay")
    chat.tap("pay:1042")
    if then is None:
        assert chat.ids == ["pay:1042:card", "pay:1042:manual", "cancel:1042"]
    else:
        assert_silent(chat, then)


# --- Receipts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message", ["receipt", "My receipt", "invoice", "receipt 1030", "receipt #1030"]
)
def test_receipt_sends_the_latest_paid_order(message: str) -> None:
    chat = customer(UNPAID, PAID, COMPLETED)
    chat.send(message)
    assert_silent(chat, SendReceipt(5))
    assert chat.session.order_number == 1030


def test_receipt_of_a_given_order_and_by_button() -> None:
    chat = customer(UNPAID, PAID, COMPLETED)
    chat.send("receipt 1001")
    assert_silent(chat, SendReceipt(3))
    chat.send(Choice("receipt:1030", "Receipt"))
    assert_silent(chat, SendReceipt(5))


def test_receipt_of_an_unpaid_order() -> None:
    chat = customer(UNPAID, PAID)
    chat.send("receipt 1042")
    assert_refused(chat, "Order *#1042* isn't paid yet, so there's no receipt for it yet.")
    assert "Order *#1042*: waiting for payment" in chat.text


@pytest.mark.parametrize("orders", [(), (UNPAID, EXPIRED)])
def test_receipt_without_paid_orders(orders: tuple[OrderView, ...]) -> None:
    chat = customer(*orders)
    chat.send("receipt")
    assert_refused(chat, "You have no paid orders yet, so there's no receipt to send.")


def test_receipt_of_an_order_that_is_not_theirs() -> None:
    chat = customer(PAID)
    chat.send("receipt 9999")
    assert_refused(chat, "I can't find order #9999.")


def test_a_sent_receipt_needs_no_reply() -> None:
    chat = customer(PAID)
    turn = chat.report(ReceiptSent(1030))
    assert turn.effects == ()


def test_a_missing_receipt_is_being_prepared() -> None:
    chat = customer(PAID)
    chat.report(ReceiptMissing(1030))
    assert chat.text.startswith(
        "The receipt for order *#1030* is being prepared; it will arrive here in a moment."
    )
    assert "Order *#1030*: paid" in chat.text


# --- WhatsApp limits -------------------------------------------------------------------

LONGEST: dict[str, Any] = {
    "manual_label": "L" * 40,
    "manual_account": "Account " + "A" * 492,
    "payment_instructions": "Pay " + "I" * 996,
}


def test_the_longest_payment_settings_still_make_valid_messages() -> None:
    # Building each turn validates every message against WhatsApp's limits.
    chat = customer(UNPAID, methods=BOTH, **LONGEST)
    chat.report(placed(REFERENCE))
    chat.report(placed(None))
    assert dict(chat.options)["pay:1042:manual"] == "L" * 19 + "…"
    chat.send("pay")
    chat.report(ready(fallback=True))
    assert f"Reference: *{REFERENCE}*" in chat.text
    chat.report(ready(Method.CARD, checkout_url=CARD_URL + "#" + "x" * 500))
    for state in ClaimState:
        chat.report(PaymentClaimed(1042, state, REFERENCE, CARD_URL))


def test_a_big_order_keeps_its_payment_details_in_the_message() -> None:
    lines = [LineInput(f"SKU-{n}", "N" * 200, 100, 0, 999) for n in range(MAX_LINES)]
    chat = customer(UNPAID, **LONGEST)
    chat.report(placed(REFERENCE, lines=lines))
    text = chat.text
    assert "Amount: *$49,950.00*" in text
    assert f"Reference: *{REFERENCE}*" in text
    assert "Please pay by 12:30\u202fPM, or the order will be cancelled." in text


# --- The payment words work from any step ---------------------------------------------

ACTIVE_STEPS = [step for step in Step if step is not Step.HANDOVER]
EXPECTED = {
    "pay": StartPayment(7, Method.MANUAL),
    "paid": ClaimPayment(7, None),
    "receipt": SendReceipt(5),
}


def session_at(step: Step) -> Session:
    return Session(
        step=step,
        cart=[CartItem("CAKE-CHOC", 2)],
        category="Bakery",
        sku="CAKE-CHOC",
        fulfilment=Fulfilment.PICKUP,
        order_number=1042,
        greeted=True,
    )


@pytest.mark.parametrize("word", list(EXPECTED))
@pytest.mark.parametrize("start", ACTIVE_STEPS)
def test_a_payment_word_works_in_every_step(word: str, start: Step) -> None:
    chat = Chat(make_ctx(orders=(UNPAID, PAID)), session_at(start))
    chat.send(word)
    assert_silent(chat, EXPECTED[word])
    assert chat.session.cart == [CartItem("CAKE-CHOC", 2)]


@pytest.mark.parametrize(
    "message",
    ["pay", "paid", "receipt", Media("image", media_id="media-1"), Choice("pay:1042", "Pay")],
)
def test_handover_stays_silent_about_payments(message: str | Media | Choice) -> None:
    chat = Chat(make_ctx(orders=(UNPAID, PAID)), session_at(Step.HANDOVER))
    turn = chat.send(message)
    assert turn.effects == ()
