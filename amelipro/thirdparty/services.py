"""Tiers-payant reads for the pages and the API: every query is scoped to one professional.

Payments (dashboard, filtered list and CSV, one payment with its history), the returns feed
(RSP, in cursor order) and the monthly penalty statement; reads return frozen values.
Virements and bank statements are in ``virements.py``.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from amelipro.auth.models import Professional
from amelipro.errors import AmeliproError
from amelipro.filters import month_fr
from amelipro.fse.models import StoredFse
from amelipro.thirdparty import errors
from amelipro.thirdparty.calendar import AGEING_BUCKETS, DelayAssessment, assess_delay
from amelipro.thirdparty.models import Adjustment, Payment, PaymentTransition, RspReturn, Virement
from amelipro.thirdparty.rsp import ReturnCode, ReturnRecord
from amelipro.thirdparty.states import (
    PAID_STATUSES,
    PENDING_STATUSES,
    REJECTED_STATUSES,
    PaymentStatus,
)

ZERO = Decimal("0.00")
PAGE_SIZE = 50
FEED_LIMIT = 500


# --- delays and penalties ----------------------------------------------------------------


def delay_of(payment: Payment, today: date) -> DelayAssessment | None:
    """Due date, working days and penalty; None for a rejected FSE (nothing is owed)."""
    if payment.status in REJECTED_STATUSES:
        return None
    return assess_delay(payment.acknowledged_on, payment.amo_paid if payment.amo_paid is not None
                        else payment.amo_claimed, paid_on=payment.paid_on, today=today)


def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt - timedelta(days=1)


def parse_month(text: str | None, today: date) -> date:
    """``AAAA-MM`` (years 1900 to 9998: the month after must exist); TP-API-003 otherwise."""
    if not text:
        return today.replace(day=1)
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", text.strip())
    if not match or not 1900 <= int(match[1]) <= 9998 or not 1 <= int(match[2]) <= 12:
        raise AmeliproError(errors.BAD_MONTH, text[:20])
    return date(int(match[1]), int(match[2]), 1)


# --- dashboard ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    month: date
    pending_count: int
    pending_amount: Decimal
    paid_count: int
    paid_amount: Decimal
    rejected_count: int
    rejected_amount: Decimal
    penalties_due: Decimal
    late_count: int
    ageing: tuple[tuple[str, int, Decimal], ...]  # bucket, count, amount (unpaid FSE)
    daily_paid: tuple[tuple[date, Decimal], ...]  # the month's days, amount paid by value date
    monthly_paid: tuple[tuple[date, Decimal], ...]  # the last 6 months, amount paid by value date
    recent_rejects: tuple[Payment, ...]


def dashboard(session: Session, pro: Professional, today: date) -> Dashboard:
    first, last = month_bounds(today)
    base = select(Payment).where(Payment.professional_id == pro.id)
    pending = session.scalars(base.where(Payment.status.in_(PENDING_STATUSES))).all()
    paid_month = session.scalars(base.where(Payment.status.in_(PAID_STATUSES),
                                            Payment.paid_on.between(first, last))).all()
    rejected_month = session.scalars(base.where(Payment.status.in_(REJECTED_STATUSES),
                                                Payment.liquidated_on.between(first, last))).all()
    ageing_count = dict.fromkeys(AGEING_BUCKETS, 0)
    ageing_amount = dict.fromkeys(AGEING_BUCKETS, ZERO)
    penalties = ZERO
    late = 0
    for p in pending:
        d = delay_of(p, today)
        ageing_count[d.ageing_bucket] += 1
        ageing_amount[d.ageing_bucket] += p.amo_claimed
        penalties += d.penalty
        late += d.late
    daily: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for p in paid_month:
        d = delay_of(p, today)
        penalties += d.penalty
        late += d.late
        daily[p.paid_on] += p.amo_paid or ZERO
    days = tuple((first + timedelta(days=i), daily[first + timedelta(days=i)])
                 for i in range((last - first).days + 1))
    months = [first]
    for _ in range(5):
        months.insert(0, (months[0] - timedelta(days=1)).replace(day=1))
    by_month = dict.fromkeys(months, ZERO)
    for paid_on, amount in session.execute(
        select(Payment.paid_on, Payment.amo_paid).where(
            Payment.professional_id == pro.id, Payment.status.in_(PAID_STATUSES),
            Payment.paid_on.between(months[0], last))
    ):
        by_month[paid_on.replace(day=1)] += amount or ZERO
    recent = session.scalars(base.where(Payment.status == PaymentStatus.REJECTED)
                             .order_by(Payment.liquidated_on.desc(), Payment.id.desc()).limit(5)).all()
    return Dashboard(
        month=first,
        pending_count=len(pending), pending_amount=sum((p.amo_claimed for p in pending), ZERO),
        paid_count=len(paid_month), paid_amount=sum((p.amo_paid or ZERO for p in paid_month), ZERO),
        rejected_count=len(rejected_month),
        rejected_amount=sum((p.amo_claimed for p in rejected_month), ZERO),
        penalties_due=penalties, late_count=late,
        ageing=tuple((b, ageing_count[b], ageing_amount[b]) for b in AGEING_BUCKETS),
        daily_paid=days, monthly_paid=tuple(by_month.items()), recent_rejects=tuple(recent),
    )


# --- list, filters, CSV --------------------------------------------------------------------

STATUS_FILTERS = {
    "en_attente": PENDING_STATUSES,
    "payee": PAID_STATUSES,
    "rejetee": REJECTED_STATUSES,
    **{s.value: frozenset({s}) for s in PaymentStatus},
}


@dataclass(frozen=True)
class PaymentFilter:
    status: str = ""
    start: date | None = None  # acknowledgement date from
    end: date | None = None  # acknowledgement date to
    patient: str = ""  # NIR prefix
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    late_only: bool = False

    @classmethod
    def from_args(cls, args) -> PaymentFilter:
        def day(name):
            raw = (args.get(name) or "").strip()
            if not raw:
                return None
            try:
                return date.fromisoformat(raw)
            except ValueError:
                raise AmeliproError(errors.BAD_FILTER, f"{name}={raw}") from None

        def amount(name):
            raw = (args.get(name) or "").strip().replace(",", ".")
            if not raw:
                return None
            # A plain amount in euros: no NaN/sNaN/Infinity, no exponent, no 40-digit number.
            if not re.fullmatch(r"-?[0-9]{1,10}(\.[0-9]{1,2})?", raw):
                raise AmeliproError(errors.BAD_FILTER, f"{name}={raw[:20]}")
            return Decimal(raw)

        status = (args.get("statut") or args.get("status") or "").strip()
        if status and status not in STATUS_FILTERS:
            raise AmeliproError(errors.BAD_FILTER, f"statut={status}")
        return cls(status=status, start=day("du") or day("from"), end=day("au") or day("to"),
                   patient=(args.get("patient") or "").strip().replace(" ", "")[:15],
                   min_amount=amount("min"), max_amount=amount("max"),
                   late_only=(args.get("retard") or args.get("late") or "") in ("1", "true", "on"))

    def query_args(self) -> dict[str, str]:
        out = {"statut": self.status, "du": self.start.isoformat() if self.start else "",
               "au": self.end.isoformat() if self.end else "", "patient": self.patient,
               "min": str(self.min_amount) if self.min_amount is not None else "",
               "max": str(self.max_amount) if self.max_amount is not None else "",
               "retard": "1" if self.late_only else ""}
        return {k: v for k, v in out.items() if v}


def _filtered(pro: Professional, f: PaymentFilter) -> Select:
    stmt = select(Payment).where(Payment.professional_id == pro.id)
    if f.status:
        stmt = stmt.where(Payment.status.in_(STATUS_FILTERS[f.status]))
    if f.start:
        stmt = stmt.where(Payment.acknowledged_on >= f.start)
    if f.end:
        stmt = stmt.where(Payment.acknowledged_on <= f.end)
    if f.patient:
        stmt = stmt.where(Payment.patient_nir.startswith(f.patient, autoescape=True))
    if f.min_amount is not None:
        stmt = stmt.where(Payment.amo_claimed >= f.min_amount)
    if f.max_amount is not None:
        stmt = stmt.where(Payment.amo_claimed <= f.max_amount)
    return stmt


@dataclass(frozen=True)
class PaymentRow:
    payment: Payment
    delay: DelayAssessment | None


@dataclass(frozen=True)
class PaymentPage:
    rows: tuple[PaymentRow, ...]
    total: int
    page: int
    pages: int
    amount: Decimal


def list_payments(session: Session, pro: Professional, f: PaymentFilter, today: date,
                  page: int = 1, page_size: int = PAGE_SIZE) -> PaymentPage:
    stmt = _filtered(pro, f)
    if f.late_only:
        rows = [PaymentRow(p, delay_of(p, today)) for p in session.scalars(stmt.order_by(Payment.id.desc()))]
        rows = [r for r in rows if r.delay and r.delay.late]
        total = len(rows)
        amount = sum((r.payment.amo_claimed for r in rows), ZERO)
        pages = max(1, -(-total // page_size))
        page = min(max(1, page), pages)
        return PaymentPage(tuple(rows[(page - 1) * page_size: page * page_size]), total, page, pages, amount)
    sub = stmt.subquery()
    total, amount = session.execute(select(func.count(), func.coalesce(func.sum(sub.c.amo_claimed), 0))).one()
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    items = session.scalars(stmt.order_by(Payment.acknowledged_on.desc(), Payment.id.desc())
                            .offset((page - 1) * page_size).limit(page_size)).all()
    return PaymentPage(tuple(PaymentRow(p, delay_of(p, today)) for p in items), total, page, pages,
                       Decimal(amount))


CSV_HEADER = ["fse", "facture", "patient_nir", "date_soins", "date_accuse_reception", "echeance",
              "statut", "part_amo_demandee", "part_amo_payee", "date_valeur", "virement",
              "code_rejet", "jours_ouvres", "jours_retard", "penalite"]


def export_payments_csv(session: Session, pro: Professional, f: PaymentFilter, today: date) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    stmt = _filtered(pro, f).options(selectinload(Payment.virement)).order_by(Payment.id)
    for p in session.scalars(stmt):
        d = delay_of(p, today)
        if f.late_only and not (d and d.late):
            continue
        writer.writerow([
            p.fse_id, _cell(p.invoice_number), _cell(p.patient_nir), _iso(p.care_date), _iso(p.acknowledged_on),
            _iso(p.due_date), p.status.label, _fr(p.amo_claimed), _fr(p.amo_paid), _iso(p.paid_on),
            p.virement.reference if p.virement else "", p.reject_code,
            d.day_number if d else "", d.days_late if d else "", _fr(d.penalty) if d else "",
        ])
    return out.getvalue()


def _cell(text: str | None) -> str:
    """Text from practice software, neutralised for spreadsheets (no formula injection)."""
    text = text or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def _fr(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}".replace(".", ",")


# --- one payment ------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentDetail:
    payment: Payment
    fse: StoredFse
    transitions: tuple[PaymentTransition, ...]
    rsp: RspReturn | None
    delay: DelayAssessment | None
    replaced_by: Payment | None  # the corrected FSE's payment
    corrects: Payment | None  # the rejected payment this FSE replaces


def _own_payment(session: Session, pro: Professional, condition) -> Payment:
    payment = session.scalar(select(Payment).where(condition, Payment.professional_id == pro.id))
    if payment is None:
        raise AmeliproError(errors.NOT_FOUND)
    return payment


def get_payment(session: Session, pro: Professional, payment_id: int) -> Payment:
    return _own_payment(session, pro, Payment.id == payment_id)


def payment_by_fse(session: Session, pro: Professional, fse_id: int) -> Payment:
    return _own_payment(session, pro, Payment.fse_id == fse_id)


def payment_detail(session: Session, pro: Professional, payment_id: int, today: date) -> PaymentDetail:
    payment = get_payment(session, pro, payment_id)
    fse = session.get(StoredFse, payment.fse_id)
    transitions = session.scalars(select(PaymentTransition).where(
        PaymentTransition.payment_id == payment.id).order_by(PaymentTransition.id)).all()
    rsp = session.scalar(select(RspReturn).where(RspReturn.payment_id == payment.id))
    replaced_by = corrects = None
    if payment.replaced_by_fse_id:
        replaced_by = session.scalar(select(Payment).where(Payment.fse_id == payment.replaced_by_fse_id,
                                                           Payment.professional_id == pro.id))
    corrects = session.scalar(select(Payment).where(Payment.replaced_by_fse_id == payment.fse_id,
                                                    Payment.professional_id == pro.id))
    if corrects is None and fse is not None and fse.corrects_id:
        corrects = session.scalar(select(Payment).where(Payment.fse_id == fse.corrects_id,
                                                        Payment.professional_id == pro.id))
    return PaymentDetail(payment, fse, tuple(transitions), rsp, delay_of(payment, today),
                         replaced_by, corrects)


# --- returns feed --------------------------------------------------------------------------


def parse_cursor(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > 2**63 - 1:
        raise AmeliproError(errors.BAD_CURSOR, raw[:40])
    return int(raw)


def returns_since(session: Session, pro: Professional, since: int,
                  limit: int = FEED_LIMIT) -> tuple[list[ReturnRecord], int]:
    """Returns after ``since`` in cursor order; ``next`` is the last one given (or ``since``).

    Paid adjustments (granted complaints and penalty claims) take their cursor from the same
    counter and come in the same order, as records of kind ``regularisation``."""
    limit = max(1, min(limit, FEED_LIMIT))
    rows = session.scalars(
        select(RspReturn).options(selectinload(RspReturn.virement).selectinload(Virement.bank_account))
        .where(RspReturn.professional_id == pro.id, RspReturn.cursor > since)
        .order_by(RspReturn.cursor).limit(limit)
    ).all()
    adjustments = session.scalars(
        select(Adjustment).options(selectinload(Adjustment.virement).selectinload(Virement.bank_account),
                                   selectinload(Adjustment.payment))
        .where(Adjustment.professional_id == pro.id, Adjustment.cursor > since)
        .order_by(Adjustment.cursor).limit(limit)
    ).all()
    records = [
        ReturnRecord(
            cursor=r.cursor, fse_id=r.fse_id, invoice_number=r.invoice_number, status=r.status.value,
            liquidated_on=r.liquidated_on, care_date=r.care_date, charged=r.charged, base=r.base,
            amo_claimed=r.amo_claimed, amo_paid=r.amo_paid,
            codes=tuple(ReturnCode(c["code"], c["message"], c.get("hint", "")) for c in r.codes),
            virement_reference=r.virement.reference if r.virement else None,
            value_date=r.virement.value_date if r.virement else None,
            bank_account=r.virement.bank_account.masked if r.virement and r.virement.bank_account else None,
        )
        for r in rows
    ]
    records += [adjustment_record(a) for a in adjustments]
    records = sorted(records, key=lambda r: r.cursor)[:limit]
    return records, (records[-1].cursor if records else since)


def adjustment_record(a: Adjustment) -> ReturnRecord:
    """A paid adjustment as an item of the returns feed."""
    payment = a.payment
    return ReturnRecord(
        cursor=a.cursor, fse_id=payment.fse_id if payment else None,
        invoice_number=payment.invoice_number if payment else "", status="regularisation",
        liquidated_on=a.liquidated_on, care_date=payment.care_date if payment else None,
        charged=ZERO, base=ZERO, amo_claimed=ZERO, amo_paid=a.amount,
        virement_reference=a.virement.reference if a.virement else None,
        value_date=a.virement.value_date if a.virement else None,
        bank_account=a.virement.bank_account.masked if a.virement and a.virement.bank_account else None,
        kind="regularisation",
        adjustment={"id": a.id, "kind": a.kind, "reason": a.reason,
                    "month": f"{a.month:%Y-%m}" if a.month else None, "amount": f"{a.amount:.2f}"},
    )


# --- penalties -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PenaltyLine:
    payment: Payment
    delay: DelayAssessment


@dataclass(frozen=True)
class PenaltyStatement:
    month: date
    lines: tuple[PenaltyLine, ...]
    total: Decimal


def penalty_statement(session: Session, pro: Professional, month: date, today: date) -> PenaltyStatement:
    """Penalties of the month: FSE paid late in the month, and FSE still unpaid past their
    due date at the end of the month (or today), with the penalty accrued by then."""
    first, last = month_bounds(month)
    as_of = min(last, today)
    stmt = select(Payment).where(
        Payment.professional_id == pro.id,
        or_(and_(Payment.status.in_(PAID_STATUSES), Payment.paid_on.between(first, last)),
            and_(Payment.status.in_(PENDING_STATUSES), Payment.due_date < as_of)),
    ).order_by(Payment.acknowledged_on, Payment.id)
    lines = []
    for p in session.scalars(stmt):
        d = assess_delay(p.acknowledged_on, p.amo_paid if p.amo_paid is not None else p.amo_claimed,
                         paid_on=p.paid_on, today=as_of)
        if d.penalty > 0:
            lines.append(PenaltyLine(p, d))
    return PenaltyStatement(first, tuple(lines), sum((li.delay.penalty for li in lines), ZERO))


def penalty_statement_csv(statement: PenaltyStatement, pro: Professional) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([f"Relevé des pénalités de retard — {month_fr(statement.month)}", pro.display_name,
                     f"RPPS {pro.rpps or ''}", f"n° AM {pro.am_number or ''}"])
    writer.writerow(["fse", "facture", "patient_nir", "date_accuse_reception", "echeance",
                     "date_paiement", "jours_ouvres", "jours_retard", "part_amo", "nature_penalite",
                     "penalite"])
    for line in statement.lines:
        p, d = line.payment, line.delay
        writer.writerow([p.fse_id, _cell(p.invoice_number), _cell(p.patient_nir), _iso(p.acknowledged_on),
                         _iso(d.due_date), _iso(p.paid_on) or "impayée", d.day_number, d.days_late,
                         _fr(p.amo_paid if p.amo_paid is not None else p.amo_claimed),
                         d.penalty_kind, _fr(d.penalty)])
    writer.writerow(["total", "", "", "", "", "", "", "", "", "", _fr(statement.total)])
    return out.getvalue()
