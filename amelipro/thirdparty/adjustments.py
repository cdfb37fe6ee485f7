"""Adjustments owed to a professional (« régularisations »): recorded when the caisse grants a
payment complaint or a penalty claim (:func:`grant_adjustment`, no commit: the caller's use
case commits), paid by the next liquidation run with that day's virement
(:func:`pay_adjustments`, one transaction)."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from amelipro import clock
from amelipro.account.banking import has_account_in_force
from amelipro.auth.models import Professional
from amelipro.filters import euros
from amelipro.thirdparty.models import Adjustment, AdjustmentStatus, Payment, PaymentTransition
from amelipro.thirdparty.virements import ensure_virements, value_date_for
from amelipro.thirdparty.writes import CLAIM_COUNTER, RSP_COUNTER, bump_counter, is_postgresql

ZERO = Decimal("0.00")


class AdjustmentKind(enum.StrEnum):
    """Why the caisse owes the amount (stored in ``tp_adjustment.kind``)."""

    COMPLAINT = "reclamation"  # a payment complaint granted
    PENALTIES = "penalites"  # a claim for late-payment penalties granted


class AdjustmentEvent(enum.StrEnum):
    """The lines an adjustment adds to its payment's timeline (``tp_transition.event``)."""

    GRANTED = "regul_accordee"
    PAID = "regul_payee"


KIND_COMPLAINT = AdjustmentKind.COMPLAINT
KIND_PENALTIES = AdjustmentKind.PENALTIES


def grant_adjustment(session: Session, *, professional_id: int, amount: Decimal, kind: str,
                     reason: str, source: str, actor: str, payment_id: int | None = None,
                     month: date | None = None) -> Adjustment:
    """Record an amount owed to the professional (and a line in the payment's timeline)."""
    adjustment = Adjustment(professional_id=professional_id, payment_id=payment_id,
                            kind=AdjustmentKind(kind).value, month=month, amount=amount, reason=reason,
                            source=source, decided_by=actor[:64], decided_at=clock.utcnow())
    session.add(adjustment)
    if payment_id is not None:
        status = session.scalar(select(Payment.status).where(Payment.id == payment_id,
                                                             Payment.professional_id == professional_id))
        session.add(PaymentTransition(
            payment_id=payment_id, event=AdjustmentEvent.GRANTED.value, from_status=status.value,
            to_status=status.value, actor=actor[:64],
            cause=f"Réclamation accordée par la caisse : régularisation de {amount:.2f} €, "
                  "payée à la prochaine liquidation.",
        ))
    session.flush()
    return adjustment


def list_adjustments(session: Session, pro: Professional, *, payment_id: int | None = None,
                     limit: int = 100) -> list[Adjustment]:
    stmt = (select(Adjustment).options(selectinload(Adjustment.virement), selectinload(Adjustment.payment))
            .where(Adjustment.professional_id == pro.id).order_by(Adjustment.id.desc()).limit(limit))
    if payment_id is not None:
        stmt = stmt.where(Adjustment.payment_id == payment_id)
    return list(session.scalars(stmt))


def pay_adjustments(session: Session, *, today: date, actor: str) -> tuple[int, Decimal]:
    """Pay every granted adjustment (``tp_adjustment``, status DUE) with the day's virement of
    its professional, and publish it in the returns feed (cursor from the RSP counter). One
    transaction (commits); on PostgreSQL claimed with SKIP LOCKED like the FSE."""
    # Like the FSE: nobody is paid without a bank account in force on the liquidation day.
    stmt = (select(Adjustment)
            .where(Adjustment.status == AdjustmentStatus.DUE,
                   has_account_in_force(Adjustment.professional_id, today))
            .order_by(Adjustment.id))
    if is_postgresql(session):
        stmt = stmt.with_for_update(skip_locked=True)
    else:
        bump_counter(session, CLAIM_COUNTER, 1)  # SQLite: the write lock first
    due = list(session.scalars(stmt))
    if not due:
        session.rollback()
        return 0, ZERO
    value_date = value_date_for(today)
    now = clock.utcnow()
    virement_ids = ensure_virements(session, sorted({a.professional_id for a in due}), value_date, now,
                                    today)
    last = bump_counter(session, RSP_COUNTER, len(due))
    total = ZERO
    for offset, adjustment in enumerate(due):
        adjustment.status = AdjustmentStatus.PAID
        adjustment.liquidated_on = today
        adjustment.paid_on = value_date
        adjustment.virement_id = virement_ids[adjustment.professional_id]
        adjustment.cursor = last - len(due) + 1 + offset
        total += adjustment.amount
        if adjustment.payment_id is not None:
            status = session.scalar(select(Payment.status).where(Payment.id == adjustment.payment_id))
            session.add(PaymentTransition(
                payment_id=adjustment.payment_id, at=now, event=AdjustmentEvent.PAID.value,
                from_status=status.value, to_status=status.value, actor=actor,
                cause=f"Régularisation de {euros(adjustment.amount)} payée par virement, "
                      f"valeur {value_date:%d/%m/%Y}.",
            ))
    session.commit()
    return len(due), total
