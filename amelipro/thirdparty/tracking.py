"""Following accepted tiers-payant FSE: each one gets its payment row when its lot is recorded.

- :func:`track_lot` (the FSE package's ``on_recorded`` hook, in the lot's transaction, given
  the rows just recorded; :func:`track_recorded` given FSE ids, for FSE inserted otherwise):
  every accepted FSE in tiers payant (AMO) gets its payment row, status ACCEPTED, day 0 =
  the date of the positive acknowledgement of its lot; a corrected FSE marks the rejected
  payment it replaces as RESUBMITTED (linked). One batched insert per lot, never one per FSE, and
  never while a page is rendered.
- :func:`track_accepted`: the backfill of accepted FSE that have no payment yet (FSE recorded
  before payments came with their lot, or inserted in bulk by the demo tools); run by
  migration 0011 and by ``amelipro thirdparty liquidate``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from amelipro import clock
from amelipro.fse.models import FseStatus, Lot, StoredFse
from amelipro.thirdparty import calendar
from amelipro.thirdparty.models import Payment, PaymentTransition
from amelipro.thirdparty.states import PaymentEvent, PaymentStatus, next_status
from amelipro.thirdparty.writes import (
    INTAKE_COUNTER,
    bulk_insert,
    bump_counter,
    insert_numbered,
    is_postgresql,
    next_ids,
)

ZERO = Decimal("0.00")
IN_CHUNK = 500  # ids per IN (...) when reading a lot's FSE


def untracked_accepted() -> tuple:
    """Conditions of the accepted tiers-payant FSE that have no payment row yet (to take in),
    for a query on ``StoredFse`` outer-joined to ``Payment`` on ``fse_id``."""
    return (StoredFse.status == FseStatus.ACCEPTED, StoredFse.tiers_payant_amo.is_(True),
            Payment.id.is_(None))


def _untracked_rows() -> Select:
    """Accepted tiers-payant FSE that have no payment row yet, with what a payment needs."""
    return (
        select(
            StoredFse.id, StoredFse.professional_id, StoredFse.invoice_number,
            StoredFse.patient_nir, StoredFse.first_care_date, StoredFse.corrects_id,
            StoredFse.charged_sent, StoredFse.base_sent, StoredFse.amo_sent,
            StoredFse.charged_computed, StoredFse.base_computed, StoredFse.amo_computed,
            Lot.received_at, Lot.id.label("lot_id"),
        )
        .join(Lot, Lot.id == StoredFse.lot_id)
        .outerjoin(Payment, Payment.fse_id == StoredFse.id)
        .where(*untracked_accepted())
        .order_by(StoredFse.id)
    )


def track_recorded(session: Session, fse_ids: Sequence[int], actor: str) -> int:
    """Create the payment rows of FSE being recorded, given their ids (the caller's
    transaction; no commit): FSE inserted otherwise than by a lot (the demo tools, tests), as
    :func:`track_lot` does for a lot's, so that an accepted tiers-payant FSE has its payment
    ("en attente") from the moment it is recorded and no page ever has to create one. The ids
    are new in this transaction: nobody else can track them.
    """
    ids = list(fse_ids)
    rows = []
    for start in range(0, len(ids), IN_CHUNK):
        rows += session.execute(_untracked_rows().where(StoredFse.id.in_(ids[start:start + IN_CHUNK]))).all()
    return _track_rows(session, rows, actor) if rows else 0  # one batched insert for the lot


class _Recorded(NamedTuple):
    """What a payment needs of an FSE row just recorded (the columns of ``_untracked_rows``)."""

    id: int
    professional_id: int
    invoice_number: str
    patient_nir: str
    first_care_date: date | None
    corrects_id: int | None
    charged_sent: Decimal | None
    base_sent: Decimal | None
    amo_sent: Decimal | None
    charged_computed: Decimal | None
    base_computed: Decimal | None
    amo_computed: Decimal | None
    received_at: datetime
    lot_id: int


#: The ``fse`` columns of a recorded row that make a ``_Recorded`` (the reception time is the
#: row's ``created_at``, its lot's ``received_at``).
_RECORDED_COLUMNS = tuple("created_at" if name == "received_at" else name for name in _Recorded._fields)


def track_lot(session: Session, fses: Sequence[Mapping[str, Any]], actor: str) -> int:
    """The ``on_recorded`` hook: the payment rows of the accepted FSE of a lot being recorded
    (the lot's transaction; no commit), from their rows as recorded (``fse`` columns and
    ``id``): what :func:`track_recorded` would read back, without reading it back.

    The FSE are new in this transaction (no payment yet) and accepted; those in tiers payant
    AMO get their payment. Their reception time is their lot's (``created_at``)."""
    rows = sorted((_Recorded(*(f[column] for column in _RECORDED_COLUMNS))
                   for f in fses if f["tiers_payant_amo"] and f["status"] == FseStatus.ACCEPTED),
                  key=attrgetter("id"))
    return _track_rows(session, rows, actor) if rows else 0  # one batched insert for the lot


def backfill_rows() -> Select:
    """Every accepted tiers-payant FSE without a payment (for migration 0011)."""
    return _untracked_rows()


def track_rows(session: Session, rows: Sequence, actor: str) -> int:
    """Payments of rows of :func:`backfill_rows` (no commit; for migration 0011)."""
    return _track_rows(session, rows, actor) if rows else 0


def track_accepted(
    session: Session, *, professional_id: int | None = None, actor: str = "suivi",
    chunk: int = 5000,
) -> int:
    """Create the payment row of every accepted tiers-payant FSE that has none. Commits.

    A backfill (FSE recorded before payments were created with their lot, or inserted in
    bulk by the demo tools): run by migration 0011 and by ``amelipro thirdparty liquidate``,
    never by a page."""
    total = 0
    while True:
        stmt = _untracked_rows().limit(chunk)
        if professional_id is not None:
            stmt = stmt.where(StoredFse.professional_id == professional_id)
        if total == 0:
            found = session.execute(stmt.limit(1)).first()  # read only: anything to take in?
            session.rollback()
            if found is None:
                return total
        # One intake at a time (row lock held until commit): concurrent intakes never
        # insert the same FSE twice, and this one sees what the previous one committed.
        bump_counter(session, INTAKE_COUNTER, 1)
        rows = session.execute(stmt).all()
        if not rows:
            session.rollback()
            return total
        total += _track_rows(session, rows, actor)
        session.commit()
        if len(rows) < chunk:
            return total


@lru_cache(maxsize=4096)
def _due_date(ack: date) -> date:
    return calendar.due_date(ack)


def _track_rows(session: Session, rows, actor: str) -> int:
    now = clock.utcnow()
    payments = []
    meta = {}
    status = next_status(PaymentStatus.RECEIVED, PaymentEvent.ACKNOWLEDGE).value
    acks: dict[datetime, date] = {}  # a lot's FSE share its reception time
    for r in rows:
        ack = acks.get(r.received_at)
        if ack is None:
            ack = acks[r.received_at] = clock.paris_date(r.received_at)
        amo = r.amo_sent if r.amo_sent is not None else (r.amo_computed or ZERO)
        payments.append({
            "fse_id": r.id, "professional_id": r.professional_id,
            "status": status,
            "invoice_number": r.invoice_number, "patient_nir": r.patient_nir,
            "care_date": r.first_care_date, "acknowledged_on": ack, "due_date": _due_date(ack),
            "charged": r.charged_sent if r.charged_sent is not None else (r.charged_computed or ZERO),
            "base": r.base_sent if r.base_sent is not None else (r.base_computed or ZERO),
            "amo_claimed": amo, "reject_code": "", "created_at": now, "updated_at": now,
        })
        meta[r.id] = r
    if is_postgresql(session):
        # Intakes are serialised by the "intake" counter lock: ids from the sequence, COPY.
        ids = next_ids(session, Payment.__table__, len(payments))
        for payment_id, payment in zip(ids, payments, strict=True):
            payment["id"] = payment_id
        bulk_insert(session, Payment.__table__, payments)
        created = [(p["id"], p["fse_id"]) for p in payments]
    else:
        # The rows come from _untracked_rows in this transaction: none has a payment yet.
        created = insert_numbered(session, Payment.__table__, payments, "fse_id")
    transitions = []
    event, from_status = PaymentEvent.ACKNOWLEDGE.value, PaymentStatus.RECEIVED.value
    to_status = PaymentStatus.ACCEPTED.value
    for payment_id, fse_id in created:
        r = meta[fse_id]
        transitions.append({
            "payment_id": payment_id, "at": r.received_at, "event": event,
            "from_status": from_status, "to_status": to_status,
            "cause": f"Accusé de réception positif du lot {r.lot_id}.", "actor": actor,
        })
    bulk_insert(session, PaymentTransition.__table__, transitions)
    corrections = [(meta[f].corrects_id, f) for _, f in created if meta[f].corrects_id]
    corrections += _same_care_rejected(session, [meta[f] for _, f in created if not meta[f].corrects_id])
    if corrections:
        _mark_resubmitted(session, corrections, actor, now)
    return len(created)


def _same_care_rejected(session: Session, rows: list) -> list[tuple[int, int]]:
    """A new FSE for the same professional, patient and date of care as an FSE the caisse
    rejected (and not yet replaced) is its corrected resubmission, even under a new invoice
    number (practice software renumbers; the FSE package links only same-number resends)."""
    if not rows:
        return []
    found = session.execute(
        select(Payment.fse_id, Payment.professional_id, Payment.patient_nir, Payment.care_date)
        .where(Payment.status == PaymentStatus.REJECTED, Payment.replaced_by_fse_id.is_(None),
               Payment.professional_id.in_({r.professional_id for r in rows}),
               Payment.patient_nir.in_({r.patient_nir for r in rows}))
        .order_by(Payment.id)
    ).all()
    rejected: dict[tuple, int] = {}
    for fse_id, pro_id, nir, care_date in found:
        rejected.setdefault((pro_id, nir, care_date), fse_id)
    out = []
    for r in rows:
        old = rejected.pop((r.professional_id, r.patient_nir, r.first_care_date), None)
        if old is not None and old != r.id:
            out.append((old, r.id))
    return out


def _mark_resubmitted(session: Session, corrections: list[tuple[int, int]], actor: str,
                      now: datetime) -> None:
    """A corrected FSE replaces a rejected one: RESUBMITTED, linked to the new FSE."""
    old_ids = [old for old, _ in corrections]
    olds = {
        p.fse_id: p for p in session.scalars(
            select(Payment).where(Payment.fse_id.in_(old_ids)).with_for_update()
        )
    }
    for old_fse, new_fse in corrections:
        payment = olds.get(old_fse)
        if payment is None or payment.status is not PaymentStatus.REJECTED:
            continue  # rejected at submission (no payment), or not rejected by the caisse
        new_status = next_status(payment.status, PaymentEvent.RESUBMIT)
        session.add(PaymentTransition(
            payment_id=payment.id, at=now, event=PaymentEvent.RESUBMIT.value,
            from_status=payment.status.value, to_status=new_status.value,
            cause=f"Facture corrigée et renvoyée (FSE {new_fse}).", actor=actor,
        ))
        payment.status = new_status
        payment.replaced_by_fse_id = new_fse
        payment.updated_at = now
