"""Online billing's drafts and their sending: save, list and correct drafts (the owner's
only), and sign-and-send a draft through the submission pipeline (``services.submit_lot``)
with the professional's certificate of the online-signing CA, once (idempotency key).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from amelipro import audit
from amelipro.auth.models import Professional
from amelipro.db import utcnow
from amelipro.errors import AmeliproError
from amelipro.fse import idempotency, services
from amelipro.fse import online_errors as EL
from amelipro.fse.document import build_lot, care_sheet_to_xml, document_bytes
from amelipro.fse.domain import (
    CareSheet,
)
from amelipro.fse.models import FseStatus, IdempotencyKey, StoredFse
from amelipro.fse.online import ONLINE_PROFESSIONS, SOURCE, LineInput, SheetInput, price_sheet
from amelipro.fse.online_models import Draft, DraftStatus
from amelipro.fse.online_signing import SigningSettings, signer_for
from amelipro.xmlcore.signature import sign_fse


def invoice_of(draft: Draft) -> str:
    """The gateway's invoice number of a draft (a correction keeps the original's)."""
    return draft.invoice_number or f"EL{draft.number:08d}"


def get_draft(session: Session, pro: Professional, draft_id: int) -> Draft:
    found = session.scalar(select(Draft).where(Draft.id == draft_id, Draft.professional_id == pro.id))
    if found is None:
        raise AmeliproError(EL.DRAFT_NOT_FOUND)
    return found


def list_drafts(session: Session, pro: Professional, limit: int = 200) -> list[Draft]:
    return list(session.scalars(
        select(Draft).where(Draft.professional_id == pro.id)
        .order_by(Draft.status, Draft.updated_at.desc(), Draft.id.desc()).limit(limit)
    ))


def check_allowed(pro: Professional) -> None:
    if not pro.rpps or pro.profession not in ONLINE_PROFESSIONS:
        raise AmeliproError(EL.NOT_ALLOWED)


def save_draft(session: Session, pro: Professional, inp: SheetInput, draft_id: int | None = None, *,
               invoice_number: str = "", corrects_fse_id: int | None = None) -> Draft:
    """Create or update a draft with what was typed (errors and all); commits."""
    check_allowed(pro)
    data = json.dumps(inp.to_json(), ensure_ascii=False)
    if draft_id is not None:
        draft = get_draft(session, pro, draft_id)
        if draft.status != DraftStatus.DRAFT:
            raise AmeliproError(EL.DRAFT_SENT)
        draft.data_json = data
        draft.updated_at = utcnow()
        session.commit()
        return draft
    for attempt in range(5):
        number = (session.scalar(select(func.max(Draft.number)).where(Draft.professional_id == pro.id)) or 0) + 1
        draft = Draft(professional_id=pro.id, number=number, status=DraftStatus.DRAFT, data_json=data,
                      invoice_number=invoice_number, corrects_fse_id=corrects_fse_id,
                      created_at=utcnow(), updated_at=utcnow())
        session.add(draft)
        try:
            session.commit()
            return draft
        except IntegrityError:  # a concurrent draft took that number
            session.rollback()
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


# --- correcting a rejected FSE ------------------------------------------------------------

def correct_fse(session: Session, pro: Professional, fse_id: int) -> Draft:
    """A draft prefilled from a rejected FSE (online or from a lot), keeping its invoice number.
    Asked twice, the same unsent draft is given back."""
    check_allowed(pro)
    fse = services.get_fse(session, pro, fse_id)
    if fse.status != FseStatus.REJECTED:
        raise AmeliproError(EL.NOT_CORRECTABLE)
    existing = session.scalar(select(Draft).where(
        Draft.professional_id == pro.id, Draft.corrects_fse_id == fse.id, Draft.status == DraftStatus.DRAFT))
    if existing is not None:
        return existing
    return save_draft(session, pro, input_of_fse(fse), invoice_number=fse.invoice_number,
                      corrects_fse_id=fse.id)


def input_of_fse(fse: StoredFse) -> SheetInput:
    """What the stored FSE said (its columns and lines), as typed input."""
    prescriber, prescription = _prescription_of(fse.signed_xml)

    def day(value: str | date | None) -> str:
        if isinstance(value, date):
            return value.strftime("%d/%m/%Y")
        try:
            return date.fromisoformat(value or "").strftime("%d/%m/%Y")
        except ValueError:
            return ""

    first = fse.first_care_date
    lines = tuple(
        LineInput(kind=str(line.get("kind", "ngap")), code=str(line.get("code", "")),
                  coefficient=str(line.get("coefficient", "1")).replace(".", ","),
                  quantity=str(line.get("quantity", "1")),
                  care_date="" if day(line.get("care_date")) == day(first) else day(line.get("care_date")))
        for line in fse.lines if isinstance(line, dict)
    )
    return SheetInput(
        nir=fse.patient_nir, birth_date=day(fse.patient_birth_date), rank=str(fse.patient_rank),
        care_date=day(first), nature=fse.nature or "10", pathway=fse.pathway,
        exemption=fse.exemption or "aucune", prescriber_rpps=prescriber, prescription_date=prescription,
        tiers_payant_amo=fse.tiers_payant_amo, tiers_payant_amc=fse.tiers_payant_amc,
        lines=lines or (LineInput(),),
    )


def _prescription_of(signed_xml: str) -> tuple[str, str]:
    """Prescriber and prescription date of a stored FSE (not kept in columns)."""
    rpps, when = services.prescription_of(signed_xml)
    return rpps, when.strftime("%d/%m/%Y") if when else ""


# --- signing and sending ------------------------------------------------------------------

@dataclass(frozen=True)
class SendOutcome:
    draft: Draft
    fse_id: int | None
    lot_id: int | None
    status: FseStatus | None
    replayed: bool = False  # already sent: nothing new was created


def idempotency_key(draft: Draft) -> str:
    return f"amelipro-en-ligne-brouillon-{draft.id}"


def send_draft(session: Session, pro: Professional, draft_id: int, *, settings: SigningSettings,
               rule_config, today: date) -> SendOutcome:
    """Sign the draft's care sheet with the professional's own online-signing key and submit it
    as a one-FSE lot through ``services.submit_lot`` (verification, rules, storage, ARL,
    idempotency, tiers payant). Sent once whatever the number of requests; on any failure the
    draft is left as it was and nothing is stored."""
    check_allowed(pro)
    draft = get_draft(session, pro, draft_id)
    if draft.status == DraftStatus.SENT:
        return SendOutcome(draft, draft.fse_id, draft.lot_id, _status_of(session, draft.fse_id), replayed=True)
    inp = SheetInput.from_draft(draft)
    invoice = invoice_of(draft)
    priced = price_sheet(session, pro, inp, today=today, rule_config=rule_config, invoice_number=invoice)
    if not priced.ok:
        raise AmeliproError(EL.SHEET_HAS_ERRORS, f"{len(priced.errors)} erreur(s).")
    key, cert = signer_for(session, pro, settings)  # before claiming: a missing key claims nothing
    session.commit()
    body_hash = idempotency.request_hash("POST", f"/facturation/brouillons/{draft.id}/envoyer",
                                         draft.data_json.encode())
    got = idempotency.claim(session, pro.id, idempotency_key(draft), body_hash)
    if isinstance(got, idempotency.Replay):  # sent by an earlier request that did not finish marking it
        row = session.scalar(select(IdempotencyKey).where(IdempotencyKey.professional_id == pro.id,
                                                          IdempotencyKey.key == idempotency_key(draft)))
        return _mark_sent(session, draft, row.lot_id if row else None, replayed=True)
    try:
        body = _signed_lot(priced.sheet, pro, key, cert, invoice)
        result = services.submit_lot(session, pro, body, source=SOURCE, claim=got)
    except BaseException:
        idempotency.release(session, got)
        raise
    if not result.report.positive:  # refused whole: nothing stored; the draft stays as it was
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == got.id))
        session.commit()
        raise AmeliproError(EL.LOT_REFUSED, "; ".join(
            f"{e.code} {e.message}" for e in result.report.errors)[:500])
    return _mark_sent(session, draft, result.report.lot_id)


def _signed_lot(sheet: CareSheet, pro: Professional, key, cert, invoice: str) -> bytes:
    signed = sign_fse(care_sheet_to_xml(sheet), key, cert)
    stamp = utcnow().strftime("%Y%m%d%H%M%S")
    return document_bytes(build_lot([signed], number=f"EL-{invoice}-{stamp}", sender_rpps=pro.rpps or "",
                                    software="amelipro saisie en ligne"))


def _mark_sent(session: Session, draft: Draft, lot_id: int | None, *, replayed: bool = False) -> SendOutcome:
    fse = None
    if lot_id is not None:
        fse = session.scalar(select(StoredFse).where(StoredFse.lot_id == lot_id,
                                                     StoredFse.professional_id == draft.professional_id)
                             .order_by(StoredFse.position))
    draft.status = DraftStatus.SENT
    draft.lot_id = lot_id
    draft.fse_id = fse.id if fse else None
    draft.sent_at = utcnow()
    audit.record(session, "fse.online_sent", actor_id=draft.professional_id, draft_id=draft.id,
                 fse_id=draft.fse_id, lot_id=lot_id)
    session.commit()
    return SendOutcome(draft, draft.fse_id, lot_id, fse.status if fse else None, replayed)


def _status_of(session: Session, fse_id: int | None) -> FseStatus | None:
    if fse_id is None:
        return None
    return session.scalar(select(StoredFse.status).where(StoredFse.id == fse_id))


def draft_of_fse(session: Session, pro: Professional, fse_id: int) -> Draft | None:
    return session.scalar(select(Draft).where(Draft.professional_id == pro.id, Draft.fse_id == fse_id))


def is_online(fse: StoredFse) -> bool:
    return fse.lot is not None and fse.lot.source == SOURCE

