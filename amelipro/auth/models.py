from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from amelipro.db import Base, UTCDateTime, utcnow
from amelipro.domain import Profession


class Role(enum.StrEnum):
    PROFESSIONAL = "professional"
    OPERATOR = "operator"
    CAISSE = "caisse"  # an agent of the caisse: answers the professionals' messages


class Professional(Base):
    __tablename__ = "professional"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=Role.PROFESSIONAL,
    )
    profession: Mapped[Profession | None] = mapped_column(
        Enum(Profession, native_enum=False, length=40, values_callable=lambda e: [m.value for m in e])
    )
    rpps: Mapped[str | None] = mapped_column(String(11), unique=True)
    am_number: Mapped[str | None] = mapped_column(String(9))
    finess: Mapped[str | None] = mapped_column(String(9))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    structure: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="professional")

    @property
    def display_name(self) -> str:
        if self.role == Role.OPERATOR:
            return f"{self.first_name} {self.last_name} (opérateur)"
        if self.role == Role.CAISSE:
            return f"{self.first_name} {self.last_name} (caisse)"
        title = "Dr " if self.profession in (
            Profession.MEDECIN_GENERALISTE, Profession.MEDECIN_SPECIALISTE
        ) else ""
        return f"{title}{self.first_name} {self.last_name}"

    @property
    def is_operator(self) -> bool:
        return self.role == Role.OPERATOR

    @property
    def is_caisse_agent(self) -> bool:
        """Agents of the caisse answer the messagerie; operators may act as agents too."""
        return self.role in (Role.CAISSE, Role.OPERATOR)


class LoginSession(Base):
    """Server-side record of a login: the cookie only carries its random id.

    Logout revokes the row, so a copy of the old cookie no longer authenticates.
    """

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    remote_addr: Mapped[str] = mapped_column(String(64), default="")

    professional: Mapped[Professional] = relationship()


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    professional: Mapped[Professional] = relationship(back_populates="tokens")


class LoginFailure(Base):
    """One failed login attempt, for throttling (by login and by address)."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_login_at", "login", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64))
    remote_addr: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProfessionalPractice(Base):
    """A doctor's sector (1, 2, 2 with OPTAM) and specialty from ``valid_from`` to
    ``valid_to`` (inclusive; None: still in force), set by an operator. The pricing reads the
    period in force on each date of care (``amelipro.auth.practice``)."""

    __tablename__ = "professional_practice"
    __table_args__ = (UniqueConstraint("professional_id", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"), index=True)
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    sector: Mapped[str | None] = mapped_column(String(10))  # ConventionSector value
    specialty: Mapped[str] = mapped_column(String(100), default="")
    set_by: Mapped[str] = mapped_column(String(64), default="")  # the operator's login
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
