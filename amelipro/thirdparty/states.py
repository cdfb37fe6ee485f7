"""Tiers-payant payment states: a status enum, events, and one pure transition function.

Modelled on indico's payment transactions: ``next_status(status, event)`` says what the
next status is, or raises a *specific* error for an impossible transition (paying twice,
paying a rejected invoice...). No database here: the service records each transition it
applies in an append-only history (``models.PaymentTransition``).

    RECEIVED --acknowledge--> ACCEPTED --liquidate--> LIQUIDATED --pay--> PAID
                                                          |--pay_adjusted--> ADJUSTED
                                                          '--reject--> REJECTED --resubmit--> RESUBMITTED
"""

from __future__ import annotations

import enum

from amelipro.codes import AmeliproError, ErrorCode
from amelipro.thirdparty import errors


class PaymentStatus(enum.StrEnum):
    RECEIVED = "recue"  # stored, positive acknowledgement not yet given
    ACCEPTED = "acceptee"  # positive acknowledgement: the 7 working days run
    LIQUIDATED = "liquidee"  # priced by the caisse, decision pending
    PAID = "payee"  # ACQUITTÉ
    ADJUSTED = "ajustee"  # paid with an adjustment (ANOMALIE)
    REJECTED = "rejetee"  # REJETÉ, with a caisse code
    RESUBMITTED = "renvoyee"  # rejected, then corrected and sent again (linked)

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def software_label(self) -> str:
        """The word practice software shows (EN COURS, ACQUITTÉ, REJETÉ, ANOMALIE)."""
        return SOFTWARE_LABELS[self]

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES

    @property
    def is_pending(self) -> bool:
        return self in PENDING_STATUSES


STATUS_LABELS = {
    PaymentStatus.RECEIVED: "Reçue",
    PaymentStatus.ACCEPTED: "En attente",
    PaymentStatus.LIQUIDATED: "Liquidée",
    PaymentStatus.PAID: "Payée",
    PaymentStatus.ADJUSTED: "Payée avec ajustement",
    PaymentStatus.REJECTED: "Rejetée",
    PaymentStatus.RESUBMITTED: "Corrigée et renvoyée",
}
SOFTWARE_LABELS = {
    PaymentStatus.RECEIVED: "EN COURS",
    PaymentStatus.ACCEPTED: "EN COURS",
    PaymentStatus.LIQUIDATED: "EN COURS",
    PaymentStatus.PAID: "ACQUITTÉ",
    PaymentStatus.ADJUSTED: "ANOMALIE",
    PaymentStatus.REJECTED: "REJETÉ",
    PaymentStatus.RESUBMITTED: "REJETÉ",
}
PENDING_STATUSES = frozenset({PaymentStatus.RECEIVED, PaymentStatus.ACCEPTED, PaymentStatus.LIQUIDATED})
PAID_STATUSES = frozenset({PaymentStatus.PAID, PaymentStatus.ADJUSTED})
REJECTED_STATUSES = frozenset({PaymentStatus.REJECTED, PaymentStatus.RESUBMITTED})
FINAL_STATUSES = PAID_STATUSES | {PaymentStatus.RESUBMITTED}


class ReturnStatus(enum.StrEnum):
    """The caisse's answer for one liquidated FSE, as published in the returns (RSP)."""

    PAID = "paye"
    REJECTED = "rejete"
    ADJUSTED = "ajuste"

    @property
    def label(self) -> str:
        return RETURN_LABELS[self]

    @property
    def event(self) -> PaymentEvent:
        """The payment's event after its liquidation (pay, pay_adjusted or reject)."""
        return RETURN_EVENTS[self]


RETURN_LABELS = {
    ReturnStatus.PAID: "Payée",
    ReturnStatus.REJECTED: "Rejetée",
    ReturnStatus.ADJUSTED: "Payée avec ajustement",
}


class PaymentEvent(enum.StrEnum):
    ACKNOWLEDGE = "acknowledge"  # positive ARL
    LIQUIDATE = "liquidate"  # the caisse prices the FSE
    PAY = "pay"  # paid in full
    PAY_ADJUSTED = "pay_adjusted"  # paid, amount differs from the claim
    REJECT = "reject"  # rejected with a caisse code
    RESUBMIT = "resubmit"  # a corrected FSE replaces this rejected one

    @property
    def label(self) -> str:
        return EVENT_LABELS[self]


EVENT_LABELS = {
    PaymentEvent.ACKNOWLEDGE: "Accusé de réception positif",
    PaymentEvent.LIQUIDATE: "Liquidation",
    PaymentEvent.PAY: "Paiement",
    PaymentEvent.PAY_ADJUSTED: "Paiement avec ajustement",
    PaymentEvent.REJECT: "Rejet",
    PaymentEvent.RESUBMIT: "Correction et renvoi",
}


RETURN_EVENTS = {
    ReturnStatus.PAID: PaymentEvent.PAY,
    ReturnStatus.ADJUSTED: PaymentEvent.PAY_ADJUSTED,
    ReturnStatus.REJECTED: PaymentEvent.REJECT,
}


class TransitionError(AmeliproError):
    """An event that does not apply to the current status."""

    error_code: ErrorCode = errors.TRANSITION_INVALID

    def __init__(self, status: PaymentStatus, event: PaymentEvent) -> None:
        super().__init__(
            self.error_code,
            f"{event.label} impossible : la facture est « {status.label} ».",
            status=status.value,
            event=event.value,
        )
        self.from_status = status
        self.event = event


class AlreadyPaidError(TransitionError):
    error_code = errors.ALREADY_PAID


class AlreadyRejectedError(TransitionError):
    error_code = errors.ALREADY_REJECTED


class NotLiquidatedError(TransitionError):
    error_code = errors.NOT_LIQUIDATED


class NotAcceptedError(TransitionError):
    error_code = errors.NOT_ACCEPTED


class AlreadyAcceptedError(TransitionError):
    error_code = errors.ALREADY_ACCEPTED


class AlreadyLiquidatedError(TransitionError):
    error_code = errors.ALREADY_LIQUIDATED


class AlreadyResubmittedError(TransitionError):
    error_code = errors.ALREADY_RESUBMITTED


class ResubmitNotRejectedError(TransitionError):
    error_code = errors.RESUBMIT_NOT_REJECTED


S, E = PaymentStatus, PaymentEvent

# The only allowed transitions.
TRANSITIONS: dict[tuple[PaymentStatus, PaymentEvent], PaymentStatus] = {
    (S.RECEIVED, E.ACKNOWLEDGE): S.ACCEPTED,
    (S.ACCEPTED, E.LIQUIDATE): S.LIQUIDATED,
    (S.LIQUIDATED, E.PAY): S.PAID,
    (S.LIQUIDATED, E.PAY_ADJUSTED): S.ADJUSTED,
    (S.LIQUIDATED, E.REJECT): S.REJECTED,
    (S.REJECTED, E.RESUBMIT): S.RESUBMITTED,
}


def _refusal(status: PaymentStatus, event: PaymentEvent) -> type[TransitionError]:
    """The most precise error for an impossible (status, event) pair."""
    if event is E.ACKNOWLEDGE:
        return AlreadyAcceptedError
    if event is E.RESUBMIT:
        return AlreadyResubmittedError if status is S.RESUBMITTED else ResubmitNotRejectedError
    if status in PAID_STATUSES:
        return AlreadyLiquidatedError if event is E.LIQUIDATE else AlreadyPaidError
    if status in REJECTED_STATUSES:
        return AlreadyRejectedError
    if event is E.LIQUIDATE:
        # only RECEIVED (not acknowledged) or LIQUIDATED remain here
        return NotAcceptedError if status is S.RECEIVED else AlreadyLiquidatedError
    # PAY / PAY_ADJUSTED / REJECT before liquidation
    return NotLiquidatedError


def next_status(status: PaymentStatus, event: PaymentEvent) -> PaymentStatus:
    """The status after ``event``; raises a :class:`TransitionError` subclass if impossible."""
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise _refusal(status, event)(status, event) from None
