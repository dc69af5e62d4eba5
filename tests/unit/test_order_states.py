import itertools

import pytest

from app.errors import IllegalTransition
from app.ordering.states import (
    OPEN_STATUSES,
    ORDER_TRANSITIONS,
    OrderStatus,
    can_transition_order,
    is_unpaid_open,
    transition_order,
)

S = OrderStatus

LEGAL = {
    (S.PENDING_PAYMENT, S.PAID),
    (S.PENDING_PAYMENT, S.CANCELLED),
    (S.PENDING_PAYMENT, S.EXPIRED),
    (S.PAID, S.PREPARING),
    (S.PAID, S.REFUNDED),
    (S.PREPARING, S.READY),
    (S.PREPARING, S.OUT_FOR_DELIVERY),
    (S.READY, S.OUT_FOR_DELIVERY),
    (S.READY, S.COMPLETED),
    (S.OUT_FOR_DELIVERY, S.COMPLETED),
}
ILLEGAL = sorted(set(itertools.product(OrderStatus, repeat=2)) - LEGAL)
TERMINAL = {S.COMPLETED, S.CANCELLED, S.EXPIRED, S.REFUNDED}


def test_status_values_are_stable() -> None:
    # These strings are stored in the database and sent to clients.
    assert [status.value for status in OrderStatus] == [
        "pending_payment",
        "paid",
        "preparing",
        "ready",
        "out_for_delivery",
        "completed",
        "cancelled",
        "expired",
        "refunded",
    ]


def test_every_status_has_an_entry() -> None:
    assert set(ORDER_TRANSITIONS) == set(OrderStatus)


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_transition(current: OrderStatus, target: OrderStatus) -> None:
    assert can_transition_order(current, target)
    assert transition_order(current, target) is target


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_transition(current: OrderStatus, target: OrderStatus) -> None:
    assert not can_transition_order(current, target)
    with pytest.raises(IllegalTransition) as caught:
        transition_order(current, target)
    error = caught.value
    assert (error.entity, error.current, error.target) == ("order", current, target)
    assert error.field == "status"
    assert f"{current} cannot become {target}" in error.message


def test_illegal_matrix_covers_every_other_pair() -> None:
    assert len(LEGAL) + len(ILLEGAL) == len(OrderStatus) ** 2


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_nothing_leaves_a_terminal_status(status: OrderStatus) -> None:
    assert ORDER_TRANSITIONS[status] == frozenset()


def test_open_statuses_are_the_non_terminal_ones() -> None:
    assert set(OrderStatus) - TERMINAL == OPEN_STATUSES


@pytest.mark.parametrize("status", list(OrderStatus))
def test_only_pending_payment_is_unpaid_open(status: OrderStatus) -> None:
    assert is_unpaid_open(status) == (status is S.PENDING_PAYMENT)


def test_statuses_parse_from_their_stored_value() -> None:
    assert OrderStatus("out_for_delivery") is S.OUT_FOR_DELIVERY
    assert f"{S.PAID}" == "paid"
