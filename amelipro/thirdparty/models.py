"""Tiers-payant storage: payment state per FSE with its append-only history, virements,
RSP returns with a monotonically increasing cursor, bank statements and match results.

Nothing here commits: the services in ``liquidation.py`` and ``services.py`` do.
"""

from __future__ import annotations

import enum
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from amelipro import clock
from amelipro.account.models import BankAccount
from amelipro.db import Base, UTCDateTime
from amelipro.thirdparty.reconciliation import MatchStatus
from amelipro.thirdparty.states import PaymentStatus, ReturnStatus

ZERO = Decimal("0.00")


def _now() -> datetime:
    return clock.utcnow()  # read at each insert: the clock's override applies


def _enum(cls: type[enum.Enum], length: int) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Payment(Base):
    """Where one accepted tiers-payant FSE stands (one row per FSE)."""

    __tablename__ = "tp_payment"
    __table_args__ = (
        # Liquidation claims: a partial index holds only the FSE waiting for liquidation, so
        # liquidated rows leave it (no dead entries to skip, one index fewer to update).
        Index("ix_tp_payment_to_liquidate", "id", sqlite_where=text("status = 'acceptee'"),
              postgresql_where=text("status = 'acceptee'")),
        Index("ix_tp_payment_professional_ack", "professional_id", "acknowledged_on"),
        Index("ix_tp_payment_professional_nir", "professional_id", "patient_nir", "care_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fse_id: Mapped[int] = mapped_column(ForeignKey("fse.id"), unique=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"))
    status: Mapped[PaymentStatus] = mapped_column(_enum(PaymentStatus, 16))
    invoice_number: Mapped[str] = mapped_column(String(32), default="")
    patient_nir: Mapped[str] = mapped_column(String(15), default="")
    care_date: Mapped[date | None] = mapped_column()
    acknowledged_on: Mapped[date] = mapped_column()  # day 0 of the 7 working days
    due_date: Mapped[date] = mapped_column()
    charged: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=ZERO)
    base: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=ZERO)
    amo_claimed: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=ZERO)
    amo_paid: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    reject_code: Mapped[str] = mapped_column(String(16), default="")
    liquidated_on: Mapped[date | None] = mapped_column()
    paid_on: Mapped[date | None] = mapped_column()  # value date of the virement
    virement_id: Mapped[int | None] = mapped_column(ForeignKey("tp_virement.id"), index=True)
    replaced_by_fse_id: Mapped[int | None] = mapped_column(ForeignKey("fse.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)

    virement: Mapped[Virement | None] = relationship(back_populates="payments")
    transitions: Mapped[list[PaymentTransition]] = relationship(
        order_by="PaymentTransition.id", back_populates="payment"
    )


class PaymentTransition(Base):
    """Append-only history: every status change with its time and cause.

    The application only inserts; triggers refuse UPDATE and DELETE (both databases).
    """

    __tablename__ = "tp_transition"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("tp_payment.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    event: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    cause: Mapped[str] = mapped_column(Text, default="")  # French, for people
    actor: Mapped[str] = mapped_column(String(64), default="")

    payment: Mapped[Payment] = relationship(back_populates="transitions")


class Virement(Base):
    """One bank transfer per professional and value date, covering that day's payments.

    Its amount is the sum of the payments attached to it (``services.virement_views``):
    no hot row to update, so concurrent liquidation workers never wait on each other here.
    """

    __tablename__ = "tp_virement"
    __table_args__ = (UniqueConstraint("professional_id", "value_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"), index=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    value_date: Mapped[date] = mapped_column()
    received_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=ZERO)
    received_on: Mapped[date | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    # the professional's bank account in force on the liquidation day (amelipro.account)
    bank_account_id: Mapped[int | None] = mapped_column(ForeignKey("account_bank.id"))

    payments: Mapped[list[Payment]] = relationship(back_populates="virement")
    bank_account: Mapped[BankAccount | None] = relationship()


class RspReturn(Base):
    """A published return (RSP). ``cursor`` only ever increases, in commit order."""

    __tablename__ = "tp_return"
    __table_args__ = (Index("ix_tp_return_professional_cursor", "professional_id", "cursor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger, unique=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"))
    payment_id: Mapped[int] = mapped_column(ForeignKey("tp_payment.id"), unique=True)  # one return per FSE
    fse_id: Mapped[int] = mapped_column(ForeignKey("fse.id"))
    status: Mapped[ReturnStatus] = mapped_column(_enum(ReturnStatus, 8))
    invoice_number: Mapped[str] = mapped_column(String(32), default="")
    liquidated_on: Mapped[date] = mapped_column()
    care_date: Mapped[date | None] = mapped_column()
    charged: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=ZERO)
    base: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=ZERO)
    amo_claimed: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=ZERO)
    amo_paid: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=ZERO)
    codes_json: Mapped[str] = mapped_column(Text, default="[]")  # [{code, message, hint}]
    virement_id: Mapped[int | None] = mapped_column(ForeignKey("tp_virement.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)

    virement: Mapped[Virement | None] = relationship()

    @property
    def codes(self) -> list[dict[str, Any]]:
        return json.loads(self.codes_json or "[]")


class Counter(Base):
    """Named counters incremented under a row lock (the returns cursor)."""

    __tablename__ = "tp_counter"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class BankStatementRecord(Base):
    __tablename__ = "tp_statement"
    __table_args__ = (UniqueConstraint("professional_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"), index=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    filename: Mapped[str] = mapped_column(String(200), default="")
    format: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    statement_ref: Mapped[str] = mapped_column(String(200), default="")
    iban: Mapped[str] = mapped_column(String(34), default="")
    period_start: Mapped[date] = mapped_column()
    period_end: Mapped[date] = mapped_column()
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    matched_count: Mapped[int] = mapped_column(Integer, default=0)
    partial_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)
    unknown_count: Mapped[int] = mapped_column(Integer, default=0)
    credits_total: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=ZERO)
    skipped_json: Mapped[str] = mapped_column(Text, default="[]")

    lines: Mapped[list[BankStatementLine]] = relationship(
        order_by="BankStatementLine.id", back_populates="statement"
    )

    @property
    def skipped(self) -> list[str]:
        return json.loads(self.skipped_json or "[]")


class BankStatementLine(Base):
    __tablename__ = "tp_statement_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("tp_statement.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    booking_date: Mapped[date] = mapped_column()
    value_date: Mapped[date] = mapped_column()
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    reference: Mapped[str] = mapped_column(String(140), default="")
    label: Mapped[str] = mapped_column(String(500), default="")
    counterparty: Mapped[str] = mapped_column(String(140), default="")
    bank_reference: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[MatchStatus] = mapped_column(_enum(MatchStatus, 16))
    virement_id: Mapped[int | None] = mapped_column(ForeignKey("tp_virement.id"), index=True)
    expected: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    difference: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    method: Mapped[str] = mapped_column(String(16), default="")
    # credited to an account that is not the professional's in force (or the virement's)
    other_account: Mapped[bool] = mapped_column(default=False)

    statement: Mapped[BankStatementRecord] = relationship(back_populates="lines")
    virement: Mapped[Virement | None] = relationship()


class AdjustmentStatus(enum.StrEnum):
    DUE = "due"  # granted, waiting for the next liquidation
    PAID = "payee"

    @property
    def label(self) -> str:
        return {"due": "Accordée, à payer à la prochaine liquidation", "payee": "Payée"}[self.value]


class Adjustment(Base):
    """An amount the caisse owes the professional after a complaint or a penalty claim was
    granted (« régularisation »): paid by the next liquidation run with that day's virement,
    and published in the returns feed with a cursor of the same counter as the RSP returns."""

    __tablename__ = "tp_adjustment"
    __table_args__ = (Index("ix_tp_adjustment_professional_cursor", "professional_id", "cursor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("tp_payment.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "reclamation" | "penalites"
    month: Mapped[date | None] = mapped_column()  # penalty claim: first day of the month
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    reason: Mapped[str] = mapped_column(Text, default="")  # French, for people
    source: Mapped[str] = mapped_column(String(32), default="")  # e.g. "message:12"
    status: Mapped[AdjustmentStatus] = mapped_column(_enum(AdjustmentStatus, 8), default=AdjustmentStatus.DUE)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    liquidated_on: Mapped[date | None] = mapped_column()
    paid_on: Mapped[date | None] = mapped_column()  # value date of the virement
    virement_id: Mapped[int | None] = mapped_column(ForeignKey("tp_virement.id"), index=True)
    cursor: Mapped[int | None] = mapped_column(BigInteger, unique=True)  # set when paid

    virement: Mapped[Virement | None] = relationship()
    payment: Mapped[Payment | None] = relationship()
