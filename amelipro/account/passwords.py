"""Passwords: strength (zxcvbn), change with the current one, reset by e-mail link (1 hour).
A changed password closes the other login sessions. Each use case commits once."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from amelipro import audit, mail
from amelipro.account import errors
from amelipro.account.models import AccountLink, AccountProfile, AccountStatus, LinkPurpose
from amelipro.account.profiles import (
    AccountPolicy,
    Url,
    actor,
    check_link,
    email_of,
    new_link,
    profile_for_write,
)
from amelipro.auth import errors as auth_errors
from amelipro.auth import services as auth
from amelipro.auth.models import Professional
from amelipro.db import utcnow
from amelipro.errors import AmeliproError

PASSWORD_MIN_LENGTH = 10
PASSWORD_MIN_SCORE = 3  # zxcvbn: 0 (guessable) .. 4 (very unguessable)


def password_problems(password: str, user_inputs: list[str]) -> list[str]:
    """Why a password is refused (empty: accepted). The strength estimate is zxcvbn's."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return [f"mot de passe : au moins {PASSWORD_MIN_LENGTH} caractères"]
    if len(password) > 200:
        return ["mot de passe : 200 caractères au plus"]
    inputs = [v for v in user_inputs if v]
    inputs += [part for v in inputs for part in re.split(r"[\s@._-]+", v) if len(part) >= 3]
    result = zxcvbn(password[:100], user_inputs=inputs)
    if result["score"] < PASSWORD_MIN_SCORE:
        return ["mot de passe trop facile à deviner (mots courants, nom, suites, dates) : "
                "préférez une phrase de plusieurs mots"]
    return []


def _check_password(password: str, user_inputs: list[str]) -> None:
    problems = password_problems(password, user_inputs)
    if problems:
        raise AmeliproError(errors.WEAK_PASSWORD, problems[0], problems=problems)


def _inputs(pro: Professional, email: str = "") -> list[str]:
    return [pro.login, pro.first_name, pro.last_name, pro.rpps or "", email, "amelipro"]



def change_password(session: Session, pro: Professional, old: str, new: str, keep_token: str,
                    addr: str, policy: AccountPolicy, url: Url) -> int:
    """Change with the current password; the other login sessions are revoked. Commits."""
    if auth.is_throttled(session, pro.login, addr, policy.login):
        raise AmeliproError(auth_errors.THROTTLED)
    if not auth.verify_password(pro, old):
        auth.record_failure(session, pro.login, addr)
        audit.record(session, "password.change_failed", **actor(pro))
        session.commit()
        raise AmeliproError(errors.WRONG_PASSWORD)
    return _replace_password(session, pro, new, keep_token, "password.changed", url)


def _replace_password(session: Session, pro: Professional, new: str, keep_token: str | None,
                      event: str, url: Url, link: AccountLink | None = None) -> int:
    """Check the new password, use the link, store the hash, revoke the other login sessions;
    audited as ``event``; commits, then tells the account's address."""
    email = email_of(session, pro)
    _check_password(new, _inputs(pro, email))
    if link is not None:
        link.used_at = utcnow()
    pro.password_hash = auth.hash_password(new)
    profile_for_write(session, pro).password_changed_at = utcnow()
    auth.clear_failures(session, pro.login)
    revoked = auth.revoke_sessions(session, pro, keep_token)
    audit.record(session, event, **actor(pro), sessions_revoked=revoked)
    session.commit()
    if email:
        mail.send("password_changed", email, "Votre mot de passe amelipro a changé", pro=pro,
                  reset_url=url("account.forgot_password"))
    return revoked


def request_password_reset(session: Session, identifier: str, url: Url) -> None:
    """Send a reset link (1 hour) when the login or e-mail belongs to an open account with an
    address; the answer is the same in every case."""
    value = (identifier or "").strip().lower()[:254]
    if not value:
        return
    row = session.execute(
        select(Professional, AccountProfile)
        .join(AccountProfile, AccountProfile.professional_id == Professional.id)
        .where((Professional.login == value) | (AccountProfile.email == value))
        .order_by(Professional.id).limit(1)
    ).first()
    if row is None or row[1].status != AccountStatus.ACTIVE or not row[1].email:
        audit.record(session, "password.reset_requested", actor_login=value[:64], found=False)
        session.commit()
        return
    pro, profile = row
    secret = new_link(session, pro.id, LinkPurpose.RESET_PASSWORD)
    audit.record(session, "password.reset_requested", **actor(pro), found=True)
    session.commit()
    mail.send("reset_password", profile.email, "Réinitialisation de votre mot de passe", pro=pro,
              link=url("account.reset_password", token=secret))


def reset_password(session: Session, secret: str, new: str, url: Url) -> Professional:
    link = check_link(session, secret, LinkPurpose.RESET_PASSWORD)
    pro = session.get(Professional, link.professional_id)
    _replace_password(session, pro, new, None, "password.reset", url, link)
    return pro

