"""The professional's change of bank account (RIB): in force after a cooling-off of working
days, cancellable until then, told by e-mail. ``banking`` says which account is in force."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from amelipro import audit, mail
from amelipro.account import errors
from amelipro.account.banking import (
    BankInput,
    check_bank_account,
    has_account_in_force,
    pending_bank_changes,
)
from amelipro.account.models import BankAccount, BankAccountStatus, mask_iban
from amelipro.account.profiles import AccountPolicy, Url, actor, email_of, totp_enabled
from amelipro.auth.models import Professional, Role
from amelipro.db import utcnow
from amelipro.errors import AmeliproError
from amelipro.thirdparty.calendar import add_working_days


def request_bank_change(session: Session, pro: Professional, data: BankInput, today: date,
                        policy: AccountPolicy, url: Url) -> BankAccount:
    """A new bank account, in force after the cooling-off (working days); the view checked the
    step-up (password + second factor). The previous address is told; a change still in its
    cooling-off is replaced. Commits."""
    if not totp_enabled(session, pro):
        raise AmeliproError(errors.TOTP_REQUIRED)
    checked = check_bank_account(data)
    for pending in pending_bank_changes(session, pro.id, today):
        pending.status = BankAccountStatus.CANCELLED
        pending.cancelled_at = utcnow()
        audit.record(session, "bank.change_cancelled", **actor(pro), bank_account=pending.id,
                     replaced=True)
    effective = add_working_days(today, policy.cooling_off_days)
    account = BankAccount(professional_id=pro.id, holder=checked.holder, iban=checked.iban,
                          bic=checked.bic, status=BankAccountStatus.REQUESTED,
                          requested_by=pro.login, effective_on=effective)
    session.add(account)
    session.flush()
    audit.record(session, "bank.change_requested", **actor(pro), bank_account=account.id,
                 iban=mask_iban(checked.iban), effective_on=effective.isoformat())
    session.commit()
    email = email_of(session, pro)
    if email:
        mail.send("bank_change", email, "Changement de coordonnées bancaires", pro=pro,
                  account=account, link=url("account.bank"))
    return account


def cancel_bank_change(session: Session, pro: Professional, account_id: int, today: date,
                       url: Url) -> BankAccount:
    account = session.get(BankAccount, account_id)
    if account is None or account.professional_id != pro.id:
        raise AmeliproError(errors.NOT_FOUND)
    if account.status != BankAccountStatus.REQUESTED or account.effective_on <= today:
        raise AmeliproError(errors.BAD_STATE)
    account.status = BankAccountStatus.CANCELLED
    account.cancelled_at = utcnow()
    audit.record(session, "bank.change_cancelled", **actor(pro), bank_account=account.id)
    session.commit()
    email = email_of(session, pro)
    if email:
        mail.send("bank_change_cancelled", email, "Changement de coordonnées bancaires annulé",
                  pro=pro, account=account, link=url("account.bank"))
    return account


def professionals_without_account(session: Session, day: date) -> int:
    """Active professionals (RPPS) with no bank account in force: liquidation pays them nothing."""
    return session.scalar(select(func.count(Professional.id)).where(
        Professional.active.is_(True), Professional.role == Role.PROFESSIONAL,
        ~has_account_in_force(Professional.id, day))) or 0

