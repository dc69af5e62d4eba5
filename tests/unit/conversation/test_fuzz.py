"""Random conversations: one reply per message, never an exception, sessions stay storable."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.conversation.effects import (
    CancelOrder,
    CancelRefused,
    ClaimPayment,
    ClaimState,
    OrderCancelled,
    OrderPlaced,
    OrderRefused,
    PaymentClaimed,
    PaymentReady,
    PaymentRefused,
    PlaceOrder,
    ReceiptMissing,
    ReceiptSent,
    SendReceipt,
    StartPayment,
)
from app.conversation.inputs import CatalogOrder, Choice, Input, Location, Media, Text, Unsupported
from app.conversation.session import CartItem, Session, Step
from app.ordering.pricing import price_cart

from .conftest import COMPLETED, NOW, PENDING, TERMS, Chat, make_ctx, replies

WORDS = [
    "hi",
    "menu",
    "cart",
    "status",
    "help",
    "cancel",
    "checkout",
    "browse",
    "orders",
    "reorder",
    "reorder 1001",
    "status 1042",
    "pay",
    "paid",
    "paid 1042",
    "receipt",
    "receipt 1001",
    "1042",
    "back",
    "yes",
    "delivery",
    "pickup",
    "2",
    "x3",
    "0",
    "-3",
    "1000000000",
    "abc",
    "",
    "chocolate",
    "milk",
    "choclate cake",
    "12 Main Street",
    "confirm order",
    "more",
    "remove",
    "add 1",
    "🙂",
    "human",
]
CHOICE_IDS = [
    "browse",
    "cart",
    "checkout",
    "edit",
    "clear",
    "fix",
    "confirm",
    "menu",
    "orders",
    "search",
    "shop",
    "back",
    "cat:Bakery",
    "cat:Gone",
    "prod:TEA",
    "prod:BREAD",
    "prod:GONE",
    "add:OAT-MILK:3",
    "add:TEA:1",
    "qty:CROISSANT",
    "line:TEA",
    "remove:TEA",
    "page:1",
    "ful:delivery",
    "ful:pickup",
    "order:1042",
    "cancel:1042",
    "cancel-yes:1042",
    "cancel:1001",
    "keep:1042",
    "reorder:1001",
    "???",
]

inputs: st.SearchStrategy[Input] = st.one_of(
    st.sampled_from(WORDS).map(Text),
    st.text(max_size=30).map(Text),
    st.sampled_from(CHOICE_IDS).map(lambda i: Choice(i, i)),
    # Tapping what the last reply offered is what customers do most.
    *[st.integers(0, 9).map(lambda n: Choice(f"@{n}", ""))] * 4,
    st.sampled_from(["checkout", "pickup", "delivery", "yes", "confirm order"]).map(Text),
    st.builds(Location, st.floats(-100, 100), st.floats(-200, 200), st.none(), st.none()),
    st.builds(
        CatalogOrder,
        st.lists(
            st.tuples(st.sampled_from(["TEA", "MILK", "BREAD", "GONE"]), st.integers(-2, 2000)),
            max_size=4,
        ).map(tuple),
        st.text(max_size=10),
    ),
    st.sampled_from(["image", "sticker"]).map(lambda k: Media(k, None)),
    st.sampled_from(["image", "document"]).map(lambda k: Media(k, "proof", "MEDIA-1", "image/png")),
    st.sampled_from(["reaction", "unsupported"]).map(Unsupported),
)


def tapped(chat: Chat, message: Input) -> Input:
    if isinstance(message, Choice) and message.id.startswith("@"):
        offered = chat.session.options
        if offered:
            choice_id, title = offered[int(message.id[1:]) % len(offered)]
            return Choice(choice_id, title)
        return Text("menu")
    return message


# Effects whose reply comes from ``after`` once the handler reports the outcome.
REQUESTS = PlaceOrder | CancelOrder | StartPayment | ClaimPayment | SendReceipt


def settle(chat: Chat, effect: object, succeed: bool) -> None:
    if isinstance(effect, PlaceOrder):
        totals = price_cart(
            [], currency="USD", prices_include_tax=False, delivery_fee=TERMS.delivery_fee
        )
        outcome = (
            OrderPlaced(9, 2000, totals, "ABCD-1234", NOW + timedelta(minutes=30))
            if succeed
            else OrderRefused("Out of stock.")
        )
        assert len(replies(chat.report(outcome))) == 1
    if isinstance(effect, CancelOrder):
        cancelled = OrderCancelled(1042) if succeed else CancelRefused(1042, "Too late.")
        assert len(replies(chat.report(cancelled))) == 1
    if isinstance(effect, StartPayment):
        ready = PaymentReady(1042, effect.method, "7KQ2-M9X7", 2800, NOW + timedelta(minutes=30))
        started = ready if succeed else PaymentRefused(1042, "The order expired.")
        assert len(replies(chat.report(started))) == 1
    if isinstance(effect, ClaimPayment):
        claimed = PaymentClaimed(1042, ClaimState.CLAIMED if succeed else ClaimState.AGAIN)
        assert len(replies(chat.report(claimed))) == 1
    if isinstance(effect, SendReceipt):
        # A sent receipt is its own answer; a missing one gets a reply.
        outcome = ReceiptSent(1001) if succeed else ReceiptMissing(1001)
        assert len(replies(chat.report(outcome))) == (0 if succeed else 1)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(inputs, st.booleans()), min_size=1, max_size=25),
    st.booleans(),
    st.booleans(),
)
def test_any_conversation_gets_one_reply_per_message(
    script: list[tuple[Input, bool]], has_orders: bool, has_cart: bool
) -> None:
    cart = [CartItem("TEA", 1), CartItem("OAT-MILK", 2)] if has_cart else []
    chat = Chat(make_ctx(orders=(PENDING, COMPLETED) if has_orders else ()), Session(cart=cart))
    for raw, succeed in script:
        before = chat.session.step
        turn = chat.send(tapped(chat, raw))  # Chat also checks every reply's Cloud API body
        event(f"step {chat.session.step}")
        if before is Step.HANDOVER:
            assert turn.effects == ()
            continue
        requests = [e for e in turn.effects if isinstance(e, REQUESTS)]
        assert len(replies(turn)) == (0 if requests else 1)
        assert Session.from_json(chat.session.to_json()) == chat.session
        for effect in requests:
            if isinstance(effect, PlaceOrder):
                assert_orderable(chat, effect)
            settle(chat, effect, succeed)


def assert_orderable(chat: Chat, order: PlaceOrder) -> None:
    """The machine only asks to place what the catalog can sell right now."""
    assert order.lines
    for line in order.lines:
        product = chat.ctx.catalog.get(line.sku)
        assert product is not None
        assert product.sellable
        assert 1 <= line.quantity <= product.max_quantity
    if order.fulfilment == "delivery":
        assert order.destination is not None
        assert not order.destination.is_empty
