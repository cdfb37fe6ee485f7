"""Use cases of the auth package. Only these functions commit."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from stdnum import luhn

from amelipro import audit
from amelipro.auth import errors
from amelipro.auth.models import (
    ApiToken,
    LoginFailure,
    LoginSession,
    Profession,
    Professional,
    Role,
)
from amelipro.db import utcnow
from amelipro.errors import AmeliproError

# argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile).
_hasher = PasswordHasher()
# Verified against when the login is unknown, so timing does not reveal which logins exist.
_DUMMY_HASH = _hasher.hash("amelipro-dummy-password")

TOKEN_PREFIX = "amp_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify_password(hash_: str, password: str) -> bool:
    try:
        return _hasher.verify(hash_, password)
    except (VerificationError, InvalidHashError):
        return False


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- professionals -----------------------------------------------------------------------

def validate_rpps(value: str) -> bool:
    return bool(re.fullmatch(r"\d{11}", value)) and luhn.is_valid(value)


def validate_finess(value: str) -> bool:
    return bool(re.fullmatch(r"\d{9}", value)) and luhn.is_valid(value)


def validate_am_number(value: str) -> bool:
    # 8 characters + 1 key; Corsican departments as 2A/2B. The key's algorithm is not
    # published in ../shared/DOMAIN.md, so only the form is checked here.
    return bool(re.fullmatch(r"(\d{2}|2[AB])\d{6}\d", value))


@dataclass(frozen=True)
class NewProfessional:
    login: str
    password: str
    first_name: str
    last_name: str
    profession: Profession | None = None
    rpps: str | None = None
    am_number: str | None = None
    finess: str | None = None
    structure: str = ""
    role: Role = Role.PROFESSIONAL


def check_professional(data: NewProfessional) -> list[str]:
    """Every problem with the data, in French (empty when valid)."""
    problems = []
    if not re.fullmatch(r"[a-z0-9._-]{3,64}", data.login):
        problems.append("identifiant : 3 à 64 caractères parmi a-z, 0-9, « . », « _ », « - »")
    if len(data.password) < 10:
        problems.append("mot de passe : au moins 10 caractères")
    if not data.first_name.strip() or not data.last_name.strip():
        problems.append("nom et prénom obligatoires")
    if data.role == Role.PROFESSIONAL:
        if data.profession is None:
            problems.append("profession obligatoire")
        if not data.rpps or not validate_rpps(data.rpps):
            problems.append("RPPS : 11 chiffres avec clé de Luhn valide")
        if not data.am_number or not validate_am_number(data.am_number):
            problems.append("numéro AM : 9 caractères (8 + clé)")
    if data.finess and not validate_finess(data.finess):
        problems.append("FINESS : 9 chiffres avec clé de Luhn valide")
    if data.profession == Profession.PHARMACIEN and not data.finess:
        problems.append("FINESS obligatoire pour une pharmacie")
    return problems


def create_professional(session: Session, data: NewProfessional) -> Professional:
    problems = check_professional(data)
    if problems:
        raise AmeliproError(errors.INVALID_PROFESSIONAL, "; ".join(problems), problems=problems)
    if session.scalar(select(Professional.id).where(Professional.login == data.login)):
        raise AmeliproError(errors.LOGIN_TAKEN, data.login)
    pro = Professional(
        login=data.login,
        password_hash=hash_password(data.password),
        role=data.role,
        profession=data.profession,
        rpps=data.rpps,
        am_number=data.am_number,
        finess=data.finess,
        first_name=data.first_name.strip(),
        last_name=data.last_name.strip(),
        structure=data.structure,
    )
    session.add(pro)
    session.flush()
    audit.record(session, "professional.created", actor_login="cli", login=data.login)
    session.commit()
    return pro


# --- login -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    lock_minutes: int = 15
    session_hours: int = 12


def _recent_failures(session: Session, login: str, addr: str, policy: LoginPolicy) -> int:
    since = utcnow() - timedelta(minutes=policy.lock_minutes)
    by_login = session.scalar(
        select(func.count()).where(LoginFailure.login == login, LoginFailure.at >= since)
    )
    by_addr = session.scalar(
        select(func.count()).where(LoginFailure.remote_addr == addr, LoginFailure.at >= since)
    )
    # An address may try several logins (a shared practice), but not endlessly.
    return max(by_login or 0, (by_addr or 0) // 4)


@dataclass(frozen=True)
class LoginResult:
    professional: Professional
    session_token: str


def check_credentials(session: Session, login: str, password: str, addr: str,
                      policy: LoginPolicy) -> Professional:
    """The active professional with these credentials (throttled; a failure is recorded and
    committed). Nothing tells an unknown login from a wrong password or a closed account."""
    login = login.strip().lower()
    if _recent_failures(session, login, addr, policy) >= policy.max_failures:
        audit.record(session, "login.throttled", actor_login=login)
        session.commit()
        raise AmeliproError(errors.THROTTLED)
    pro = session.scalar(select(Professional).where(Professional.login == login))
    ok = _verify_password(pro.password_hash if pro else _DUMMY_HASH, password)
    if not (pro and ok and pro.active):
        record_failure(session, login, addr)
        audit.record(session, "login.failed", actor_id=pro.id if pro else None, actor_login=login)
        session.commit()
        raise AmeliproError(errors.BAD_CREDENTIALS)
    if _hasher.check_needs_rehash(pro.password_hash):
        pro.password_hash = hash_password(password)
    return pro


def record_failure(session: Session, key: str, addr: str) -> None:
    """One failed attempt for ``key`` (a login, or ``totp:<login>``) from ``addr`` (no commit)."""
    session.add(LoginFailure(login=key[:64], remote_addr=addr[:64]))


def is_throttled(session: Session, key: str, addr: str, policy: LoginPolicy) -> bool:
    return _recent_failures(session, key[:64], addr, policy) >= policy.max_failures


def clear_failures(session: Session, key: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.login == key[:64]))


def open_session(session: Session, pro: Professional, addr: str, policy: LoginPolicy) -> LoginResult:
    """A server-side login session for a professional whose credentials were checked. Commits."""
    clear_failures(session, pro.login)
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=_sha256(token),
            professional_id=pro.id,
            expires_at=utcnow() + timedelta(hours=policy.session_hours),
            remote_addr=addr,
        )
    )
    audit.record(session, "login.succeeded", actor_id=pro.id, actor_login=pro.login)
    session.commit()
    return LoginResult(pro, token)


def verify_password(pro: Professional, password: str) -> bool:
    return _verify_password(pro.password_hash, password)


def revoke_sessions(session: Session, pro: Professional, keep_token: str | None = None) -> int:
    """Revoke the professional's open login sessions, except ``keep_token``'s (no commit)."""
    now = utcnow()
    stmt = select(LoginSession).where(LoginSession.professional_id == pro.id,
                                      LoginSession.revoked_at.is_(None))
    if keep_token:
        stmt = stmt.where(LoginSession.token_hash != _sha256(keep_token))
    rows = list(session.scalars(stmt))
    for row in rows:
        row.revoked_at = now
    return len(rows)


def load_login_session(session: Session, token: str) -> Professional | None:
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == _sha256(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    if not row.professional.active:
        return None
    return row.professional


def log_out(session: Session, token: str) -> None:
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == _sha256(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, "logout", actor_id=row.professional_id, actor_login=row.professional.login)
        session.commit()


# --- API tokens --------------------------------------------------------------------------

@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


def create_token(session: Session, pro: Professional, name: str) -> NewToken:
    name = name.strip()
    if not name:
        raise AmeliproError(errors.TOKEN_NAME_REQUIRED)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        professional_id=pro.id, name=name[:100], prefix=secret[:12], token_hash=_sha256(secret)
    )
    session.add(token)
    session.flush()
    audit.record(session, "token.created", actor_id=pro.id, actor_login=pro.login, token_id=token.id, name=token.name)
    session.commit()
    return NewToken(token, secret)


def list_tokens(session: Session, pro: Professional) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.professional_id == pro.id).order_by(ApiToken.id.desc())
        )
    )


def get_token(session: Session, pro: Professional, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    # Another professional's token answers exactly like a missing one.
    if token is None or token.professional_id != pro.id:
        raise AmeliproError(errors.TOKEN_NOT_FOUND)
    return token


def revoke_token(session: Session, pro: Professional, token_id: int) -> ApiToken:
    token = get_token(session, pro, token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, "token.revoked", actor_id=pro.id, actor_login=pro.login, token_id=token.id)
        session.commit()
    return token


def authenticate_token(session: Session, secret: str) -> Professional:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _sha256(secret)))
    if token is None or token.revoked_at is not None or not token.professional.active:
        raise AmeliproError(errors.TOKEN_INVALID)
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
        session.commit()
    return token.professional
