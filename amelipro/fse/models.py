"""Storage of submitted lots and care sheets (FSE), and of idempotency keys.

Everything is scoped by professional. A lot is written whole, in one transaction, by
``amelipro.fse.services.submit_lot``; nothing here commits.

Tables: ``fse_lot``, ``fse``, ``fse_idempotency_key`` (the tiers-payant package refers to
``fse.id``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from amelipro.db import Base, UTCDateTime, utcnow
from amelipro.issues import Issue


def _enum(cls: type[enum.Enum], length: int) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class LotStatus(enum.StrEnum):
    """Outcome of a lot that received a positive ARL (negative lots are not stored)."""

    ACCEPTED = "accepte"  # every FSE accepted (or recognised as already received)
    PARTIAL = "partiel"  # some FSE rejected
    REJECTED = "rejete"  # every FSE rejected

    @property
    def label(self) -> str:
        return {"accepte": "Accepté", "partiel": "Partiellement accepté", "rejete": "Rejeté"}[self.value]


class FseStatus(enum.StrEnum):
    ACCEPTED = "acceptee"
    REJECTED = "rejetee"
    DUPLICATE = "doublon"  # identical to an FSE already accepted: points to it, not billed twice

    @property
    def label(self) -> str:
        return {"acceptee": "Acceptée", "rejetee": "Rejetée", "doublon": "Déjà reçue"}[self.value]


class IdempotencyState(enum.StrEnum):
    IN_PROGRESS = "en_cours"
    DONE = "termine"


class Lot(Base):
    __tablename__ = "fse_lot"

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"), index=True)
    lot_number: Mapped[str] = mapped_column(String(64), default="")  # as sent, may be empty
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    status: Mapped[LotStatus] = mapped_column(_enum(LotStatus, 16))
    source: Mapped[str] = mapped_column(String(16), default="api")  # "api" | "web"
    fse_count: Mapped[int] = mapped_column(Integer, default=0)
    accepted_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)
    amo_accepted: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0.00"))
    body_sha256: Mapped[str] = mapped_column(String(64))
    body_size: Mapped[int] = mapped_column(Integer, default=0)
    arl_xml: Mapped[str] = mapped_column(Text, default="")  # the signed ARL as answered

    care_sheets: Mapped[list[StoredFse]] = relationship(
        back_populates="lot", order_by="StoredFse.position", foreign_keys="StoredFse.lot_id"
    )


class StoredFse(Base):
    """One care sheet as received: its signed XML, what it said, what the gateway found."""

    __tablename__ = "fse"
    __table_args__ = (
        # An invoice number is billed once per professional: only one accepted FSE holds it.
        # Partial unique index, the same on SQLite and PostgreSQL; concurrent lots collide here.
        Index(
            "uq_fse_accepted_invoice",
            "professional_id",
            "invoice_number",
            unique=True,
            sqlite_where=text("status = 'acceptee'"),
            postgresql_where=text("status = 'acceptee'"),
        ),
        Index("ix_fse_professional_invoice", "professional_id", "invoice_number"),
        Index("ix_fse_professional_content", "professional_id", "content_hash"),
        # The patient's history of charges (annual and day caps), read per lot.
        Index("ix_fse_patient_care", "patient_nir", "patient_rank", "first_care_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("fse_lot.id"), index=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"))
    position: Mapped[int] = mapped_column(Integer)  # 1-based rank in the lot
    element_id: Mapped[str] = mapped_column(String(64), default="")  # the FSE element's Id
    status: Mapped[FseStatus] = mapped_column(_enum(FseStatus, 16))
    # Canonical hash of the care sheet's content (not of its bytes nor its signature).
    content_hash: Mapped[str] = mapped_column(String(64))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("fse.id"))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("fse.id"))  # corrected resubmission of

    invoice_number: Mapped[str] = mapped_column(String(32), default="")
    invoice_date: Mapped[date | None] = mapped_column()
    first_care_date: Mapped[date | None] = mapped_column()
    last_care_date: Mapped[date | None] = mapped_column()
    patient_nir: Mapped[str] = mapped_column(String(15), default="")
    patient_birth_date: Mapped[date | None] = mapped_column()
    patient_rank: Mapped[int] = mapped_column(Integer, default=1)
    nature: Mapped[str] = mapped_column(String(2), default="")
    pathway: Mapped[bool] = mapped_column(default=True)
    exemption: Mapped[str] = mapped_column(String(16), default="")
    tiers_payant_amo: Mapped[bool] = mapped_column(default=False)
    tiers_payant_amc: Mapped[bool] = mapped_column(default=False)

    # Amounts as sent by the practice software and as computed by the gateway.
    charged_sent: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    base_sent: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    amo_sent: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    charged_computed: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    base_computed: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    amo_computed: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    patient_charges: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # PF + franchises
    # The two charges apart (their sum is patient_charges), after the caps given the patient's
    # history (amelipro.fse.history): what the annual and day caps count for later FSE.
    participation: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # participation forfaitaire
    franchise: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # franchises médicales

    lines_json: Mapped[str] = mapped_column(Text, default="[]")  # lines, sent vs computed
    errors_json: Mapped[str] = mapped_column(Text, default="[]")  # [{code, message, hint, path, line}]
    signed_xml: Mapped[str] = mapped_column(Text, default="")  # the FSE element as signed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lot: Mapped[Lot] = relationship(back_populates="care_sheets", foreign_keys=[lot_id])

    @property
    def errors(self) -> list[Issue]:
        from amelipro.fse.stored import read_errors

        return read_errors(self.errors_json)

    @property
    def lines(self) -> list[dict[str, Any]]:
        from amelipro.fse.stored import read_lines

        return read_lines(self.lines_json)


class IdempotencyKey(Base):
    """``Idempotency-Key`` of an API request: the first answer is kept and replayed."""

    __tablename__ = "fse_idempotency_key"
    __table_args__ = (UniqueConstraint("professional_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))  # sha256 of method, path and body
    state: Mapped[IdempotencyState] = mapped_column(_enum(IdempotencyState, 16))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_content_type: Mapped[str] = mapped_column(String(100), default="")
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("fse_lot.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
