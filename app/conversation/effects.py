"""What a turn asks the handler to do (effects) and what the handler reports back (outcomes).

Effects are commands, named as verbs; outcomes are what happened, in the past tense.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.conversation.session import Session
from app.ordering.pricing import CartTotals
from app.ordering.values import CartLine, Destination, Fulfilment
from app.payments.providers import Method, Proof
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


@dataclass(frozen=True, slots=True)
class StartPayment:
    """Get payment instructions (reports PaymentReady or PaymentRefused)."""

    order_id: int
    method: Method


@dataclass(frozen=True, slots=True)
class ClaimPayment:
    """The customer says they paid, maybe with a proof (reports PaymentClaimed)."""

    order_id: int
    proof: Proof | None = None


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """Send the order's receipt again (reports ReceiptSent or ReceiptMissing)."""

    order_id: int


Effect = (
    Reply | PlaceOrder | CancelOrder | StartHandover | StartPayment | ClaimPayment | SendReceipt
)


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    order_id: int
    number: int
    totals: CartTotals
    payment_reference: str | None  # None: the customer chooses how to pay next
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


@dataclass(frozen=True, slots=True)
class PaymentReady:
    number: int
    method: Method
    reference: str
    amount: int
    expires_at: datetime  # in the shop's time zone
    checkout_url: str | None = None
    fallback: bool = False  # a card was asked for; the manual method is given instead


@dataclass(frozen=True, slots=True)
class PaymentRefused:
    number: int
    reason: str


class ClaimState(StrEnum):
    CLAIMED = "claimed"  # a person will check the payment
    AGAIN = "again"  # they said so before
    PROOF = "proof"  # a proof was attached
    CARD_CONFIRMED = "card_confirmed"  # the gateway says paid: the receipt follows
    CARD_PENDING = "card_pending"  # the gateway has not seen the money
    NOTHING_OPEN = "nothing_open"  # no attempt to claim: the customer should ask to pay


@dataclass(frozen=True, slots=True)
class PaymentClaimed:
    number: int
    state: ClaimState
    reference: str | None = None
    checkout_url: str | None = None


@dataclass(frozen=True, slots=True)
class ReceiptSent:
    number: int


@dataclass(frozen=True, slots=True)
class ReceiptMissing:
    number: int


Outcome = (
    OrderPlaced
    | OrderRefused
    | OrderCancelled
    | CancelRefused
    | PaymentReady
    | PaymentRefused
    | PaymentClaimed
    | ReceiptSent
    | ReceiptMissing
)


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
