"""Virements: one bank transfer per professional and value date, and the bank statements
that show them received.

- :func:`ensure_virements` (liquidation, no commit): the day's virement of each professional,
  created if missing, to the bank account in force;
- reads scoped to one professional (pages and API): :func:`virement_views`,
  :func:`virement_detail`, :func:`list_statements`, :func:`statement_detail`;
- :func:`import_statement`: a camt.053 or CSV bank statement matched to the virements
  (one transaction, commits).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from amelipro import audit
from amelipro.account.banking import account_in_force, accounts_in_force
from amelipro.account.models import BankAccount, mask_iban
from amelipro.auth.models import Professional
from amelipro.errors import AmeliproError
from amelipro.thirdparty import calendar, errors
from amelipro.thirdparty.models import (
    Adjustment,
    BankStatementLine,
    BankStatementRecord,
    Payment,
    Virement,
)
from amelipro.thirdparty.reconciliation import (
    AnnouncedVirement,
    MatchStatus,
    credited_elsewhere,
    reconcile,
    virement_reference,
)
from amelipro.thirdparty.statements import read_statement
from amelipro.thirdparty.writes import insert_ignore

ZERO = Decimal("0.00")


# --- the liquidation's virements --------------------------------------------------------


def value_date_for(day: date) -> date:
    """A virement is valued on the liquidation day, or the next working day."""
    return day if calendar.is_working_day(day) else calendar.add_working_days(day, 1)


def ensure_virements(session: Session, pro_ids: list[int], value_date: date,
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
    insert_ignore(session, Virement, rows, None, [Virement.id])
    found = session.execute(select(Virement.professional_id, Virement.id).where(
        Virement.professional_id.in_(pro_ids), Virement.value_date == value_date)).all()
    return dict(found)


# --- one professional's virements and bank statements -------------------------------------


@dataclass(frozen=True)
class VirementView:
    """A virement with its amount: the sum of the payments it carries."""

    id: int
    reference: str
    value_date: date
    amount: Decimal
    fse_count: int
    received_amount: Decimal
    received_on: date | None
    bank_account: str = ""  # the account paid to, masked (FR76 •••• 1234); "" before accounts

    @property
    def reception(self) -> str:
        if self.received_amount == 0:
            return "annonce"
        return "recu" if self.received_amount == self.amount else "ecart"


def virement_views(session: Session, pro: Professional, *conditions) -> list[VirementView]:
    adjustments = (select(func.coalesce(func.sum(Adjustment.amount), 0))
                   .where(Adjustment.virement_id == Virement.id).correlate(Virement).scalar_subquery())
    stmt = (
        select(Virement.id, Virement.reference, Virement.value_date,
               func.coalesce(func.sum(Payment.amo_paid), 0) + adjustments, func.count(Payment.id),
               Virement.received_amount, Virement.received_on, BankAccount.iban)
        .outerjoin(Payment, Payment.virement_id == Virement.id)
        .outerjoin(BankAccount, BankAccount.id == Virement.bank_account_id)
        .where(Virement.professional_id == pro.id, *conditions)
        .group_by(Virement.id, Virement.reference, Virement.value_date, Virement.received_amount,
                  Virement.received_on, BankAccount.iban)
        .order_by(Virement.value_date.desc(), Virement.id.desc())
    )
    return [VirementView(r[0], r[1], r[2], Decimal(r[3]).quantize(Decimal("0.01")), r[4], r[5], r[6],
                         mask_iban(r[7]) if r[7] else "")
            for r in session.execute(stmt)]


@dataclass(frozen=True)
class VirementDetail:
    virement: VirementView
    payments: tuple[Payment, ...]
    credits: tuple[BankStatementLine, ...]


def list_virements(session: Session, pro: Professional, limit: int = 200) -> list[VirementView]:
    return virement_views(session, pro)[:limit]


def virement_detail(session: Session, pro: Professional, virement_id: int) -> VirementDetail:
    found = virement_views(session, pro, Virement.id == virement_id)
    if not found:
        raise AmeliproError(errors.NOT_FOUND)
    payments = session.scalars(select(Payment).where(Payment.virement_id == virement_id,
                                                     Payment.professional_id == pro.id)
                               .order_by(Payment.id)).all()
    credits = session.scalars(select(BankStatementLine).where(BankStatementLine.virement_id == virement_id)
                              .order_by(BankStatementLine.id)).all()
    return VirementDetail(found[0], tuple(payments), tuple(credits))



@dataclass(frozen=True)
class StatementDetail:
    statement: BankStatementRecord
    lines: tuple[BankStatementLine, ...]
    missing: tuple[VirementView, ...]


def import_statement(session: Session, pro: Professional, data: bytes, filename: str = "") -> BankStatementRecord:
    """Read a bank statement, match its credits to the professional's virements, store both."""
    if not data:
        raise AmeliproError(errors.STATEMENT_MISSING)
    statement = read_statement(data, filename)
    existing = session.scalar(select(BankStatementRecord.id).where(
        BankStatementRecord.professional_id == pro.id, BankStatementRecord.sha256 == statement.sha256))
    if existing is not None:
        raise AmeliproError(errors.STATEMENT_DUPLICATE, statement_id=existing)
    virements = session.scalars(select(Virement).where(Virement.professional_id == pro.id)
                                .with_for_update()).all()
    amounts = {v.id: v.amount for v in virement_views(session, pro)}
    announced = [AnnouncedVirement(v.id, v.reference, amounts.get(v.id, ZERO), v.value_date,
                                   v.received_amount) for v in virements]
    result = reconcile(statement.lines, announced, period_end=statement.period_end)
    record = BankStatementRecord(
        professional_id=pro.id, filename=filename[:200], format=statement.format,
        sha256=statement.sha256, statement_ref=statement.statement_id[:200], iban=statement.iban[:34],
        period_start=statement.period_start, period_end=statement.period_end,
        line_count=len(statement.lines),
        matched_count=result.count(MatchStatus.MATCHED), partial_count=result.count(MatchStatus.PARTIAL),
        duplicate_count=result.count(MatchStatus.DUPLICATE), unknown_count=result.count(MatchStatus.UNKNOWN),
        credits_total=result.credits_total, skipped_json=json.dumps(list(statement.skipped), ensure_ascii=False),
    )
    session.add(record)
    session.flush()
    by_id = {v.id: v for v in virements}
    for m in result.matches:
        line = m.line
        other = False
        if line.is_credit and statement.iban:
            virement = by_id.get(m.virement_id) if m.virement_id else None
            expected = virement.bank_account if virement is not None and virement.bank_account_id else \
                account_in_force(session, pro.id, line.value_date)
            other = credited_elsewhere(statement.iban, expected.iban if expected else None)
        session.add(BankStatementLine(
            statement_id=record.id, position=line.position, booking_date=line.booking_date,
            value_date=line.value_date, amount=line.amount, currency=line.currency[:3],
            reference=line.reference[:140], label=line.label[:500], counterparty=line.counterparty[:140],
            bank_reference=line.bank_reference[:64], status=m.status, virement_id=m.virement_id,
            expected=m.expected, difference=m.difference, method=m.method, other_account=other,
        ))
    for vid, received in result.received.items():
        v = by_id[vid]
        if received != v.received_amount:
            v.received_amount = received
            if v.received_on is None:
                v.received_on = max(m.line.value_date for m in result.matches if m.virement_id == vid)
    audit.record(session, "thirdparty.statement_import", actor_id=pro.id, actor_login=pro.login,
                 statement=record.id, lines=len(statement.lines), format=statement.format)
    try:
        session.commit()
    except IntegrityError:  # the same file uploaded twice at once
        session.rollback()
        raise AmeliproError(errors.STATEMENT_DUPLICATE) from None
    return record


def list_statements(session: Session, pro: Professional) -> list[BankStatementRecord]:
    return list(session.scalars(select(BankStatementRecord).where(BankStatementRecord.professional_id == pro.id)
                                .order_by(BankStatementRecord.id.desc()).limit(100)))


def statement_detail(session: Session, pro: Professional, statement_id: int) -> StatementDetail:
    record = session.scalar(select(BankStatementRecord).where(
        BankStatementRecord.id == statement_id, BankStatementRecord.professional_id == pro.id))
    if record is None:
        raise AmeliproError(errors.NOT_FOUND)
    lines = session.scalars(select(BankStatementLine).options(selectinload(BankStatementLine.virement))
                            .where(BankStatementLine.statement_id == record.id)
                            .order_by(BankStatementLine.id)).all()
    missing = sorted(virement_views(session, pro, Virement.received_amount == 0,
                                    Virement.value_date <= record.period_end),
                     key=lambda v: (v.value_date, v.reference))
    return StatementDetail(record, tuple(lines), tuple(missing))
