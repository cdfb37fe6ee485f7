"""The whole (status × event) table of tiers-payant payment transitions."""

from __future__ import annotations

import itertools

import pytest

from amelipro.thirdparty.states import (
    AlreadyAcceptedError,
    AlreadyLiquidatedError,
    AlreadyPaidError,
    AlreadyRejectedError,
    AlreadyResubmittedError,
    NotAcceptedError,
    NotLiquidatedError,
    PaymentEvent,
    PaymentStatus,
    ResubmitNotRejectedError,
    TransitionError,
    next_status,
)

S, E = PaymentStatus, PaymentEvent

# Each row: status -> {event: resulting status or the specific error}.
TABLE = {
    S.RECEIVED: {
        E.ACKNOWLEDGE: S.ACCEPTED,
        E.LIQUIDATE: NotAcceptedError,
        E.PAY: NotLiquidatedError,
        E.PAY_ADJUSTED: NotLiquidatedError,
        E.REJECT: NotLiquidatedError,
        E.RESUBMIT: ResubmitNotRejectedError,
    },
    S.ACCEPTED: {
        E.ACKNOWLEDGE: AlreadyAcceptedError,
        E.LIQUIDATE: S.LIQUIDATED,
        E.PAY: NotLiquidatedError,
        E.PAY_ADJUSTED: NotLiquidatedError,
        E.REJECT: NotLiquidatedError,
        E.RESUBMIT: ResubmitNotRejectedError,
    },
    S.LIQUIDATED: {
        E.ACKNOWLEDGE: AlreadyAcceptedError,
        E.LIQUIDATE: AlreadyLiquidatedError,
        E.PAY: S.PAID,
        E.PAY_ADJUSTED: S.ADJUSTED,
        E.REJECT: S.REJECTED,
        E.RESUBMIT: ResubmitNotRejectedError,
    },
    S.PAID: {
        E.ACKNOWLEDGE: AlreadyAcceptedError,
        E.LIQUIDATE: AlreadyLiquidatedError,
        E.PAY: AlreadyPaidError,  # paying twice
        E.PAY_ADJUSTED: AlreadyPaidError,
        E.REJECT: AlreadyPaidError,
        E.RESUBMIT: ResubmitNotRejectedError,
    },
    S.ADJUSTED: {
        E.ACKNOWLEDGE: AlreadyAcceptedError,
        E.LIQUIDATE: AlreadyLiquidatedError,
        E.PAY: AlreadyPaidError,
        E.PAY_ADJUSTED: AlreadyPaidError,
        E.REJECT: AlreadyPaidError,
        E.RESUBMIT: ResubmitNotRejectedError,
    },
    S.REJECTED: {
        E.ACKNOWLEDGE: AlreadyAcceptedError,
        E.LIQUIDATE: AlreadyRejectedError,
        E.PAY: AlreadyRejectedError,
        E.PAY_ADJUSTED: AlreadyRejectedError,
        E.REJECT: AlreadyRejectedError,
        E.RESUBMIT: S.RESUBMITTED,
    },
    S.RESUBMITTED: {
        E.ACKNOWLEDGE: AlreadyAcceptedError,
        E.LIQUIDATE: AlreadyRejectedError,
        E.PAY: AlreadyRejectedError,
        E.PAY_ADJUSTED: AlreadyRejectedError,
        E.REJECT: AlreadyRejectedError,
        E.RESUBMIT: AlreadyResubmittedError,
    },
}


def test_table_covers_every_pair():
    assert set(TABLE) == set(PaymentStatus)
    for row in TABLE.values():
        assert set(row) == set(PaymentEvent)


@pytest.mark.parametrize(
    ("status", "event"), list(itertools.product(PaymentStatus, PaymentEvent)), ids=lambda v: v.value
)
def test_transition(status, event):
    expected = TABLE[status][event]
    if isinstance(expected, PaymentStatus):
        assert next_status(status, event) is expected
    else:
        with pytest.raises(expected) as info:
            next_status(status, event)
        error = info.value
        assert type(error) is expected  # the specific error, not a parent
        assert isinstance(error, TransitionError)
        assert error.from_status is status and error.event is event
        body = error.as_dict()
        assert body["code"].startswith("TP-STA-") and body["status"] == status.value
        assert error.status == 409


def test_paying_twice_is_its_own_error():
    status = next_status(next_status(next_status(S.RECEIVED, E.ACKNOWLEDGE), E.LIQUIDATE), E.PAY)
    with pytest.raises(AlreadyPaidError) as info:
        next_status(status, E.PAY)
    assert info.value.code == "TP-STA-002"


def test_labels_for_practice_software():
    assert {s.software_label for s in PaymentStatus} == {"EN COURS", "ACQUITTÉ", "REJETÉ", "ANOMALIE"}
    assert all(s.label for s in PaymentStatus) and all(e.label for e in PaymentEvent)
    assert S.ACCEPTED.is_pending and not S.PAID.is_pending and S.PAID.is_final
