import itertools

import pytest

from app.errors import IllegalTransition
from app.payments.states import (
    PAYMENT_TRANSITIONS,
    PaymentStatus,
    can_transition_payment,
    transition_payment,
)

S = PaymentStatus

LEGAL = {
    (S.PENDING, S.AWAITING_VERIFICATION),
    (S.PENDING, S.CONFIRMED),
    (S.PENDING, S.FAILED),
    (S.PENDING, S.EXPIRED),
    (S.AWAITING_VERIFICATION, S.CONFIRMED),
    (S.AWAITING_VERIFICATION, S.FAILED),
    # Money that arrives for an attempt that can no longer take it is flagged for refund.
    (S.PENDING, S.REFUND_DUE),
    (S.AWAITING_VERIFICATION, S.REFUND_DUE),
    (S.FAILED, S.REFUND_DUE),
    (S.EXPIRED, S.REFUND_DUE),
    # … or confirmed, when the gateway took money on a link the order can still use.
    (S.FAILED, S.CONFIRMED),
    (S.EXPIRED, S.CONFIRMED),
}
ILLEGAL = sorted(set(itertools.product(PaymentStatus, repeat=2)) - LEGAL)


def test_status_values_are_stable() -> None:
    # These strings are stored in the database and sent to clients.
    assert [status.value for status in PaymentStatus] == [
        "pending",
        "awaiting_verification",
        "confirmed",
        "failed",
        "expired",
        "refund_due",
    ]


def test_every_status_has_an_entry() -> None:
    assert set(PAYMENT_TRANSITIONS) == set(PaymentStatus)


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_transition(current: PaymentStatus, target: PaymentStatus) -> None:
    assert can_transition_payment(current, target)
    assert transition_payment(current, target) is target


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_transition(current: PaymentStatus, target: PaymentStatus) -> None:
    assert not can_transition_payment(current, target)
    with pytest.raises(IllegalTransition) as caught:
        transition_payment(current, target)
    error = caught.value
    assert (error.entity, error.current, error.target) == ("payment", current, target)
    assert f"{current} cannot become {target}" in error.message


def test_illegal_matrix_covers_every_other_pair() -> None:
    assert len(LEGAL) + len(ILLEGAL) == len(PaymentStatus) ** 2


@pytest.mark.parametrize("status", [S.CONFIRMED, S.REFUND_DUE])
def test_terminal_statuses_have_no_way_out(status: PaymentStatus) -> None:
    assert PAYMENT_TRANSITIONS[status] == frozenset()


@pytest.mark.parametrize("status", [S.FAILED, S.EXPIRED])
def test_a_closed_attempt_only_takes_money_that_arrives_anyway(status: PaymentStatus) -> None:
    assert PAYMENT_TRANSITIONS[status] == frozenset({S.CONFIRMED, S.REFUND_DUE})


def test_awaiting_verification_does_not_expire() -> None:
    assert not can_transition_payment(S.AWAITING_VERIFICATION, S.EXPIRED)
