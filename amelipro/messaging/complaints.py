"""Objects linked to a thread (each must be the professional's own) and the one-click
complaints: a draft prefilled from a payment, an FSE or a month's late-payment penalties, which
the professional may edit before sending. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from amelipro.auth.models import Professional
from amelipro.beneficiaries.models import Beneficiary
from amelipro.errors import AmeliproError
from amelipro.filters import euros
from amelipro.fse.models import Lot, StoredFse
from amelipro.messaging import errors
from amelipro.messaging.domain import Category, patient_initials
from amelipro.thirdparty import services as tp_services
from amelipro.thirdparty.decision import code_catalogue
from amelipro.thirdparty.models import Payment, Virement
from amelipro.thirdparty.states import REJECTED_STATUSES


@dataclass(frozen=True)
class Links:
    lot_id: int | None = None
    fse_id: int | None = None
    payment_id: int | None = None
    virement_id: int | None = None


def check_links(session: Session, pro: Professional, links: Links) -> Links:
    """Every linked object must be the professional's own (else MSG-042, 404)."""
    owned = (
        (links.lot_id, Lot), (links.fse_id, StoredFse), (links.payment_id, Payment),
        (links.virement_id, Virement),
    )
    for object_id, model in owned:
        if object_id is None:
            continue
        found = session.scalar(select(model.id).where(model.id == object_id, model.professional_id == pro.id))
        if found is None:
            raise AmeliproError(errors.LINK_NOT_FOUND, f"{model.__tablename__} {object_id}")
    if links.payment_id is not None and links.fse_id is None:
        fse_id = session.scalar(select(Payment.fse_id).where(Payment.id == links.payment_id))
        links = Links(links.lot_id, fse_id, links.payment_id, links.virement_id)
    return links


@dataclass(frozen=True)
class Draft:
    """A prefilled complaint (the professional may edit subject and text before sending)."""

    subject: str
    category: Category
    body: str
    links: Links = field(default_factory=Links)
    claim_month: date | None = None
    claim_total: Decimal | None = None
    claim_lines: int = 0


def fr_money(value: Decimal | None) -> str:
    return euros(value) if value is not None else "—"


def _fr_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def _initials(session: Session, nir: str) -> str:
    person = session.scalar(select(Beneficiary).where(Beneficiary.nir == nir).limit(1)) if nir else None
    return patient_initials(person.first_name, person.last_name) if person else "non communiquées"


def payment_complaint_draft(session: Session, pro: Professional, payment_id: int, today: date) -> Draft:
    try:
        detail = tp_services.payment_detail(session, pro, payment_id, today)
    except AmeliproError:
        raise AmeliproError(errors.LINK_NOT_FOUND, f"paiement {payment_id}") from None
    p = detail.payment
    lines = [
        f"Réclamation concernant la facture {p.invoice_number} (FSE n° {p.fse_id}).",
        f"Patient : initiales {_initials(session, p.patient_nir)}.",
        f"Date des soins : {_fr_date(p.care_date)} ; accusé de réception : {_fr_date(p.acknowledged_on)} ; "
        f"échéance : {_fr_date(p.due_date)}.",
        f"Part AMO demandée : {fr_money(p.amo_claimed)} ; part AMO payée : {fr_money(p.amo_paid)}.",
        f"État : {p.status.label}" + (f", liquidée le {_fr_date(p.liquidated_on)}." if p.liquidated_on else "."),
    ]
    if p.status in REJECTED_STATUSES:
        codes = detail.rsp.codes if detail.rsp else []
        if not codes and p.reject_code:
            known = code_catalogue().get(p.reject_code)
            codes = [{"code": p.reject_code, "message": known.message if known else ""}]
        for c in codes:
            lines.append(f"Motif du rejet : {c['code']} — {c['message']}")
        subject = f"Réclamation : rejet de la facture {p.invoice_number}"
    elif detail.delay and detail.delay.late:
        lines.append(f"Retard de paiement : {detail.delay.day_number} jours ouvrés, "
                     f"pénalité due {fr_money(detail.delay.penalty)}.")
        subject = f"Réclamation : paiement en retard de la facture {p.invoice_number}"
    else:
        subject = f"Réclamation : paiement de la facture {p.invoice_number}"
    lines += ["", "Merci de réexaminer ce dossier."]
    return Draft(subject[:200], Category.PAYMENT_COMPLAINT, "\n".join(lines),
                 Links(fse_id=p.fse_id, payment_id=p.id, virement_id=p.virement_id))


def fse_complaint_draft(session: Session, pro: Professional, fse_id: int, today: date) -> Draft:
    fse = session.scalar(select(StoredFse).where(StoredFse.id == fse_id, StoredFse.professional_id == pro.id))
    if fse is None:
        raise AmeliproError(errors.LINK_NOT_FOUND, f"FSE {fse_id}")
    payment_id = session.scalar(select(Payment.id).where(Payment.fse_id == fse.id))
    if payment_id is not None:
        draft = payment_complaint_draft(session, pro, payment_id, today)
        return Draft(draft.subject, draft.category, draft.body,
                     Links(fse.lot_id, fse.id, payment_id, draft.links.virement_id))
    lines = [
        f"Réclamation concernant la facture {fse.invoice_number} (FSE n° {fse.id}, lot n° {fse.lot_id}).",
        f"Patient : initiales {_initials(session, fse.patient_nir)}.",
        f"Date des soins : {_fr_date(fse.first_care_date)}.",
        f"Montant facturé : {fr_money(fse.charged_sent)} ; part AMO : {fr_money(fse.amo_sent)}.",
        f"État : {fse.status.value}.", "", "Merci de réexaminer ce dossier.",
    ]
    return Draft(f"Réclamation : facture {fse.invoice_number}"[:200], Category.PAYMENT_COMPLAINT,
                 "\n".join(lines), Links(lot_id=fse.lot_id, fse_id=fse.id))


def penalty_claim_draft(session: Session, pro: Professional, month: date, today: date) -> Draft:
    statement = tp_services.penalty_statement(session, pro, month, today)
    body = (f"Je réclame les pénalités de retard de paiement du tiers payant de {month:%m/%Y} "
            f"(décret 2016-1069) : {len(statement.lines)} facture(s), total {fr_money(statement.total)}.\n"
            "Le relevé du mois (CSV) est joint à ce message.")
    return Draft(f"Réclamation des pénalités de retard de {month:%m/%Y}", Category.PENALTY_CLAIM, body,
                 claim_month=month, claim_total=statement.total, claim_lines=len(statement.lines))
