"""The coordonnées of the practice, kept as versions (history), and the e-mail address change
confirmed from the new address. Each use case commits once."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from amelipro import audit, clock, mail
from amelipro.account import errors
from amelipro.account.banking import account_in_force, pending_bank_changes
from amelipro.account.models import AccountProfile, LinkPurpose, PracticeDetails
from amelipro.account.profiles import (
    Url,
    actor,
    check_link,
    email_of,
    new_link,
    normalize_email,
    profile_for_write,
)
from amelipro.auth.models import Professional
from amelipro.db import utcnow
from amelipro.errors import AmeliproError


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
        audit.record(session, "account.details_changed", **actor(pro), fields=changed)
    profile = profile_for_write(session, pro)
    secret = None
    if email and email != profile.email:
        secret = new_link(session, pro.id, LinkPurpose.CHANGE_EMAIL, new_email=email)
        audit.record(session, "account.email_change_requested", **actor(pro))
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
    profile = profile_for_write(session, pro)
    old = profile.email
    profile.email = link.new_email
    session.add(PracticeDetails(
        professional_id=pro.id, changed_by=pro.login, note="Adresse e-mail confirmée et changée",
        **{n: getattr(current_details(session, pro.id), n, "") or "" for n in DETAIL_LIMITS}))
    audit.record(session, "account.email_changed", **actor(pro))
    session.commit()
    if old:
        mail.send("email_changed", old, "Votre adresse e-mail amelipro a changé", pro=pro,
                  new_email=link.new_email)
    return pro



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
