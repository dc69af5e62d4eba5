"""A small shop and a chat driver for the pure conversation tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.conversation.effects import Effect, Outcome, Reply, Turn
from app.conversation.inputs import Choice, Input, Text
from app.conversation.machine import after, step
from app.conversation.session import Session
from app.conversation.view import CatalogSnapshot, Context, OrderView, ProductView
from app.ordering.values import ShopTerms
from app.whatsapp.outgoing import (
    OutgoingMessage,
    Recipient,
    choices,
    from_cloud_body,
    render_plain,
    to_cloud_body,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TERMS = ShopTerms(currency="USD", prices_include_tax=False, delivery_fee=300, payment_minutes=30)
PAYMENT_INSTRUCTIONS = "Transfer to ACME Bank, account 12-3456-7890."


def product(sku: str, name: str, category: str, price: int, **fields: Any) -> ProductView:
    return ProductView(sku=sku, name=name, category=category, price=price, **fields)


CATALOG = CatalogSnapshot(
    (
        product("CAKE-CHOC", "Chocolate cake", "Bakery", 1250, description="Rich and dark."),
        product("CROISSANT", "Butter croissant", "Bakery", 250, stock=12),
        product("BREAD", "Sourdough bread", "Bakery", 450, stock=0),
        product("CAKE-CARROT", "Carrot cake", "Bakery", 1100, available=False),
        product("MILK", "Whole milk 1 l", "Dairy", 120, tax_rate_bp=800),
        product("OAT-MILK", "Oat milk 1 l", "Dairy", 300, stock=5),
        product("TEA", "Green tea", "Drinks", 400),
    )
)

PENDING = OrderView(
    id=7,
    number=1042,
    status="pending_payment",
    total=2800,
    currency="USD",
    placed_at=NOW - timedelta(minutes=5),
    items=(("CAKE-CHOC", "Chocolate cake", 2), ("TEA", "Green tea", 1)),
    payment_reference="7KQ2-M9X7",
)
COMPLETED = OrderView(
    id=3,
    number=1001,
    status="completed",
    total=1150,
    currency="USD",
    placed_at=NOW - timedelta(days=9),
    items=(("BREAD", "Sourdough bread", 1), ("CROISSANT", "Butter croissant", 3)),
)


def make_ctx(**changes: Any) -> Context:
    ctx = Context(
        catalog=CATALOG,
        orders=(),
        terms=TERMS,
        locale="en_US",
        shop_name="Corner Shop",
        payment_instructions=PAYMENT_INSTRUCTIONS,
        now=NOW,
    )
    return replace(ctx, **changes)


RECIPIENT = Recipient(wa_id="15551234567", user_id=None)


def replies(turn: Turn) -> list[OutgoingMessage]:
    return [effect.message for effect in turn.effects if isinstance(effect, Reply)]


def others(turn: Turn) -> list[Effect]:
    return [effect for effect in turn.effects if not isinstance(effect, Reply)]


class Chat:
    """Drives the machine like the handler does, one message at a time."""

    def __init__(self, ctx: Context | None = None, session: Session | None = None) -> None:
        self.ctx = ctx or make_ctx()
        self.session = session or Session.new()
        self.turn: Turn | None = None

    def send(self, message: Input | str) -> Turn:
        if isinstance(message, str):
            message = Text(message)
        self.turn = step(self.session, message, self.ctx)
        return self._keep(self.turn)

    def tap(self, choice_id: str) -> Turn:
        """Tap a choice of the last reply (the id must be on offer)."""
        offered = dict(self.options)
        assert choice_id in offered, f"{choice_id!r} not among {list(offered)}"
        return self.send(Choice(choice_id, offered[choice_id]))

    def tap_title(self, title: str) -> Turn:
        by_title = {t: i for i, t in self.options}
        assert title in by_title, f"{title!r} not among {list(by_title)}"
        return self.tap(by_title[title])

    def report(self, outcome: Outcome) -> Turn:
        self.turn = after(self.session, outcome, self.ctx)
        return self._keep(self.turn)

    def _keep(self, turn: Turn) -> Turn:
        self.session = turn.session
        for message in replies(turn):
            # Every reply is a valid Cloud API body, and reads back the same.
            assert from_cloud_body(to_cloud_body(message, RECIPIENT)) == message
        return turn

    @property
    def reply(self) -> OutgoingMessage:
        assert self.turn is not None
        found = replies(self.turn)
        assert len(found) == 1, f"expected one reply, got {len(found)}"
        return found[0]

    @property
    def text(self) -> str:
        return render_plain(self.reply)

    @property
    def options(self) -> list[tuple[str, str]]:
        return choices(self.reply)

    @property
    def ids(self) -> list[str]:
        return [choice_id for choice_id, _ in self.options]

    @property
    def step(self) -> str:
        return self.session.step.value


@pytest.fixture
def chat() -> Chat:
    return Chat()
