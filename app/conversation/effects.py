"""What a turn asks the handler to do (effects) and what the handler reports back (outcomes).

Effects are commands, named as verbs; outcomes are what happened, in the past tense.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.conversation.session import Session
from app.ordering.pricing import CartTotals
from app.ordering.values import CartLine, Destination, Fulfilment
from app.whatsapp.outgoing import OutgoingMessage


@dataclass(frozen=True, slots=True)
class Reply:
    message: OutgoingMessage


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Place the order (the handler calls ``after`` with OrderPlaced or OrderRefused)."""

    lines: tuple[CartLine, ...]
    fulfilment: Fulfilment
    destination: Destination | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Cancel an unpaid order (the handler reports OrderCancelled or CancelRefused)."""

    order_id: int


@dataclass(frozen=True, slots=True)
class StartHandover:
    """Mark the customer as served by a person; the bot stays silent until staff end it."""


Effect = Reply | PlaceOrder | CancelOrder | StartHandover


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    order_id: int
    number: int
    totals: CartTotals
    payment_reference: str
    expires_at: datetime  # in the shop's time zone: the customer reads it as is


@dataclass(frozen=True, slots=True)
class OrderRefused:
    reason: str  # the domain error's message (out of stock, product gone, …)


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    number: int


@dataclass(frozen=True, slots=True)
class CancelRefused:
    number: int
    reason: str


Outcome = OrderPlaced | OrderRefused | OrderCancelled | CancelRefused


@dataclass(frozen=True, slots=True)
class Turn:
    """The session to store and the effects to perform, in order.

    At most one effect is a ``Reply``. A turn that places or cancels an order carries no
    reply: the reply comes from ``after`` with the outcome, so the customer still gets one
    message for one step.
    """

    session: Session
    effects: tuple[Effect, ...]

    @property
    def replies(self) -> tuple[Reply, ...]:
        return tuple(effect for effect in self.effects if isinstance(effect, Reply))
