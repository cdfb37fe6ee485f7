"""Adjustments owed to a professional (« régularisations »): recorded when the caisse grants a
payment complaint or a penalty claim, paid by the next liquidation run
(``liquidation.pay_adjustments``). Nothing here commits: the caller's use case does."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from amelipro.auth.models import Professional
from amelipro.db import utcnow
from amelipro.thirdparty.models import Adjustment, Payment, PaymentTransition

KIND_COMPLAINT = "reclamation"
KIND_PENALTIES = "penalites"
EVENT_GRANTED = "regul_accordee"
KIND_LABELS = {KIND_COMPLAINT: "Réclamation de paiement accordée",
               KIND_PENALTIES: "Pénalités de retard accordées"}


def grant_adjustment(session: Session, *, professional_id: int, amount: Decimal, kind: str,
                     reason: str, source: str, actor: str, payment_id: int | None = None,
                     month: date | None = None) -> Adjustment:
    """Record an amount owed to the professional (and a line in the payment's timeline)."""
    adjustment = Adjustment(professional_id=professional_id, payment_id=payment_id, kind=kind,
                            month=month, amount=amount, reason=reason, source=source,
                            decided_by=actor[:64], decided_at=utcnow())
    session.add(adjustment)
    if payment_id is not None:
        status = session.scalar(select(Payment.status).where(Payment.id == payment_id,
                                                             Payment.professional_id == professional_id))
        session.add(PaymentTransition(
            payment_id=payment_id, event=EVENT_GRANTED, from_status=status.value, to_status=status.value,
            actor=actor[:64],
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
