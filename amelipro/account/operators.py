"""The operators' administration of accounts: list, approve or refuse a sign-up, lock and
unlock, reset a lost second factor. Each action is audited with its operator and commits."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from amelipro import audit, mail
from amelipro.account import errors
from amelipro.account.models import AccountProfile, AccountStatus
from amelipro.account.profiles import Url, actor, profile_for_write, profile_of
from amelipro.account.registration import activate_if_ready, mail_account_open
from amelipro.account.second_factor import clear_totp
from amelipro.auth import services as auth
from amelipro.auth.models import Professional
from amelipro.db import utcnow
from amelipro.errors import AmeliproError


@dataclass(frozen=True)
class AccountRow:
    professional: Professional
    profile: AccountProfile | None

    @property
    def status(self) -> AccountStatus:
        return self.profile.status if self.profile else (
            AccountStatus.ACTIVE if self.professional.active else AccountStatus.LOCKED)


ACCOUNT_FILTERS = {"": None, "en_attente": AccountStatus.PENDING, "verrouille": AccountStatus.LOCKED,
                   "actif": AccountStatus.ACTIVE, "refuse": AccountStatus.REFUSED}


def list_accounts(session: Session, status: str = "", limit: int = 500) -> list[AccountRow]:
    if status not in ACCOUNT_FILTERS:
        raise AmeliproError(errors.NOT_FOUND, status[:40])
    stmt = (select(Professional, AccountProfile)
            .outerjoin(AccountProfile, AccountProfile.professional_id == Professional.id)
            .order_by(Professional.id.desc()).limit(limit))
    wanted = ACCOUNT_FILTERS[status]
    if wanted is AccountStatus.ACTIVE:
        stmt = stmt.where((AccountProfile.status == wanted) | (AccountProfile.professional_id.is_(None)))
    elif wanted is not None:
        stmt = stmt.where(AccountProfile.status == wanted)
    return [AccountRow(p, f) for p, f in session.execute(stmt).all()]


def count_accounts(session: Session, status: AccountStatus) -> int:
    return session.scalar(select(func.count()).select_from(AccountProfile)
                          .where(AccountProfile.status == status)) or 0


def get_account(session: Session, pro_id: int) -> AccountRow:
    pro = session.get(Professional, pro_id)
    if pro is None:
        raise AmeliproError(errors.NOT_FOUND)
    return AccountRow(pro, profile_of(session, pro_id))


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise AmeliproError(errors.REASON_REQUIRED)
    return reason


def approve(session: Session, operator: Professional, pro_id: int, url: Url) -> Professional:
    row = get_account(session, pro_id)
    if row.profile is None or row.profile.status != AccountStatus.PENDING or row.profile.approved_at:
        raise AmeliproError(errors.BAD_STATE)
    row.profile.approved_at = utcnow()
    row.profile.decided_by = operator.login
    audit.record(session, "account.approved", **actor(operator), professional=pro_id)
    opened = activate_if_ready(session, row.professional, row.profile)
    session.commit()
    if opened:
        mail_account_open(row.professional, row.profile, url)
    return row.professional


def refuse(session: Session, operator: Professional, pro_id: int, reason: str) -> Professional:
    reason = _reason(reason)
    row = get_account(session, pro_id)
    if row.profile is None or row.profile.status != AccountStatus.PENDING:
        raise AmeliproError(errors.BAD_STATE)
    row.profile.status = AccountStatus.REFUSED
    row.profile.refusal_reason = reason
    row.profile.decided_by = operator.login
    audit.record(session, "account.refused", **actor(operator), professional=pro_id, reason=reason)
    session.commit()
    mail.send("account_refused", row.profile.email, "Votre demande de compte amelipro",
              pro=row.professional, reason=reason)
    return row.professional


def lock(session: Session, operator: Professional, pro_id: int, reason: str) -> Professional:
    """Close an account at once: its login sessions and API tokens stop working."""
    reason = _reason(reason)
    row = get_account(session, pro_id)
    if pro_id == operator.id or row.status != AccountStatus.ACTIVE:
        raise AmeliproError(errors.BAD_STATE)
    profile = profile_for_write(session, row.professional)
    profile.status = AccountStatus.LOCKED
    profile.locked_at = utcnow()
    profile.lock_reason = reason
    row.professional.active = False
    revoked = auth.revoke_sessions(session, row.professional)
    audit.record(session, "account.locked", **actor(operator), professional=pro_id, reason=reason,
                 sessions_revoked=revoked)
    session.commit()
    return row.professional


def unlock(session: Session, operator: Professional, pro_id: int) -> Professional:
    row = get_account(session, pro_id)
    if row.status != AccountStatus.LOCKED:
        raise AmeliproError(errors.BAD_STATE)
    profile = profile_for_write(session, row.professional)
    profile.status = AccountStatus.ACTIVE
    profile.locked_at = None
    row.professional.active = True
    audit.record(session, "account.unlocked", **actor(operator), professional=pro_id)
    session.commit()
    return row.professional


def reset_second_factor(session: Session, operator: Professional, pro_id: int, reason: str) -> None:
    """A lost device: the operator, after an identity check (described in ``reason``), removes
    the second factor; the professional enrols a new one."""
    reason = _reason(reason)
    row = get_account(session, pro_id)
    if row.profile is None or not row.profile.totp_enabled or pro_id == operator.id:
        raise AmeliproError(errors.BAD_STATE)
    clear_totp(session, row.profile)
    audit.record(session, "totp.reset", **actor(operator), professional=pro_id, reason=reason)
    session.commit()
    if row.profile.email:
        mail.send("totp_reset", row.profile.email, "Double authentification réinitialisée",
                  pro=row.professional)

