"""Liquidation: follow accepted tiers-payant FSE, price them, pay or reject, group virements.

Two services, each one transaction per batch:

- :func:`track_accepted` (intake): every accepted FSE in tiers payant (AMO) gets its payment
  row, status ACCEPTED, day 0 = the date of the positive acknowledgement of its lot; a
  corrected FSE marks the rejected payment it replaces as RESUBMITTED (linked).
- :func:`liquidate_batch`: claims up to ``batch_size`` ACCEPTED payments — ``SELECT ... FOR
  UPDATE SKIP LOCKED`` on PostgreSQL, so that several workers share the work and never take
  the same FSE; on SQLite the transaction takes the database's write lock first, so batches
  are plain and serial — prices each FSE at its date of care with
  ``amelipro.fse.pricing.price_care_sheet``, decides (``decision.decide``), adds the payments
  to the virement of the professional and value date (one per professional and day, upserted
  in professional order so that concurrent workers lock in the same order), records two
  transitions per FSE (liquidate, then pay / pay_adjusted / reject) checked by
  ``states.next_status``, and publishes one RSP return per FSE with cursors taken from a
  counter row locked until commit: returns become visible in cursor order, so a client
  polling ``since=<cursor>`` never misses one. A unique constraint on ``tp_return.payment_id``
  is the database's last guard against paying an FSE twice.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import Select, func, select, text, update
from sqlalchemy.orm import Session

from amelipro.account.banking import accounts_in_force, has_account_in_force
from amelipro.auth.models import Professional
from amelipro.auth.practice import practice_history
from amelipro.clock import paris_date, paris_today
from amelipro.db import utcnow
from amelipro.filters import date_fr, euros
from amelipro.fse.domain import (
    Amounts,
    CareSheet,
    Exemption,
    InsuranceNature,
    Line,
    LineKind,
    PatientRef,
    ProfessionalRef,
    Totals,
)
from amelipro.fse.models import FseStatus, Lot, StoredFse
from amelipro.fse.pricing import LineProblem
from amelipro.reference.facts import ReferenceLookup, StaticReferenceLookup
from amelipro.thirdparty import calendar
from amelipro.thirdparty.decision import DecisionInput, PatientOnFile, decide
from amelipro.thirdparty.models import (
    Adjustment,
    AdjustmentStatus,
    Counter,
    Payment,
    PaymentTransition,
    ReturnStatus,
    RspReturn,
    Virement,
)
from amelipro.thirdparty.reconciliation import virement_reference
from amelipro.thirdparty.states import PaymentEvent, PaymentStatus, next_status

RSP_COUNTER = "rsp_cursor"
CLAIM_COUNTER = "claims"
INTAKE_COUNTER = "intake"
ZERO = Decimal("0.00")
_RETURN_EVENT = {
    ReturnStatus.PAID: PaymentEvent.PAY,
    ReturnStatus.ADJUSTED: PaymentEvent.PAY_ADJUSTED,
    ReturnStatus.REJECTED: PaymentEvent.REJECT,
}


def value_date_for(day: date) -> date:
    """A virement is valued on the liquidation day, or the next working day."""
    return day if calendar.is_working_day(day) else calendar.add_working_days(day, 1)


# --- collaborators ---------------------------------------------------------------------


class PatientFile(Protocol):
    """The caisse's file of insured persons, as the liquidation needs it."""

    loaded: bool  # False: no file available, identity and rights checks are skipped

    def prefetch(self, keys: set[tuple[str, int]]) -> None: ...

    def rights(self, nir: str, rank: int) -> Any | None: ...  # PatientRights or None


def on_file(person: Any | None, at: date) -> PatientOnFile | None:
    """What a PatientRights record says at the date of care."""
    if person is None:
        return None
    return PatientOnFile(
        rights_open=person.is_open(at),
        covers=frozenset(c.cover.value for c in person.covers_at(at)),
        alsace_moselle=getattr(person, "alsace_moselle", False),
    )


@dataclass
class NoPatientFile:
    """No file of insured persons available: identity checks are skipped."""

    loaded: bool = False

    def prefetch(self, keys: set[tuple[str, int]]) -> None:  # noqa: ARG002
        return None

    def rights(self, nir: str, rank: int) -> Any | None:  # noqa: ARG002
        return None


@dataclass
class StaticPatientFile:
    """A file given as plain values (tests, demos): (nir, rank) -> PatientRights."""

    people: dict[tuple[str, int], Any] = field(default_factory=dict)
    loaded: bool = True

    def prefetch(self, keys: set[tuple[str, int]]) -> None:  # noqa: ARG002
        return None

    def rights(self, nir: str, rank: int) -> Any | None:
        return self.people.get((nir, rank))


class BeneficiaryFile:
    """The beneficiaries package's tables, read a batch at a time (``find_rights_many``)."""

    def __init__(self, session: Session) -> None:
        from amelipro.beneficiaries.models import Beneficiary

        self.session = session
        self.loaded = session.scalar(select(Beneficiary.id).limit(1)) is not None
        self.cache: dict[tuple[str, int], Any] = {}

    def prefetch(self, keys: set[tuple[str, int]]) -> None:
        from amelipro.beneficiaries.services import find_rights_many

        self.cache = find_rights_many(self.session, keys) if self.loaded else {}

    def rights(self, nir: str, rank: int) -> Any | None:
        return self.cache.get((nir, rank))


class CachedLookup:
    """Reference answers memoised per (kind, code, date): a run prices many similar lines."""

    def __init__(self, inner: ReferenceLookup) -> None:
        self.inner = inner
        self.cache: dict[tuple[str, str, date], Any] = {}

    def _get(self, kind: str, code: str, at: date, fetch: Callable[[str, date], Any]) -> Any:
        key = (kind, code, at)
        if key not in self.cache:
            self.cache[key] = fetch(code, at)
        return self.cache[key]

    def medicine(self, cip13: str, at: date):
        return self._get("m", cip13, at, self.inner.medicine)

    def lpp(self, code: str, at: date):
        return self._get("l", code, at, self.inner.lpp)

    def act(self, code: str, at: date):
        return self._get("a", code, at, self.inner.act)


def default_lookup(session: Session) -> ReferenceLookup:
    try:
        from amelipro.reference.queries import SqlReferenceLookup
    except ModuleNotFoundError:  # pragma: no cover - reference package absent
        return StaticReferenceLookup()
    return CachedLookup(SqlReferenceLookup(session))


def default_patient_file(session: Session) -> PatientFile:
    """The caisse's file when the beneficiaries package is installed; else no checks."""
    try:
        return BeneficiaryFile(session)
    except ModuleNotFoundError:  # pragma: no cover - beneficiaries package absent
        return NoPatientFile()


@dataclass(frozen=True)
class LiquidationConfig:
    batch_size: int = 1000
    today: date | None = None  # liquidation day (Europe/Paris); default today
    actor: str = "liquidation"
    max_batches: int | None = None  # stop after this many batches (None: until done)


@dataclass(frozen=True)
class BatchResult:
    claimed: int
    paid: int
    adjusted: int
    rejected: int
    amount: Decimal
    virements: int


@dataclass(frozen=True)
class RunResult:
    tracked: int
    batches: int
    claimed: int
    paid: int
    adjusted: int
    rejected: int
    amount: Decimal
    seconds: float
    adjustments: int = 0  # granted complaints and penalty claims paid by this run
    adjustments_amount: Decimal = ZERO

    @property
    def per_second(self) -> float:
        return self.claimed / self.seconds if self.seconds else 0.0


# --- bulk writes -----------------------------------------------------------------------


def bulk_insert(session: Session, table, rows: list[dict]) -> None:
    """Append rows in the session's transaction: COPY on PostgreSQL, executemany on SQLite.

    Rows are dicts with the same keys in the same order, holding plain values (enum members
    as their ``.value``)."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(table.insert(), rows)
        return
    quoted = ", ".join(f'"{c}"' for c in rows[0])
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        write = copy.write_row
        for row in rows:
            write(tuple(row.values()))


# --- intake ----------------------------------------------------------------------------


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
    """Create the payment rows of FSE being recorded (the lot's transaction; no commit).

    Called by the FSE recording path when a lot is stored, so that an accepted tiers-payant
    FSE has its payment ("en attente") from the moment its lot is acknowledged, and no page
    ever has to create one. The ids are new in this transaction: nobody else can track them.
    """
    total = 0
    ids = list(fse_ids)
    for start in range(0, len(ids), 500):
        rows = session.execute(_untracked_rows().where(StoredFse.id.in_(ids[start:start + 500]))).all()
        if rows:
            total += _track_rows(session, rows, actor)
    return total


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
        _bump_counter(session, INTAKE_COUNTER, 1)
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


def _insert_ignore(session: Session, model, rows: list[dict], conflict: list[str] | None, returning):
    """INSERT … ON CONFLICT DO NOTHING on ``conflict``'s unique index, or on any unique
    constraint when ``conflict`` is None."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(model).on_conflict_do_nothing(index_elements=conflict).returning(*returning)
    return session.execute(stmt, rows).all() if rows else []


def _track_rows(session: Session, rows, actor: str) -> int:
    now = utcnow()
    payments = []
    meta = {}
    for r in rows:
        ack = paris_date(r.received_at)
        amo = r.amo_sent if r.amo_sent is not None else (r.amo_computed or ZERO)
        payments.append({
            "fse_id": r.id, "professional_id": r.professional_id,
            "status": next_status(PaymentStatus.RECEIVED, PaymentEvent.ACKNOWLEDGE).value,
            "invoice_number": r.invoice_number, "patient_nir": r.patient_nir,
            "care_date": r.first_care_date, "acknowledged_on": ack, "due_date": _due_date(ack),
            "charged": r.charged_sent if r.charged_sent is not None else (r.charged_computed or ZERO),
            "base": r.base_sent if r.base_sent is not None else (r.base_computed or ZERO),
            "amo_claimed": amo, "reject_code": "", "created_at": now, "updated_at": now,
        })
        meta[r.id] = r
    if session.get_bind().dialect.name == "postgresql":
        # Intakes are serialised by the "intake" counter lock: ids from the sequence, COPY.
        ids = session.execute(
            text("SELECT nextval(pg_get_serial_sequence('tp_payment', 'id')) FROM generate_series(1, :n)"),
            {"n": len(payments)}).scalars().all()
        for payment_id, payment in zip(ids, payments, strict=True):
            payment["id"] = payment_id
        bulk_insert(session, Payment.__table__, payments)
        created = [(p["id"], p["fse_id"]) for p in payments]
    else:
        created = _insert_ignore(session, Payment, payments, ["fse_id"], [Payment.id, Payment.fse_id])
    transitions = []
    for payment_id, fse_id in created:
        r = meta[fse_id]
        transitions.append({
            "payment_id": payment_id, "at": r.received_at, "event": PaymentEvent.ACKNOWLEDGE.value,
            "from_status": PaymentStatus.RECEIVED.value, "to_status": PaymentStatus.ACCEPTED.value,
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


# --- liquidation -----------------------------------------------------------------------


def _bump_counter(session: Session, name: str, by: int) -> int:
    """Add ``by`` to a counter and return the new value; the row stays locked until commit."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(Counter).values(name=name, value=by)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"], set_={"value": Counter.value + stmt.excluded.value}
    ).returning(Counter.value)
    return int(session.execute(stmt).scalar_one())


def _claim(session: Session, batch_size: int, today: date) -> list[int]:
    """Payments to liquidate, only for professionals with a bank account in force ``today``:
    the others' stay accepted (the operators' home says so)."""
    dialect = session.get_bind().dialect.name
    stmt = (
        select(Payment.id)
        .where(Payment.status == PaymentStatus.ACCEPTED,
               has_account_in_force(Payment.professional_id, today), *liquidable_on(today))
        .order_by(Payment.id)
        .limit(batch_size)
    )
    if dialect == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    else:
        # SQLite: take the write lock before reading, so two processes never claim the same rows.
        _bump_counter(session, CLAIM_COUNTER, 1)
    return list(session.scalars(stmt))


@lru_cache(maxsize=8192)
def _lines_from_json(text: str) -> tuple[Line, ...]:
    """Stored lines as frozen values (memoised: many FSE carry the same lines)."""
    lines = []
    for raw in json.loads(text or "[]"):
        sent = raw.get("sent")
        lines.append(Line(
            number=int(raw["number"]), kind=LineKind(raw["kind"]),
            care_date=date.fromisoformat(raw["care_date"]), code=raw["code"],
            quantity=int(raw.get("quantity", 1)), coefficient=Decimal(str(raw.get("coefficient", "1"))),
            amounts=None if not sent else Amounts(
                charged=Decimal(sent["charged"]), base=Decimal(sent["base"]), rate=int(sent["rate"]),
                amo=Decimal(sent["amo"])),
        ))
    return tuple(lines)


def care_sheet_from_storage(row: Any, profession: str) -> CareSheet:
    """Rebuild the frozen care sheet from the stored FSE (signed content mapped at intake)."""
    lines = _lines_from_json(row.lines_json)
    return CareSheet(
        id=row.element_id or f"FSE{row.id}", invoice_number=row.invoice_number,
        invoice_date=row.invoice_date or row.first_care_date,
        professional=ProfessionalRef(rpps="", am_number="", specialty=profession),
        patient=PatientRef(nir=row.patient_nir, birth_date=row.patient_birth_date, rank=row.patient_rank),
        nature=InsuranceNature(row.nature or "10"), pathway=row.pathway,
        exemption=Exemption(row.exemption or "aucune"),
        tiers_payant_amo=row.tiers_payant_amo, tiers_payant_amc=row.tiers_payant_amc,
        lines=lines,
        totals=Totals(charged=row.charged_sent or ZERO, base=row.base_sent or ZERO, amo=row.amo_sent or ZERO),
    )


def _price(sheet: CareSheet, lookup: ReferenceLookup, profession: str, rights: Any | None = None,
           practice: Any | None = None):
    """The AMO part, base and charged amount at the date of care, as the submission priced them
    (``None`` when the sheet cannot be priced at all; incomplete when a line has no price).

    No history of patient charges here (no ``prior``): the liquidation pays and compares only
    AMO, base and charged amounts, which the participation forfaitaire and the franchises never
    change (they are deducted from the patient's reimbursements, not from the tiers-payant AMO
    part). The charges that count are the ones the submission stored on the FSE
    (``fse.participation``, ``fse.franchise``, computed against the patient's history).
    """
    from amelipro.fse.pricing import price_care_sheet

    if not sheet.lines:
        return None
    try:
        if practice is not None:  # the doctor's sector on the date of care chooses the CCAM grid
            return price_care_sheet(sheet, lookup, rights, profession, sector=practice)
        return price_care_sheet(sheet, lookup, rights, profession)
    except (KeyError, ValueError, LookupError):
        return None


_FSE_COLUMNS = (
    StoredFse.id, StoredFse.element_id, StoredFse.invoice_number, StoredFse.invoice_date,
    StoredFse.first_care_date, StoredFse.last_care_date, StoredFse.patient_nir,
    StoredFse.patient_birth_date, StoredFse.patient_rank, StoredFse.nature, StoredFse.pathway,
    StoredFse.exemption, StoredFse.tiers_payant_amo, StoredFse.tiers_payant_amc,
    StoredFse.charged_sent, StoredFse.base_sent, StoredFse.amo_sent, StoredFse.lines_json,
)


def liquidate_batch(
    session: Session,
    config: LiquidationConfig,
    *,
    lookup: ReferenceLookup | None = None,
    patients: PatientFile | None = None,
) -> BatchResult:
    """Liquidate one claimed batch in one transaction (commits). ``claimed == 0``: done."""
    today = config.today or paris_today()
    ids = _claim(session, config.batch_size, today)
    if not ids:
        session.rollback()
        return BatchResult(0, 0, 0, 0, ZERO, 0)
    lookup = lookup or default_lookup(session)
    patients = patients or default_patient_file(session)
    value_date = value_date_for(today)
    now = utcnow()

    rows = session.execute(
        select(Payment.id.label("payment_id"), Payment.amo_claimed, Payment.charged.label("p_charged"),
               Payment.base.label("p_base"), Payment.professional_id.label("pro_id"),
               Payment.care_date, Payment.invoice_number.label("p_invoice"),
               Professional.profession, *_FSE_COLUMNS)
        .join(StoredFse, StoredFse.id == Payment.fse_id)
        .join(Professional, Professional.id == Payment.professional_id)
        .where(Payment.id.in_(ids))
        .order_by(Payment.id)
    ).all()

    _lock_cares(session, rows)  # before reading what is already paid
    paid_keys = _already_paid_keys(session, rows)
    patients.prefetch({(r.patient_nir, r.patient_rank) for r in rows})
    practices = {pro_id: practice_history(session, pro_id) for pro_id in {r.pro_id for r in rows}}
    decisions = []
    for row in rows:
        profession = row.profession.value if row.profession else "medecin_generaliste"
        key = (row.pro_id, row.patient_nir, row.care_date, row.amo_claimed)
        pricing = None
        person = patients.rights(row.patient_nir, row.patient_rank) if patients.loaded else None
        try:
            sheet = care_sheet_from_storage(row, profession)
        except (KeyError, ValueError, TypeError):
            sheet = None
        if sheet is not None:
            pricing = _price(sheet, lookup, profession, person, practices.get(row.pro_id))
        complete = pricing is not None and pricing.complete
        patient = None
        if patients.loaded and row.first_care_date is not None:
            patient = on_file(person, row.first_care_date)
        decision = decide(DecisionInput(
            amo_claimed=row.amo_claimed, charged=row.p_charged, base=row.p_base,
            nature=row.nature, exemption=row.exemption, care_date=row.first_care_date,
            priced_amo=pricing.amo if complete else None,
            priced_charged=pricing.charged if complete else None,
            priced_base=pricing.base if complete else None,
            file_loaded=patients.loaded, patient=patient, already_paid=key in paid_keys,
            not_reimbursable=pricing is not None and any(
                line.problem is LineProblem.NOT_REIMBURSABLE for line in pricing.lines),
        ))
        if decision.status != ReturnStatus.REJECTED:
            paid_keys.add(key)  # a second FSE for the same care in this batch is already paid
        decisions.append((row, decision))

    # Virements: one per professional and value date, upserted in professional order.
    per_pro: dict[int, list] = defaultdict(lambda: [ZERO, 0])
    for row, decision in decisions:
        if decision.status != ReturnStatus.REJECTED:
            per_pro[row.pro_id][0] += decision.amo_paid
            per_pro[row.pro_id][1] += 1
    virement_ids = _ensure_virements(session, list(per_pro), value_date, now, today)

    # Payments: final status checked against the transition table, then one UPDATE per
    # group of identical values (guarded on ACCEPTED: the claim holds the rows anyway).
    groups: dict[tuple, list[int]] = defaultdict(list)
    transitions = []
    counts = {ReturnStatus.PAID: 0, ReturnStatus.ADJUSTED: 0, ReturnStatus.REJECTED: 0}
    amount = ZERO
    liquidated = next_status(PaymentStatus.ACCEPTED, PaymentEvent.LIQUIDATE)
    liquidate_cause = f"Liquidation du {today:%d/%m/%Y} au tarif en vigueur à la date des soins."
    for row, decision in decisions:
        status = ReturnStatus(decision.status)
        counts[status] += 1
        final = next_status(liquidated, _RETURN_EVENT[status])
        rejected = status is ReturnStatus.REJECTED
        if not rejected:
            amount += decision.amo_paid
        groups[(final, decision.amo_paid, decision.reject_code,
                None if rejected else virement_ids[row.pro_id])].append(row.payment_id)
        transitions.append({
            "payment_id": row.payment_id, "at": now, "event": PaymentEvent.LIQUIDATE.value,
            "from_status": PaymentStatus.ACCEPTED.value, "to_status": liquidated.value,
            "cause": liquidate_cause, "actor": config.actor,
        })
        transitions.append({
            "payment_id": row.payment_id, "at": now, "event": _RETURN_EVENT[status].value,
            "from_status": liquidated.value, "to_status": final.value,
            "cause": _cause(decision, value_date), "actor": config.actor,
        })
    updated = 0
    # PostgreSQL: the claim's FOR UPDATE row locks already exclude any other writer, and a
    # status predicate here would tempt the planner into the status index (dead entries);
    # SQLite: the guard is free (primary-key lookups under the write lock).
    guard = [] if session.get_bind().dialect.name == "postgresql" else [
        Payment.status == PaymentStatus.ACCEPTED]
    for (final, amo_paid, reject_code, virement_id), payment_ids in groups.items():
        result = session.execute(
            update(Payment)
            .where(Payment.id.in_(payment_ids), *guard)
            .values(status=final, amo_paid=amo_paid, reject_code=reject_code, liquidated_on=today,
                    paid_on=None if virement_id is None else value_date, virement_id=virement_id,
                    updated_at=now)
            .execution_options(synchronize_session=False)
        )
        updated += result.rowcount
    if updated != len(decisions):  # pragma: no cover - the claim makes this impossible
        session.rollback()
        raise RuntimeError("a claimed payment changed under the liquidation")
    bulk_insert(session, PaymentTransition.__table__, transitions)

    # Returns last: the cursor block is taken under the counter's row lock, held until commit.
    last = _bump_counter(session, RSP_COUNTER, len(decisions))
    first = last - len(decisions) + 1
    returns = []
    for offset, (row, decision) in enumerate(decisions):
        rejected = decision.status == ReturnStatus.REJECTED
        returns.append({
            "cursor": first + offset, "professional_id": row.pro_id, "payment_id": row.payment_id,
            "fse_id": row.id, "status": decision.status, "invoice_number": row.p_invoice,
            "liquidated_on": today, "care_date": row.care_date, "charged": decision.charged,
            "base": decision.base, "amo_claimed": row.amo_claimed, "amo_paid": decision.amo_paid,
            "codes_json": _codes_json(decision.codes),
            "virement_id": None if rejected else virement_ids[row.pro_id], "created_at": now,
        })
    bulk_insert(session, RspReturn.__table__, returns)
    session.commit()
    return BatchResult(len(decisions), counts[ReturnStatus.PAID], counts[ReturnStatus.ADJUSTED],
                       counts[ReturnStatus.REJECTED], amount, len(virement_ids))


def _codes_json(codes) -> str:
    if not codes:
        return "[]"
    return json.dumps([{"code": c.code, "message": c.message, "hint": c.hint} for c in codes],
                      ensure_ascii=False)


def _cause(decision, value_date: date) -> str:
    if decision.status == ReturnStatus.REJECTED:
        code = decision.codes[0]
        return f"Rejet {code.code} : {code.message}"
    text = f"Paiement de {euros(decision.amo_paid)} par virement, valeur {date_fr(value_date)}."
    if decision.status == ReturnStatus.ADJUSTED:
        text += f" Ajustement {decision.codes[0].code} : {decision.codes[0].message}"
    return text


def _care_lock_key(pro_id: int, nir: str, care_date: date | None) -> int:
    """A signed 64-bit advisory-lock key for one care: professional, patient, date of care."""
    day = care_date.isoformat() if care_date else ""
    digest = hashlib.sha256(f"amelipro.thirdparty.care:{pro_id}:{nir}:{day}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _lock_cares(session: Session, rows) -> None:
    """Serialise the workers that liquidate the same care, until this transaction ends.

    Two FSE for one care under two invoice numbers may be claimed by two workers at once;
    each would read "not yet paid" and pay. PostgreSQL: one transaction-level advisory lock
    per (professional, patient, date of care) of the batch, taken in ascending key order
    (workers never wait on each other crosswise) before the "already paid" read: the second
    worker waits for the first one's commit, then reads its payment (READ COMMITTED) and
    rejects its own FSE as already paid. SQLite needs nothing: a batch holds the database's
    write lock from its claim on.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({_care_lock_key(r.pro_id, r.patient_nir, r.care_date) for r in rows})
    if keys:
        # unnest yields the keys in array order: the locks are taken in that (sorted) order
        session.execute(text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k"),
                        {"keys": keys})


def _already_paid_keys(session: Session, rows) -> set[tuple]:
    """Care already paid: same professional, patient, date of care and AMO amount.

    One query per professional of the batch, on the (professional, NIR, date) index (a
    row-value IN over thousands of pairs plans worse on PostgreSQL)."""
    by_pro: dict[int, set[str]] = defaultdict(set)
    for r in rows:
        by_pro[r.pro_id].add(r.patient_nir)
    found: set[tuple] = set()
    for pro_id, nirs in sorted(by_pro.items()):
        found.update(tuple(r) for r in session.execute(
            select(Payment.professional_id, Payment.patient_nir, Payment.care_date, Payment.amo_claimed)
            .where(Payment.professional_id == pro_id, Payment.patient_nir.in_(sorted(nirs)),
                   Payment.status.in_([PaymentStatus.PAID, PaymentStatus.ADJUSTED]))
        ))
    return found


def _ensure_virements(session: Session, pro_ids: list[int], value_date: date,
                      now: datetime, today: date) -> dict[int, int]:
    """The virement of each professional for ``value_date``, created if missing.

    INSERT ... ON CONFLICT DO NOTHING takes no lock on an existing row, and amounts are sums
    of payments: concurrent workers do not queue behind each other on virement rows.
    """
    if not pro_ids:
        return {}
    accounts = accounts_in_force(session, pro_ids, today)
    rows = [{"professional_id": pro_id, "value_date": value_date,
             "reference": virement_reference(pro_id, value_date), "received_amount": ZERO,
             "created_at": now, "bank_account_id": accounts[pro_id].id}
            for pro_id in sorted(pro_ids)]
    # Any constraint: two workers creating the same virement may meet first on its reference
    # (derived from professional and value date), not only on (professional, value date).
    _insert_ignore(session, Virement, rows, None, [Virement.id])
    found = session.execute(select(Virement.professional_id, Virement.id).where(
        Virement.professional_id.in_(pro_ids), Virement.value_date == value_date)).all()
    return dict(found)


def liquidable_on(today: date) -> tuple:
    """A liquidation run "on" ``today`` (``--date``, possibly past) only sees FSE received
    (acknowledged) that day or before: the caisse cannot pay what it has not yet received."""
    return (Payment.acknowledged_on <= today,)


def pending_count_all(session: Session, today: date | None = None) -> int:
    """Payments waiting for the liquidation, with or without a bank account."""
    return session.scalar(select(func.count()).select_from(Payment)
                          .where(Payment.status == PaymentStatus.ACCEPTED,
                                 *liquidable_on(today or paris_today()))) or 0


def pending_count(session: Session, today: date | None = None) -> int:
    """Payments the liquidation would take ``today`` (a bank account in force)."""
    return session.scalar(select(func.count()).select_from(Payment)
                          .where(Payment.status == PaymentStatus.ACCEPTED,
                                 *liquidable_on(today or paris_today()),
                                 has_account_in_force(Payment.professional_id,
                                                      today or paris_today()))) or 0


def run_liquidation(
    session_factory: Callable[[], Session],
    config: LiquidationConfig = LiquidationConfig(),
    *,
    lookup: ReferenceLookup | None = None,
    patients: PatientFile | None = None,
    progress: Callable[[int], None] | None = None,
    track: bool = True,
) -> RunResult:
    """Intake, then batches until nothing is left to claim (one worker)."""
    started = time.perf_counter()
    tracked = 0
    if track:
        with session_factory() as session:
            tracked = track_accepted(session, actor=config.actor)
    totals = [0, 0, 0, 0, 0]
    amount = ZERO
    with session_factory() as session:
        lookup = lookup or default_lookup(session)
        patients = patients or default_patient_file(session)
        while config.max_batches is None or totals[0] < config.max_batches:
            batch = liquidate_batch(session, config, lookup=lookup, patients=patients)
            if batch.claimed == 0:
                break
            totals[0] += 1
            totals[1] += batch.claimed
            totals[2] += batch.paid
            totals[3] += batch.adjusted
            totals[4] += batch.rejected
            amount += batch.amount
            if progress:
                progress(batch.claimed)
        adjusted = pay_adjustments(session, config)
    return RunResult(tracked, totals[0], totals[1], totals[2], totals[3], totals[4], amount,
                     time.perf_counter() - started, adjusted[0], adjusted[1])


ADJUSTMENT_EVENT_PAID = "regul_payee"


def pay_adjustments(session: Session, config: LiquidationConfig) -> tuple[int, Decimal]:
    """Pay every granted adjustment (``tp_adjustment``, status DUE) with the day's virement of
    its professional, and publish it in the returns feed (cursor from the RSP counter). One
    transaction (commits); on PostgreSQL claimed with SKIP LOCKED like the FSE."""
    today = config.today or paris_today()
    # Like the FSE: nobody is paid without a bank account in force on the liquidation day.
    stmt = (select(Adjustment)
            .where(Adjustment.status == AdjustmentStatus.DUE,
                   has_account_in_force(Adjustment.professional_id, today))
            .order_by(Adjustment.id))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    else:
        _bump_counter(session, CLAIM_COUNTER, 1)  # SQLite: the write lock first
    due = list(session.scalars(stmt))
    if not due:
        session.rollback()
        return 0, ZERO
    value_date = value_date_for(today)
    now = utcnow()
    virement_ids = _ensure_virements(session, sorted({a.professional_id for a in due}), value_date, now,
                                     today)
    last = _bump_counter(session, RSP_COUNTER, len(due))
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
                payment_id=adjustment.payment_id, at=now, event=ADJUSTMENT_EVENT_PAID,
                from_status=status.value, to_status=status.value, actor=config.actor,
                cause=f"Régularisation de {euros(adjustment.amount)} payée par virement, "
                      f"valeur {value_date:%d/%m/%Y}.",
            ))
    session.commit()
    return len(due), total
