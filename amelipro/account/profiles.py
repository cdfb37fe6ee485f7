"""What every use case of the account shares: the policy, the profile (created on first write
for accounts made by the CLI or the demo seed), the e-mail address check and the single-use
e-mail links (only their SHA-256 is stored). Nothing here commits.

The use cases are split by role: ``registration`` (sign-up, e-mail confirmation), ``passwords``,
``second_factor`` (TOTP, recovery codes, step-up), ``practice_details`` (coordonnées), ``bank_changes``
(RIB change with cooling-off; ``banking`` reads the account in force), ``operators`` (account
administration). They commit, once per use case. E-mail links go through ``amelipro.mail``; a
``url(endpoint, **values)`` callable given by the view makes them absolute. Nothing tells
whether a login, an RPPS or an e-mail address exists: sign-up and reset answer the same way
whatever is found.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from amelipro.account import errors
from amelipro.account.models import AccountLink, AccountProfile, AccountStatus, LinkPurpose
from amelipro.auth import services as auth
from amelipro.auth.models import Professional
from amelipro.db import utcnow
from amelipro.errors import AmeliproError

Url = Callable[..., str]  # url(endpoint, **values) -> absolute URL

LINK_TTL = {
    LinkPurpose.CONFIRM_EMAIL: timedelta(days=7),
    LinkPurpose.RESET_PASSWORD: timedelta(hours=1),
    LinkPurpose.CHANGE_EMAIL: timedelta(days=7),
}
EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")


@dataclass(frozen=True)
class AccountPolicy:
    login: auth.LoginPolicy = auth.LoginPolicy()
    cooling_off_days: int = 2
    step_up_minutes: int = 5


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def actor(pro: Professional) -> dict:
    return {"actor_id": pro.id, "actor_login": pro.login}


def normalize_email(raw: str) -> str:
    value = (raw or "").strip().lower()
    if len(value) > 254 or not EMAIL_RE.fullmatch(value):
        raise AmeliproError(errors.INVALID_EMAIL, value[:80])
    return value


# --- profile ---------------------------------------------------------------------------------


def profile_of(session: Session, pro_id: int) -> AccountProfile | None:
    return session.get(AccountProfile, pro_id)


def profile_for_write(session: Session, pro: Professional) -> AccountProfile:
    """The profile, created for an account made by the CLI or the demo seed (active)."""
    profile = session.get(AccountProfile, pro.id)
    if profile is None:
        profile = AccountProfile(professional_id=pro.id, email="", status=AccountStatus.ACTIVE,
                                 totp_last_step=0)
        session.add(profile)
        session.flush()
    return profile


def email_of(session: Session, pro: Professional) -> str:
    profile = profile_of(session, pro.id)
    return profile.email if profile else ""


def totp_enabled(session: Session, pro: Professional) -> bool:
    profile = profile_of(session, pro.id)
    return bool(profile and profile.totp_enabled)


# --- e-mail links ----------------------------------------------------------------------------


def new_link(session: Session, pro_id: int, purpose: LinkPurpose, new_email: str = "") -> str:
    secret = secrets.token_urlsafe(32)
    session.add(AccountLink(professional_id=pro_id, purpose=purpose, token_hash=sha256_hex(secret),
                            new_email=new_email, expires_at=utcnow() + LINK_TTL[purpose]))
    return secret


def check_link(session: Session, secret: str, purpose: LinkPurpose) -> AccountLink:
    """The link, if valid (read only: the page behind a link is shown by GET)."""
    link = None
    if secret and len(secret) <= 100:
        link = session.scalar(select(AccountLink).where(AccountLink.token_hash == sha256_hex(secret)))
    if link is None or link.purpose != purpose or link.used_at is not None:
        raise AmeliproError(errors.LINK_INVALID)
    if link.expires_at <= utcnow():
        raise AmeliproError(errors.LINK_EXPIRED)
    return link


def use_link(session: Session, secret: str, purpose: LinkPurpose) -> AccountLink:
    link = check_link(session, secret, purpose)
    link.used_at = utcnow()
    return link

