"""Use cases of the professional's account. Only these functions commit.

E-mail links go through ``amelipro.mail``; a ``url(endpoint, **values)`` callable given by the
view makes them absolute. Nothing here tells whether a login, an RPPS or an e-mail address
exists: sign-up and reset answer the same way whatever is found.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pyotp
import segno
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from amelipro import audit, clock, mail
from amelipro.account import errors
from amelipro.account.banking import (  # noqa: F401 - re-exported: the account's one entry point
    BankInput,
    account_in_force,
    accounts_in_force,
    bank_history,
    check_bank_account,
    has_account_in_force,
    pending_bank_changes,
    register_bank_account,
)
from amelipro.account.models import (
    AccountLink,
    AccountProfile,
    AccountStatus,
    BankAccount,
    BankAccountStatus,
    LinkPurpose,
    PracticeDetails,
    RecoveryCode,
    mask_iban,
)
from amelipro.auth import errors as auth_errors
from amelipro.auth import services as auth
from amelipro.auth.models import Profession, Professional, Role
from amelipro.db import utcnow
from amelipro.errors import AmeliproError
from amelipro.thirdparty.calendar import add_working_days

Url = Callable[..., str]  # url(endpoint, **values) -> absolute URL

LINK_TTL = {
    LinkPurpose.CONFIRM_EMAIL: timedelta(days=7),
    LinkPurpose.RESET_PASSWORD: timedelta(hours=1),
    LinkPurpose.CHANGE_EMAIL: timedelta(days=7),
}
EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")
PASSWORD_MIN_LENGTH = 10
PASSWORD_MIN_SCORE = 3  # zxcvbn: 0 (guessable) .. 4 (very unguessable)
RECOVERY_CODES = 10
TOTP_ISSUER = "amelipro"
TOTP_STEP = 30


@dataclass(frozen=True)
class AccountPolicy:
    login: auth.LoginPolicy = auth.LoginPolicy()
    cooling_off_days: int = 2
    step_up_minutes: int = 5


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _actor(pro: Professional) -> dict:
    return {"actor_id": pro.id, "actor_login": pro.login}


def normalize_email(raw: str) -> str:
    value = (raw or "").strip().lower()
    if len(value) > 254 or not EMAIL_RE.fullmatch(value):
        raise AmeliproError(errors.INVALID_EMAIL, value[:80])
    return value


# --- profile ---------------------------------------------------------------------------------


def profile_of(session: Session, pro_id: int) -> AccountProfile | None:
    return session.get(AccountProfile, pro_id)


def _profile_for_write(session: Session, pro: Professional) -> AccountProfile:
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


# --- passwords -------------------------------------------------------------------------------


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


# --- e-mail links ----------------------------------------------------------------------------


def _new_link(session: Session, pro_id: int, purpose: LinkPurpose, new_email: str = "") -> str:
    secret = secrets.token_urlsafe(32)
    session.add(AccountLink(professional_id=pro_id, purpose=purpose, token_hash=_sha256(secret),
                            new_email=new_email, expires_at=utcnow() + LINK_TTL[purpose]))
    return secret


def check_link(session: Session, secret: str, purpose: LinkPurpose) -> AccountLink:
    """The link, if valid (read only: the page behind a link is shown by GET)."""
    link = None
    if secret and len(secret) <= 100:
        link = session.scalar(select(AccountLink).where(AccountLink.token_hash == _sha256(secret)))
    if link is None or link.purpose != purpose or link.used_at is not None:
        raise AmeliproError(errors.LINK_INVALID)
    if link.expires_at <= utcnow():
        raise AmeliproError(errors.LINK_EXPIRED)
    return link


def _use_link(session: Session, secret: str, purpose: LinkPurpose) -> AccountLink:
    link = check_link(session, secret, purpose)
    link.used_at = utcnow()
    return link


# --- sign-up ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignUp:
    login: str
    password: str
    email: str
    first_name: str
    last_name: str
    profession: str
    rpps: str
    am_number: str
    finess: str = ""


def sign_up(session: Session, data: SignUp, url: Url) -> None:
    """Create a pending account and send the confirmation link (7 days). Commits.

    A login, RPPS or e-mail already known gives the same answer and creates nothing; the
    owner of a known e-mail address is told by e-mail."""
    login = data.login.strip().lower()
    problems: list[str] = []
    try:
        email = normalize_email(data.email)
    except AmeliproError:
        email = ""
        problems.append("adresse e-mail invalide")
    try:
        profession = Profession(data.profession)
    except ValueError:
        profession = None
    new = auth.NewProfessional(
        login=login, password=data.password, first_name=data.first_name[:100],
        last_name=data.last_name[:100], profession=profession, rpps=data.rpps.strip(),
        am_number=data.am_number.strip().upper(), finess=data.finess.strip() or None,
    )
    problems += auth.check_professional(new)
    problems += password_problems(data.password, [login, data.first_name, data.last_name,
                                                  data.rpps, email, "amelipro"])
    if problems:
        raise AmeliproError(errors.INVALID_SIGNUP, "; ".join(problems), problems=problems)
    password_hash = auth.hash_password(data.password)  # always: same time whatever is found
    known_email = session.scalar(select(AccountProfile.professional_id)
                                 .where(AccountProfile.email == email))
    if known_email is not None:
        audit.record(session, "account.signup_duplicate", actor_login=login, field="email")
        session.commit()
        mail.send("already_registered", email, "Votre demande de compte amelipro",
                  reset_url=url("account.forgot_password"))
        return
    taken = session.scalar(select(Professional.id).where(
        (Professional.login == login) | (Professional.rpps == new.rpps)))
    if taken is not None:
        audit.record(session, "account.signup_duplicate", actor_login=login, field="login_or_rpps")
        session.commit()
        return
    pro = Professional(login=login, password_hash=password_hash, role=Role.PROFESSIONAL,
                       profession=profession, rpps=new.rpps, am_number=new.am_number,
                       finess=new.finess, first_name=new.first_name.strip(),
                       last_name=new.last_name.strip(), structure="", active=False)
    session.add(pro)
    try:
        session.flush()
    except IntegrityError:  # the same login or RPPS signed up at the same moment
        session.rollback()
        return
    session.add(AccountProfile(professional_id=pro.id, email=email, status=AccountStatus.PENDING,
                               signed_up_at=utcnow(), totp_last_step=0))
    secret = _new_link(session, pro.id, LinkPurpose.CONFIRM_EMAIL)
    audit.record(session, "account.signup", actor_id=pro.id, actor_login=login)
    session.commit()
    mail.send("confirm_email", email, "Confirmez votre adresse e-mail", pro=pro,
              link=url("account.confirm_email", token=secret), days=7)


def _maybe_activate(session: Session, pro: Professional, profile: AccountProfile, url: Url) -> bool:
    if (profile.status == AccountStatus.PENDING and profile.email_confirmed_at
            and profile.approved_at):
        profile.status = AccountStatus.ACTIVE
        pro.active = True
        audit.record(session, "account.activated", actor_id=pro.id, actor_login=pro.login)
        return True
    return False


def _mail_active(pro: Professional, profile: AccountProfile, url: Url) -> None:
    mail.send("account_active", profile.email, "Votre compte amelipro est ouvert", pro=pro,
              link=url("auth.login"))


def confirm_email(session: Session, secret: str, url: Url) -> Professional:
    """The sign-up link: the address is confirmed; the account opens if already approved."""
    link = _use_link(session, secret, LinkPurpose.CONFIRM_EMAIL)
    pro = session.get(Professional, link.professional_id)
    profile = _profile_for_write(session, pro)
    if profile.email_confirmed_at is None:
        profile.email_confirmed_at = utcnow()
    audit.record(session, "account.email_confirmed", **_actor(pro))
    opened = _maybe_activate(session, pro, profile, url)
    session.commit()
    if opened:
        _mail_active(pro, profile, url)
    return pro


# --- operators: accounts ---------------------------------------------------------------------


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
    audit.record(session, "account.approved", **_actor(operator), professional=pro_id)
    opened = _maybe_activate(session, row.professional, row.profile, url)
    session.commit()
    if opened:
        _mail_active(row.professional, row.profile, url)
    return row.professional


def refuse(session: Session, operator: Professional, pro_id: int, reason: str) -> Professional:
    reason = _reason(reason)
    row = get_account(session, pro_id)
    if row.profile is None or row.profile.status != AccountStatus.PENDING:
        raise AmeliproError(errors.BAD_STATE)
    row.profile.status = AccountStatus.REFUSED
    row.profile.refusal_reason = reason
    row.profile.decided_by = operator.login
    audit.record(session, "account.refused", **_actor(operator), professional=pro_id, reason=reason)
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
    profile = _profile_for_write(session, row.professional)
    profile.status = AccountStatus.LOCKED
    profile.locked_at = utcnow()
    profile.lock_reason = reason
    row.professional.active = False
    revoked = auth.revoke_sessions(session, row.professional)
    audit.record(session, "account.locked", **_actor(operator), professional=pro_id, reason=reason,
                 sessions_revoked=revoked)
    session.commit()
    return row.professional


def unlock(session: Session, operator: Professional, pro_id: int) -> Professional:
    row = get_account(session, pro_id)
    if row.status != AccountStatus.LOCKED:
        raise AmeliproError(errors.BAD_STATE)
    profile = _profile_for_write(session, row.professional)
    profile.status = AccountStatus.ACTIVE
    profile.locked_at = None
    row.professional.active = True
    audit.record(session, "account.unlocked", **_actor(operator), professional=pro_id)
    session.commit()
    return row.professional


def reset_second_factor(session: Session, operator: Professional, pro_id: int, reason: str) -> None:
    """A lost device: the operator, after an identity check (described in ``reason``), removes
    the second factor; the professional enrols a new one."""
    reason = _reason(reason)
    row = get_account(session, pro_id)
    if row.profile is None or not row.profile.totp_enabled or pro_id == operator.id:
        raise AmeliproError(errors.BAD_STATE)
    _clear_totp(session, row.profile)
    audit.record(session, "totp.reset", **_actor(operator), professional=pro_id, reason=reason)
    session.commit()
    if row.profile.email:
        mail.send("totp_reset", row.profile.email, "Double authentification réinitialisée",
                  pro=row.professional)


def _clear_totp(session: Session, profile: AccountProfile) -> None:
    profile.totp_secret = None
    profile.totp_enrolled_at = None
    profile.totp_last_step = 0
    session.execute(delete(RecoveryCode).where(RecoveryCode.professional_id == profile.professional_id))


# --- passwords -------------------------------------------------------------------------------


def change_password(session: Session, pro: Professional, old: str, new: str, keep_token: str,
                    addr: str, policy: AccountPolicy, url: Url) -> int:
    """Change with the current password; the other login sessions are revoked. Commits."""
    if auth.is_throttled(session, pro.login, addr, policy.login):
        raise AmeliproError(auth_errors.THROTTLED)
    if not auth.verify_password(pro, old):
        auth.record_failure(session, pro.login, addr)
        audit.record(session, "password.change_failed", **_actor(pro))
        session.commit()
        raise AmeliproError(errors.WRONG_PASSWORD)
    email = email_of(session, pro)
    _check_password(new, _inputs(pro, email))
    revoked = _set_password(session, pro, new, keep_token)
    audit.record(session, "password.changed", **_actor(pro), sessions_revoked=revoked)
    session.commit()
    if email:
        mail.send("password_changed", email, "Votre mot de passe amelipro a changé", pro=pro,
                  reset_url=url("account.forgot_password"))
    return revoked


def _set_password(session: Session, pro: Professional, new: str, keep_token: str | None) -> int:
    pro.password_hash = auth.hash_password(new)
    _profile_for_write(session, pro).password_changed_at = utcnow()
    auth.clear_failures(session, pro.login)
    return auth.revoke_sessions(session, pro, keep_token)


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
    secret = _new_link(session, pro.id, LinkPurpose.RESET_PASSWORD)
    audit.record(session, "password.reset_requested", **_actor(pro), found=True)
    session.commit()
    mail.send("reset_password", profile.email, "Réinitialisation de votre mot de passe", pro=pro,
              link=url("account.reset_password", token=secret))


def reset_password(session: Session, secret: str, new: str, url: Url) -> Professional:
    link = check_link(session, secret, LinkPurpose.RESET_PASSWORD)
    pro = session.get(Professional, link.professional_id)
    email = email_of(session, pro)
    _check_password(new, _inputs(pro, email))
    link.used_at = utcnow()
    revoked = _set_password(session, pro, new, None)
    audit.record(session, "password.reset", **_actor(pro), sessions_revoked=revoked)
    session.commit()
    if email:
        mail.send("password_changed", email, "Votre mot de passe amelipro a changé", pro=pro,
                  reset_url=url("account.forgot_password"))
    return pro


# --- second factor (TOTP, RFC 6238) ----------------------------------------------------------


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
    profile = _profile_for_write(session, pro)
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
        session.add(RecoveryCode(professional_id=pro.id, code_hash=_sha256(value)))
    audit.record(session, "totp.enrolled", **_actor(pro))
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
        audit.record(session, "totp.throttled", **_actor(pro))
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
            RecoveryCode.professional_id == pro.id, RecoveryCode.code_hash == _sha256(value),
            RecoveryCode.used_at.is_(None)))
        if row is not None:
            row.used_at = utcnow()
            kind = "recovery"
    if not kind:
        auth.record_failure(session, key, addr)
        audit.record(session, "totp.failed", **_actor(pro))
        session.commit()
        raise AmeliproError(errors.TOTP_INVALID)
    auth.clear_failures(session, key)
    audit.record(session, "totp.recovery_code_used" if kind == "recovery" else "totp.used", **_actor(pro),
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
        audit.record(session, "stepup.failed", **_actor(pro))
        session.commit()
        raise AmeliproError(errors.WRONG_PASSWORD)
    if totp_enabled(session, pro):
        verify_second_factor(session, pro, code, addr, policy)
    audit.record(session, "stepup.succeeded", **_actor(pro))
    session.commit()
    return utcnow() + timedelta(minutes=policy.step_up_minutes)


# --- practice details ------------------------------------------------------------------------


@dataclass(frozen=True)
class DetailsInput:
    practice_name: str = ""
    address: str = ""
    postcode: str = ""
    city: str = ""
    phone: str = ""
    email: str = ""


DETAIL_LABELS = {"practice_name": "nom du cabinet", "address": "adresse", "postcode": "code postal",
                 "city": "ville", "phone": "téléphone"}
DETAIL_LIMITS = {"practice_name": 200, "address": 300, "postcode": 5, "city": 100, "phone": 20}


def current_details(session: Session, pro_id: int) -> PracticeDetails | None:
    return session.scalar(select(PracticeDetails).where(PracticeDetails.professional_id == pro_id)
                          .order_by(PracticeDetails.id.desc()).limit(1))


def details_history(session: Session, pro_id: int) -> list[PracticeDetails]:
    return list(session.scalars(select(PracticeDetails).where(PracticeDetails.professional_id == pro_id)
                                .order_by(PracticeDetails.id.desc())))


def update_details(session: Session, pro: Professional, data: DetailsInput, url: Url) -> bool:
    """Save the coordonnées (a new version when something changed). A new e-mail address only
    applies once confirmed from that address; returns True when such a link was sent."""
    values = {name: " ".join((getattr(data, name) or "").split()) for name in DETAIL_LIMITS}
    problems = [f"{DETAIL_LABELS[n]} : {DETAIL_LIMITS[n]} caractères au plus"
                for n, v in values.items() if len(v) > DETAIL_LIMITS[n]]
    if values["postcode"] and not re.fullmatch(r"\d{5}|2[AB]\d{3}", values["postcode"]):
        problems.append("code postal : 5 chiffres")
    if values["phone"] and not re.fullmatch(r"\+?[\d .]{10,20}", values["phone"]):
        problems.append("téléphone : chiffres, espaces ou points (10 chiffres)")
    email = ""
    if (data.email or "").strip():
        try:
            email = normalize_email(data.email)
        except AmeliproError:
            problems.append("adresse e-mail invalide")
    if problems:
        raise AmeliproError(errors.INVALID_DETAILS, "; ".join(problems), problems=problems)
    current = current_details(session, pro.id)
    before = {n: getattr(current, n) if current else "" for n in DETAIL_LIMITS}
    changed = [DETAIL_LABELS[n] for n in DETAIL_LIMITS if values[n] != before[n]]
    if changed:
        session.add(PracticeDetails(professional_id=pro.id, changed_by=pro.login,
                                    note="Modifié : " + ", ".join(changed), **values))
        audit.record(session, "account.details_changed", **_actor(pro), fields=changed)
    profile = _profile_for_write(session, pro)
    secret = None
    if email and email != profile.email:
        secret = _new_link(session, pro.id, LinkPurpose.CHANGE_EMAIL, new_email=email)
        audit.record(session, "account.email_change_requested", **_actor(pro))
    session.commit()
    if secret:
        mail.send("change_email", email, "Confirmez votre nouvelle adresse e-mail", pro=pro,
                  link=url("account.confirm_email_change", token=secret))
        if profile.email:
            mail.send("email_change_notice", profile.email, "Changement d'adresse e-mail demandé",
                      pro=pro, new_email=email)
    return secret is not None


def confirm_email_change(session: Session, secret: str) -> Professional:
    link = check_link(session, secret, LinkPurpose.CHANGE_EMAIL)
    pro = session.get(Professional, link.professional_id)
    taken = session.scalar(select(AccountProfile.professional_id).where(
        AccountProfile.email == link.new_email, AccountProfile.professional_id != pro.id))
    if taken is not None:  # said as an invalid link: the address's owner is not revealed
        raise AmeliproError(errors.LINK_INVALID)
    link.used_at = utcnow()
    profile = _profile_for_write(session, pro)
    old = profile.email
    profile.email = link.new_email
    session.add(PracticeDetails(
        professional_id=pro.id, changed_by=pro.login, note="Adresse e-mail confirmée et changée",
        **{n: getattr(current_details(session, pro.id), n, "") or "" for n in DETAIL_LIMITS}))
    audit.record(session, "account.email_changed", **_actor(pro))
    session.commit()
    if old:
        mail.send("email_changed", old, "Votre adresse e-mail amelipro a changé", pro=pro,
                  new_email=link.new_email)
    return pro


# --- bank account (RIB) ----------------------------------------------------------------------


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
        audit.record(session, "bank.change_cancelled", **_actor(pro), bank_account=pending.id,
                     replaced=True)
    effective = add_working_days(today, policy.cooling_off_days)
    account = BankAccount(professional_id=pro.id, holder=checked.holder, iban=checked.iban,
                          bic=checked.bic, status=BankAccountStatus.REQUESTED,
                          requested_by=pro.login, effective_on=effective)
    session.add(account)
    session.flush()
    audit.record(session, "bank.change_requested", **_actor(pro), bank_account=account.id,
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
    audit.record(session, "bank.change_cancelled", **_actor(pro), bank_account=account.id)
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


# --- API -------------------------------------------------------------------------------------


def account_json(session: Session, pro: Professional) -> dict:
    """What ``GET /api/v1/me`` adds: practice details and the bank account, masked."""
    today = clock.paris_today()
    details = current_details(session, pro.id)
    in_force = account_in_force(session, pro.id, today)
    pending = pending_bank_changes(session, pro.id, today)
    return {
        "practice": None if details is None else {
            **{name: getattr(details, name) for name in DETAIL_LIMITS},
            "email": email_of(session, pro), "changed_at": details.changed_at.isoformat()},
        "bank_account": None if in_force is None else {
            "holder": in_force.holder, "iban": in_force.masked,
            "in_force_since": in_force.effective_on.isoformat(),
            "pending_change_on": pending[-1].effective_on.isoformat() if pending else None},
    }
