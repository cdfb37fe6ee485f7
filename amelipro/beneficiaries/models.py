"""The caisse's file of insured persons: beneficiaries and their dated periods."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from amelipro import clock
from amelipro.beneficiaries.domain import Cover
from amelipro.db import Base, UTCDateTime


def _now() -> datetime:
    return clock.utcnow()  # read at each insert: the clock's override applies


class Beneficiary(Base):
    """One person of the file, identified by NIR (15 characters) and rank."""

    __tablename__ = "beneficiary"
    __table_args__ = (UniqueConstraint("nir", "rank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    nir: Mapped[str] = mapped_column(String(15))
    rank: Mapped[int] = mapped_column(default=1)
    birth_date: Mapped[date] = mapped_column(Date)
    last_name: Mapped[str] = mapped_column(String(100), default="")
    first_name: Mapped[str] = mapped_column(String(100), default="")
    regime: Mapped[str] = mapped_column(String(2), default="01")
    caisse: Mapped[str] = mapped_column(String(3), default="")
    centre: Mapped[str] = mapped_column(String(4), default="")
    alsace_moselle: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)

    rights_periods: Mapped[list[RightsPeriod]] = relationship(
        back_populates="beneficiary", cascade="all, delete-orphan", order_by="RightsPeriod.start_date"
    )
    covers: Mapped[list[CoverPeriod]] = relationship(
        back_populates="beneficiary", cascade="all, delete-orphan", order_by="CoverPeriod.start_date"
    )
    ehpad_stays: Mapped[list[EhpadStay]] = relationship(
        back_populates="beneficiary", cascade="all, delete-orphan", order_by="EhpadStay.start_date"
    )


class RightsPeriod(Base):
    """Rights open from ``start_date`` to ``end_date`` (inclusive; None: open-ended)."""

    __tablename__ = "beneficiary_rights"
    __table_args__ = (Index("ix_beneficiary_rights_beneficiary_start", "beneficiary_id", "start_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiary.id", ondelete="CASCADE"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)

    beneficiary: Mapped[Beneficiary] = relationship(back_populates="rights_periods")


class CoverPeriod(Base):
    """An exemption or cover (ALD, maternity, AT/MP, C2S, AME) over a period."""

    __tablename__ = "beneficiary_cover"
    __table_args__ = (Index("ix_beneficiary_cover_beneficiary_start", "beneficiary_id", "start_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiary.id", ondelete="CASCADE"))
    cover: Mapped[Cover] = mapped_column(
        Enum(Cover, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    detail: Mapped[str] = mapped_column(String(200), default="")

    beneficiary: Mapped[Beneficiary] = relationship(back_populates="covers")


class EhpadStay(Base):
    """Residence in a nursing home (EHPAD) over a period."""

    __tablename__ = "beneficiary_ehpad_stay"
    __table_args__ = (Index("ix_beneficiary_ehpad_stay_beneficiary_start", "beneficiary_id", "start_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiary.id", ondelete="CASCADE"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    finess: Mapped[str] = mapped_column(String(9), default="")
    name: Mapped[str] = mapped_column(String(200), default="")

    beneficiary: Mapped[Beneficiary] = relationship(back_populates="ehpad_stays")
