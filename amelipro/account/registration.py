"""Sign-up: a pending account and its confirmation link (7 days); the account opens once the
address is confirmed and an operator approved it (``operators.approve``). Commits once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from amelipro import audit, mail
from amelipro.account import errors
from amelipro.account.models import AccountProfile, AccountStatus, LinkPurpose
from amelipro.account.passwords import password_problems
from amelipro.account.profiles import (
    Url,
    actor,
    new_link,
    normalize_email,
    profile_for_write,
    use_link,
)
from amelipro.auth import services as auth
from amelipro.auth.models import Profession, Professional, Role
from amelipro.db import utcnow
from amelipro.errors import AmeliproError


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
    secret = new_link(session, pro.id, LinkPurpose.CONFIRM_EMAIL)
    audit.record(session, "account.signup", actor_id=pro.id, actor_login=login)
    session.commit()
    mail.send("confirm_email", email, "Confirmez votre adresse e-mail", pro=pro,
              link=url("account.confirm_email", token=secret), days=7)


def activate_if_ready(session: Session, pro: Professional, profile: AccountProfile) -> bool:
    if (profile.status == AccountStatus.PENDING and profile.email_confirmed_at
            and profile.approved_at):
        profile.status = AccountStatus.ACTIVE
        pro.active = True
        audit.record(session, "account.activated", actor_id=pro.id, actor_login=pro.login)
        return True
    return False


def mail_account_open(pro: Professional, profile: AccountProfile, url: Url) -> None:
    mail.send("account_active", profile.email, "Votre compte amelipro est ouvert", pro=pro,
              link=url("auth.login"))


def confirm_email(session: Session, secret: str, url: Url) -> Professional:
    """The sign-up link: the address is confirmed; the account opens if already approved."""
    link = use_link(session, secret, LinkPurpose.CONFIRM_EMAIL)
    pro = session.get(Professional, link.professional_id)
    profile = profile_for_write(session, pro)
    if profile.email_confirmed_at is None:
        profile.email_confirmed_at = utcnow()
    audit.record(session, "account.email_confirmed", **actor(pro))
    opened = activate_if_ready(session, pro, profile)
    session.commit()
    if opened:
        mail_account_open(pro, profile, url)
    return pro

