"""Account storage: profile (e-mail, sign-up and lock state, second factor), single-use e-mail
links, recovery codes, practice details (one row per version) and bank accounts (RIB).

Nothing here commits: the use cases (``amelipro.account.profiles`` lists them) do.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from amelipro.db import Base, UTCDateTime, utcnow


def _enum(cls: type[enum.Enum], length: int) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class AccountStatus(enum.StrEnum):
    PENDING = "en_attente"  # signed up: e-mail to confirm and/or operator approval to come
    ACTIVE = "actif"
    REFUSED = "refuse"
    LOCKED = "verrouille"

    @property
    def label(self) -> str:
        return {"en_attente": "En attente", "actif": "Actif", "refuse": "Refusé",
                "verrouille": "Verrouillé"}[self.value]


class LinkPurpose(enum.StrEnum):
    CONFIRM_EMAIL = "confirmation"  # sign-up: 7 days
    RESET_PASSWORD = "reinitialisation"  # 1 hour
    CHANGE_EMAIL = "changement_email"  # sent to the new address: 7 days


class AccountProfile(Base):
    """What the account adds to a professional (1:1). Accounts made by the CLI or the demo seed
    have none until something is written (they count as active)."""

    __tablename__ = "account_profile"

    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), default="", index=True)
    status: Mapped[AccountStatus] = mapped_column(_enum(AccountStatus, 16), default=AccountStatus.ACTIVE)
    signed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    refusal_reason: Mapped[str] = mapped_column(String(500), default="")
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lock_reason: Mapped[str] = mapped_column(String(500), default="")
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)  # replay guard

    @property
    def totp_enabled(self) -> bool:
        return bool(self.totp_secret and self.totp_enrolled_at)


class AccountLink(Base):
    """A single-use e-mail link: only the SHA-256 of its secret is stored."""

    __tablename__ = "account_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"), index=True)
    purpose: Mapped[LinkPurpose] = mapped_column(_enum(LinkPurpose, 20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    new_email: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RecoveryCode(Base):
    __tablename__ = "account_recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PracticeDetails(Base):
    """Coordonnées professionnelles: a new row per change, the latest is current (history)."""

    __tablename__ = "account_practice"

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"), index=True)
    practice_name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    postcode: Mapped[str] = mapped_column(String(5), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")  # what changed, in French


class BankAccountStatus(enum.StrEnum):
    REQUESTED = "demande"  # in force from ``effective_on`` unless cancelled before
    CANCELLED = "annule"

    @property
    def label(self) -> str:
        return {"demande": "Enregistré", "annule": "Annulé"}[self.value]


class BankAccount(Base):
    """A RIB. The one in force on a day is the latest not cancelled whose ``effective_on``
    is on or before that day (``banking.account_in_force``): a change applies by itself
    when its cooling-off ends, with no job to run."""

    __tablename__ = "account_bank"

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"), index=True)
    holder: Mapped[str] = mapped_column(String(70))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str] = mapped_column(String(11))
    status: Mapped[BankAccountStatus] = mapped_column(_enum(BankAccountStatus, 16),
                                                      default=BankAccountStatus.REQUESTED)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(64), default="")
    effective_on: Mapped[date] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def masked(self) -> str:
        return mask_iban(self.iban)


def mask_iban(iban: str) -> str:
    """``FR76 •••• 1234``: country and key, then the last four characters."""
    compact = iban.replace(" ", "").upper()
    if len(compact) < 8:
        return "••••"
    return f"{compact[:4]} •••• {compact[-4:]}"
