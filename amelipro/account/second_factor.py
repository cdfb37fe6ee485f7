"""The second factor (TOTP, RFC 6238) with single-use recovery codes, and THE step-up check
before a sensitive action. Failures are throttled like logins. Each use case commits once."""

from __future__ import annotations

import hmac
import re
import secrets
import time
from datetime import datetime, timedelta

import pyotp
import segno
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from amelipro import audit
from amelipro.account import errors
from amelipro.account.models import AccountProfile, RecoveryCode
from amelipro.account.profiles import (
    AccountPolicy,
    actor,
    profile_for_write,
    profile_of,
    sha256_hex,
    totp_enabled,
)
from amelipro.auth import errors as auth_errors
from amelipro.auth import services as auth
from amelipro.auth.models import Professional
from amelipro.db import utcnow
from amelipro.errors import AmeliproError

RECOVERY_CODES = 10
TOTP_ISSUER = "amelipro"
TOTP_STEP = 30


def clear_totp(session: Session, profile: AccountProfile) -> None:
    profile.totp_secret = None
    profile.totp_enrolled_at = None
    profile.totp_last_step = 0
    session.execute(delete(RecoveryCode).where(RecoveryCode.professional_id == profile.professional_id))



def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(pro: Professional, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=pro.login, issuer_name=TOTP_ISSUER)


def qr_svg(uri: str) -> str:
    """The enrolment QR code as inline SVG (segno, no external service)."""
    return segno.make(uri, error="m").svg_inline(scale=5, title="QR code d'enrôlement")


def _match_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step (±1 around now) whose code is ``code``, or None."""
    totp = pyotp.TOTP(secret)
    current = int((now if now is not None else time.time()) // TOTP_STEP)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * TOTP_STEP), code):
            return step
    return None


def _recovery_codes() -> list[str]:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return ["-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))
            for _ in range(RECOVERY_CODES)]


def enrol_totp(session: Session, pro: Professional, secret: str, code: str) -> list[str]:
    """Confirm enrolment with a first code; returns the ten recovery codes (shown once)."""
    code = re.sub(r"\s", "", code or "")
    if not secret or not re.fullmatch(r"[A-Z2-7]{16,64}", secret):
        raise AmeliproError(errors.BAD_STATE)
    profile = profile_for_write(session, pro)
    if profile.totp_enabled:
        raise AmeliproError(errors.BAD_STATE)
    step = _match_step(secret, code) if re.fullmatch(r"\d{6}", code) else None
    if step is None:
        raise AmeliproError(errors.TOTP_INVALID)
    profile.totp_secret = secret
    profile.totp_enrolled_at = utcnow()
    profile.totp_last_step = step
    codes = _recovery_codes()
    session.execute(delete(RecoveryCode).where(RecoveryCode.professional_id == pro.id))
    for value in codes:
        session.add(RecoveryCode(professional_id=pro.id, code_hash=sha256_hex(value)))
    audit.record(session, "totp.enrolled", **actor(pro))
    session.commit()
    return codes


def remaining_recovery_codes(session: Session, pro: Professional) -> int:
    return session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.professional_id == pro.id, RecoveryCode.used_at.is_(None))) or 0


def verify_second_factor(session: Session, pro: Professional, code: str, addr: str,
                         policy: AccountPolicy) -> str:
    """A TOTP code (each time step once: a replayed code is refused) or a recovery code (once).

    Failures are throttled like logins (``totp:<login>`` in the login-failure table). Commits.
    Returns ``"totp"`` or ``"recovery"``."""
    key = f"totp:{pro.login}"
    profile = profile_of(session, pro.id)
    if profile is None or not profile.totp_enabled:
        raise AmeliproError(errors.TOTP_REQUIRED)
    if auth.is_throttled(session, key, addr, policy.login):
        audit.record(session, "totp.throttled", **actor(pro))
        session.commit()
        raise AmeliproError(errors.TOTP_THROTTLED)
    value = re.sub(r"\s", "", code or "").lower()[:20]
    kind = ""
    if re.fullmatch(r"\d{6}", value):
        step = _match_step(profile.totp_secret, value)
        if step is not None and step > profile.totp_last_step:
            profile.totp_last_step = step
            kind = "totp"
    elif value:
        row = session.scalar(select(RecoveryCode).where(
            RecoveryCode.professional_id == pro.id, RecoveryCode.code_hash == sha256_hex(value),
            RecoveryCode.used_at.is_(None)))
        if row is not None:
            row.used_at = utcnow()
            kind = "recovery"
    if not kind:
        auth.record_failure(session, key, addr)
        audit.record(session, "totp.failed", **actor(pro))
        session.commit()
        raise AmeliproError(errors.TOTP_INVALID)
    auth.clear_failures(session, key)
    audit.record(session, "totp.recovery_code_used" if kind == "recovery" else "totp.used", **actor(pro),
                 remaining=remaining_recovery_codes(session, pro) if kind == "recovery" else None)
    session.commit()
    return kind


def needs_second_factor(session: Session, pro: Professional) -> bool:
    """At login: every account with a second factor enrolled gives a code after its password."""
    return totp_enabled(session, pro)


# --- step-up ---------------------------------------------------------------------------------


def verify_step_up(session: Session, pro: Professional, password: str, code: str, addr: str,
                   policy: AccountPolicy, *, require_totp: bool = False) -> datetime:
    """THE step-up check before a sensitive action (bank account change, online signing):
    the password, then the TOTP or recovery code when a second factor is enrolled (required
    when ``require_totp``). Throttled like logins. Returns until when it is valid. Commits."""
    if require_totp and not totp_enabled(session, pro):
        raise AmeliproError(errors.TOTP_REQUIRED)
    if auth.is_throttled(session, pro.login, addr, policy.login):
        raise AmeliproError(auth_errors.THROTTLED)
    if not auth.verify_password(pro, password or ""):
        auth.record_failure(session, pro.login, addr)
        audit.record(session, "stepup.failed", **actor(pro))
        session.commit()
        raise AmeliproError(errors.WRONG_PASSWORD)
    if totp_enabled(session, pro):
        verify_second_factor(session, pro, code, addr, policy)
    audit.record(session, "stepup.succeeded", **actor(pro))
    session.commit()
    return utcnow() + timedelta(minutes=policy.step_up_minutes)

