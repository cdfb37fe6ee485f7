"""Bank accounts (RIB): checks with python-stdnum and which account is in force on a day.

Kept apart from the account's use cases so that the liquidation and the reconciliation read
them without the web-side dependencies (e-mail, TOTP, password strength). Nothing commits here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError

from amelipro.account import errors
from amelipro.account.models import BankAccount, BankAccountStatus
from amelipro.errors import AmeliproError


@dataclass(frozen=True)
class BankInput:
    holder: str
    iban: str
    bic: str


def check_bank_account(data: BankInput) -> BankInput:
    """Holder (1-70 characters), IBAN (country, length and key) and BIC (8 or 11), checked by
    python-stdnum; every problem is reported together."""
    problems = []
    holder = " ".join((data.holder or "").split())
    if not holder or len(holder) > 70:
        problems.append("titulaire : 1 à 70 caractères")
    iban = bic = ""
    try:
        iban = stdnum_iban.validate(data.iban or "")
    except ValidationError:
        problems.append("IBAN invalide (pays, longueur ou clé)")
    try:
        bic = stdnum_bic.validate(data.bic or "")
    except ValidationError:
        problems.append("BIC invalide : 8 ou 11 caractères")
    if problems:
        raise AmeliproError(errors.INVALID_BANK_ACCOUNT, "; ".join(problems), problems=problems)
    return BankInput(holder, iban, bic)


def _in_force_stmt(day: date):
    return select(BankAccount).where(BankAccount.status == BankAccountStatus.REQUESTED,
                                     BankAccount.effective_on <= day)


def account_in_force(session: Session, pro_id: int, day: date) -> BankAccount | None:
    """The bank account payments go to on ``day``."""
    return session.scalar(_in_force_stmt(day).where(BankAccount.professional_id == pro_id)
                          .order_by(BankAccount.effective_on.desc(), BankAccount.id.desc()).limit(1))


def accounts_in_force(session: Session, pro_ids: list[int], day: date) -> dict[int, BankAccount]:
    out: dict[int, BankAccount] = {}
    for acc in session.scalars(_in_force_stmt(day).where(BankAccount.professional_id.in_(pro_ids))
                               .order_by(BankAccount.effective_on, BankAccount.id)):
        out[acc.professional_id] = acc  # the latest wins
    return out


def has_account_in_force(professional_id_column, day: date):
    """SQL condition: the professional (column) has a bank account in force on ``day``."""
    return exists().where(BankAccount.professional_id == professional_id_column,
                          BankAccount.status == BankAccountStatus.REQUESTED,
                          BankAccount.effective_on <= day)


def pending_bank_changes(session: Session, pro_id: int, day: date) -> list[BankAccount]:
    return list(session.scalars(select(BankAccount).where(
        BankAccount.professional_id == pro_id, BankAccount.status == BankAccountStatus.REQUESTED,
        BankAccount.effective_on > day).order_by(BankAccount.id)))


def bank_history(session: Session, pro_id: int) -> list[BankAccount]:
    return list(session.scalars(select(BankAccount).where(BankAccount.professional_id == pro_id)
                                .order_by(BankAccount.id.desc())))


def register_bank_account(session: Session, pro_id: int, data: BankInput, effective_on: date,
                          actor: str) -> BankAccount:
    """A bank account in force from ``effective_on`` with no notice (demo seed, tests,
    migrations of existing customers). No commit."""
    checked = check_bank_account(data)
    account = BankAccount(professional_id=pro_id, holder=checked.holder, iban=checked.iban,
                          bic=checked.bic, status=BankAccountStatus.REQUESTED,
                          requested_by=actor, effective_on=effective_on)
    session.add(account)
    session.flush()
    return account
