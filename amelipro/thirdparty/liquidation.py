"""Liquidation: the batch runner that pays or rejects the accepted tiers-payant FSE.

:func:`liquidate_batch` claims up to ``batch_size`` ACCEPTED payments — ``SELECT ... FOR
UPDATE SKIP LOCKED`` on PostgreSQL, so that several workers share the work and never take
the same FSE; on SQLite the transaction takes the database's write lock first, so batches
are plain and serial — asks the pure decision for each FSE (``decision.decide_stored``:
priced at its date of care, checked against the caisse's file), adds the payments to the
virement of the professional and value date (one per professional and day, upserted in
professional order so that concurrent workers lock in the same order), records two
transitions per FSE (liquidate, then pay / pay_adjusted / reject) checked by
``states.next_status``, and publishes one RSP return per FSE with cursors taken from a
counter row locked until commit: returns become visible in cursor order, so a client
polling ``since=<cursor>`` never misses one. A unique constraint on ``tp_return.payment_id``
is the database's last guard against paying an FSE twice.

:func:`run_liquidation` takes in the accepted FSE without a payment (``tracking``), runs
batches until nothing is left, then pays the granted adjustments (``adjustments``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from amelipro import clock
from amelipro.account.banking import has_account_in_force
from amelipro.auth.models import Professional
from amelipro.auth.practice import practice_history
from amelipro.beneficiaries.patient_file import PatientFile, patient_file
from amelipro.filters import date_fr, euros
from amelipro.fse.models import Lot, StoredFse
from amelipro.reference.facts import ReferenceLookup
from amelipro.reference.queries import SqlReferenceLookup
from amelipro.thirdparty import tracking
from amelipro.thirdparty.adjustments import pay_adjustments
from amelipro.thirdparty.decision import CachedLookup, Decision, decide_stored
from amelipro.thirdparty.models import Payment, PaymentTransition, RspReturn
from amelipro.thirdparty.states import (
    PENDING_STATUSES,
    PaymentEvent,
    PaymentStatus,
    ReturnStatus,
    next_status,
)
from amelipro.thirdparty.virements import ensure_virements, value_date_for
from amelipro.thirdparty.writes import CLAIM_COUNTER, RSP_COUNTER, bulk_insert, bump_counter
from amelipro.thirdparty.writes import is_postgresql as postgresql

ZERO = Decimal("0.00")


def default_lookup(session: Session) -> ReferenceLookup:
    """The reference tables, memoised for the run."""
    return CachedLookup(SqlReferenceLookup(session))


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


def _claim(session: Session, batch_size: int, today: date) -> list[int]:
    """Payments to liquidate, only for professionals with a bank account in force ``today``:
    the others' stay accepted (the operators' home says so)."""
    stmt = (
        select(Payment.id)
        .where(Payment.status == PaymentStatus.ACCEPTED,
               has_account_in_force(Payment.professional_id, today), *liquidable_on(today))
        .order_by(Payment.id)
        .limit(batch_size)
    )
    if postgresql(session):
        stmt = stmt.with_for_update(skip_locked=True)
    else:
        # SQLite: take the write lock before reading, so two processes never claim the same rows.
        bump_counter(session, CLAIM_COUNTER, 1)
    return list(session.scalars(stmt))


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
    today = config.today or clock.paris_today()
    ids = _claim(session, config.batch_size, today)
    if not ids:
        session.rollback()
        return BatchResult(0, 0, 0, 0, ZERO, 0)
    lookup = lookup or default_lookup(session)
    patients = patients or patient_file(session)
    value_date = value_date_for(today)
    now = clock.utcnow()

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
    decisions: list[tuple[object, Decision]] = []
    for row in rows:
        key = (row.pro_id, row.patient_nir, row.care_date, row.amo_claimed)
        decision = decide_stored(
            row, row.profession.value if row.profession else "medecin_generaliste", lookup,
            file_loaded=patients.loaded, already_paid=key in paid_keys,
            person=patients.rights(row.patient_nir, row.patient_rank) if patients.loaded else None,
            practice=practices.get(row.pro_id))
        if not decision.rejected:
            paid_keys.add(key)  # a second FSE for the same care in this batch is already paid
        decisions.append((row, decision))

    # Virements: one per professional and value date, upserted in professional order.
    paid_pros = sorted({row.pro_id for row, decision in decisions if not decision.rejected})
    virement_ids = ensure_virements(session, paid_pros, value_date, now, today)

    # Payments: final status checked against the transition table, then one UPDATE per
    # group of identical values (guarded on ACCEPTED: the claim holds the rows anyway).
    groups: dict[tuple, list[int]] = defaultdict(list)
    transitions = []
    counts = {ReturnStatus.PAID: 0, ReturnStatus.ADJUSTED: 0, ReturnStatus.REJECTED: 0}
    amount = ZERO
    liquidated = next_status(PaymentStatus.ACCEPTED, PaymentEvent.LIQUIDATE)
    liquidate_cause = f"Liquidation du {today:%d/%m/%Y} au tarif en vigueur à la date des soins."
    for row, decision in decisions:
        counts[decision.status] += 1
        final = next_status(liquidated, decision.status.event)
        rejected = decision.rejected
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
            "payment_id": row.payment_id, "at": now, "event": decision.status.event.value,
            "from_status": liquidated.value, "to_status": final.value,
            "cause": _cause(decision, value_date), "actor": config.actor,
        })
    updated = 0
    # PostgreSQL: the claim's FOR UPDATE row locks already exclude any other writer, and a
    # status predicate here would tempt the planner into the status index (dead entries);
    # SQLite: the guard is free (primary-key lookups under the write lock).
    guard = [] if postgresql(session) else [Payment.status == PaymentStatus.ACCEPTED]
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
    last = bump_counter(session, RSP_COUNTER, len(decisions))
    first = last - len(decisions) + 1
    returns = []
    for offset, (row, decision) in enumerate(decisions):
        rejected = decision.rejected
        returns.append({
            "cursor": first + offset, "professional_id": row.pro_id, "payment_id": row.payment_id,
            "fse_id": row.id, "status": decision.status.value, "invoice_number": row.p_invoice,
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
    if decision.rejected:
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
    if not postgresql(session):
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


def liquidable_on(today: date) -> tuple:
    """A liquidation run "on" ``today`` (``--date``, possibly past) only sees FSE received
    (acknowledged) that day or before: the caisse cannot pay what it has not yet received."""
    return (Payment.acknowledged_on <= today,)


def _waiting(session: Session, today: date, *conditions) -> int:
    return session.scalar(select(func.count()).select_from(Payment)
                          .where(Payment.status == PaymentStatus.ACCEPTED, *liquidable_on(today),
                                 *conditions)) or 0


def pending_count_all(session: Session, today: date | None = None) -> int:
    """Payments waiting for the liquidation, with or without a bank account."""
    return _waiting(session, today or clock.paris_today())


def pending_count(session: Session, today: date | None = None) -> int:
    """Payments the liquidation would take ``today`` (a bank account in force)."""
    today = today or clock.paris_today()
    return _waiting(session, today, has_account_in_force(Payment.professional_id, today))


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
            tracked = tracking.track_accepted(session, actor=config.actor)
    totals = [0, 0, 0, 0, 0]
    amount = ZERO
    with session_factory() as session:
        lookup = lookup or default_lookup(session)
        patients = patients or patient_file(session)
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
        adjusted = pay_adjustments(session, today=config.today or clock.paris_today(),
                                   actor=config.actor)
    return RunResult(tracked, totals[0], totals[1], totals[2], totals[3], totals[4], amount,
                     time.perf_counter() - started, adjusted[0], adjusted[1])


# --- operators: the liquidation backlog (all professionals) ----------------------------------


@dataclass(frozen=True)
class Backlog:
    to_take_in: int  # accepted tiers-payant FSE without a payment row yet
    to_liquidate: int  # followed (acceptee), waiting for the next liquidation
    oldest_acknowledged: date | None  # day 0 of the oldest one waiting
    overdue: int  # not paid and past their due date (penalties accrue)
    last_liquidation: date | None


def liquidation_backlog(session: Session, today: date) -> Backlog:
    to_take_in, first_received = session.execute(
        select(func.count(StoredFse.id), func.min(Lot.received_at))
        .join(Lot, Lot.id == StoredFse.lot_id)
        .outerjoin(Payment, Payment.fse_id == StoredFse.id)
        .where(*tracking.untracked_accepted())).one()
    to_liquidate, oldest = session.execute(
        select(func.count(Payment.id), func.min(Payment.acknowledged_on))
        .where(Payment.status == PaymentStatus.ACCEPTED)).one()
    if first_received is not None:  # day 0 of an FSE not followed yet: its acknowledgement
        received_on = clock.paris_date(first_received)
        oldest = min(oldest, received_on) if oldest else received_on
    overdue = session.scalar(select(func.count(Payment.id)).where(
        Payment.status.in_(PENDING_STATUSES), Payment.due_date < today)) or 0
    last = session.scalar(select(func.max(Payment.liquidated_on)))
    return Backlog(int(to_take_in), int(to_liquidate or 0), oldest, int(overdue), last)
