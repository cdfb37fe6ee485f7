"""Read-only queries of the submission path: lots, FSE and their reports, the Facturation
search, the FSE page's details, the sending activity. Every query is filtered by the
professional (a professional's own data only); nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from amelipro.auth.models import Professional
from amelipro.errors import AmeliproError
from amelipro.fse import lot_errors
from amelipro.fse.models import FseStatus, Lot, StoredFse
from amelipro.fse.reports import FseReport, LotReport

PAGE_SIZE = 50


def get_lot(session: Session, pro: Professional, lot_id: int) -> Lot:
    lot = session.scalar(select(Lot).where(Lot.id == lot_id, Lot.professional_id == pro.id))
    if lot is None:
        raise AmeliproError(lot_errors.LOT_NOT_FOUND)
    return lot


def lot_fses(session: Session, pro: Professional, lot: Lot, status: FseStatus | None = None) -> list[StoredFse]:
    stmt = select(StoredFse).where(StoredFse.lot_id == lot.id, StoredFse.professional_id == pro.id)
    if status is not None:
        stmt = stmt.where(StoredFse.status == status)
    return list(session.scalars(stmt.order_by(StoredFse.position)))


def get_fse(session: Session, pro: Professional, fse_id: int) -> StoredFse:
    fse = session.scalar(select(StoredFse).where(StoredFse.id == fse_id, StoredFse.professional_id == pro.id))
    if fse is None:
        raise AmeliproError(lot_errors.FSE_NOT_FOUND)
    return fse


def lot_report(session: Session, pro: Professional, lot: Lot) -> LotReport:
    """A recorded lot's report, read back from what was stored (the page shown after the
    upload's redirect: the same content as the ARL answered to the POST)."""
    fses = tuple(
        FseReport(
            position=f.position, element_id=f.element_id, invoice_number=f.invoice_number,
            status=f.status, errors=tuple(f.errors), fse_id=f.id, duplicate_of_id=f.duplicate_of_id,
            corrects_id=f.corrects_id, amo_sent=f.amo_sent, amo_computed=f.amo_computed,
            participation=f.participation, franchise=f.franchise,
        )
        for f in lot_fses(session, pro, lot)
    )
    return LotReport(True, lot.received_at, lot.lot_number, lot.id, lot.status, fses=fses,
                     body_sha256=lot.body_sha256)


@dataclass(frozen=True)
class LotPage:
    lots: tuple[Lot, ...]
    page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def list_lots(session: Session, pro: Professional, page: int = 1) -> LotPage:
    page = max(1, page)
    total = session.scalar(select(func.count()).select_from(Lot).where(Lot.professional_id == pro.id)) or 0
    lots = session.scalars(
        select(Lot).where(Lot.professional_id == pro.id).order_by(Lot.received_at.desc(), Lot.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    )
    return LotPage(tuple(lots), page, total)


@dataclass(frozen=True)
class FseSearch:
    """The Facturation search (GET): words (invoice or lot number, NIR, patient's name), care
    dates (``du``/``au``, inclusive, on the FSE's care period) and state."""

    words: str = ""
    start: date | None = None
    end: date | None = None
    status: FseStatus | None = None

    @property
    def active(self) -> bool:
        return bool(self.words or self.start or self.end or self.status)

    @classmethod
    def from_args(cls, args) -> FseSearch:
        from amelipro.codes import INVALID_DATE

        def day(name: str) -> date | None:
            raw = (args.get(name) or "").strip()
            if not raw:
                return None
            try:
                return date.fromisoformat(raw)
            except ValueError:
                raise AmeliproError(INVALID_DATE, f"{name} = {raw[:20]}") from None

        raw_status = (args.get("etat") or "").strip()
        try:
            status = FseStatus(raw_status) if raw_status else None
        except ValueError:
            status = None
        return cls(" ".join((args.get("q") or "").split())[:100], day("du"), day("au"), status)


@dataclass(frozen=True)
class FsePage:
    fses: tuple[StoredFse, ...]
    names: dict[tuple[str, int], str]  # (NIR, rank) -> the patient's name, when known
    page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def _escape_like(text_: str) -> str:
    return text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_fses(session: Session, pro: Professional, search: FseSearch, page: int = 1) -> FsePage:
    """The professional's own FSE matching the search, newest first, 50 a page."""
    from amelipro.beneficiaries.models import Beneficiary

    page = max(1, page)
    query = select(StoredFse).join(Lot, Lot.id == StoredFse.lot_id).where(StoredFse.professional_id == pro.id)
    if search.words:
        compact = search.words.replace(" ", "").upper()
        like = f"%{_escape_like(search.words.lower())}%"
        matches = [func.upper(StoredFse.invoice_number) == compact, func.lower(Lot.lot_number) == search.words.lower()]
        if compact.isdigit() or (len(compact) == 15 and compact[5:7] in ("2A", "2B")):
            matches.append(StoredFse.patient_nir.like(f"{_escape_like(compact)}%", escape="\\"))
        if compact.isdigit() and len(compact) <= 9:
            matches.append(Lot.id == int(compact))
        people = select(Beneficiary.nir).where(or_(
            func.lower(Beneficiary.last_name).like(like, escape="\\"),
            func.lower(Beneficiary.first_name).like(like, escape="\\"),
            func.lower(Beneficiary.first_name + " " + Beneficiary.last_name).like(like, escape="\\"),
            func.lower(Beneficiary.last_name + " " + Beneficiary.first_name).like(like, escape="\\"),
        ))
        matches.append(StoredFse.patient_nir.in_(people))
        query = query.where(or_(*matches))
    if search.start:
        query = query.where(StoredFse.last_care_date >= search.start)
    if search.end:
        query = query.where(StoredFse.first_care_date <= search.end)
    if search.status:
        query = query.where(StoredFse.status == search.status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    fses = tuple(session.scalars(
        query.order_by(StoredFse.created_at.desc(), StoredFse.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ))
    keys = {(f.patient_nir, f.patient_rank) for f in fses if f.patient_nir}
    names: dict[tuple[str, int], str] = {}
    if keys:
        for person in session.scalars(select(Beneficiary).where(
                Beneficiary.nir.in_({nir for nir, _ in keys}))):
            if (person.nir, person.rank) in keys:
                names[(person.nir, person.rank)] = " ".join(
                    part for part in (person.first_name, person.last_name.upper()) if part)
    return FsePage(fses, names, page, total)


@dataclass(frozen=True)
class FseDetails:
    """What the FSE page adds to the stored row: the patient's name (beneficiaries file), the
    prescription (read from the signed XML, not kept in columns) and its tiers-payant payment."""

    patient_name: str
    prescriber_rpps: str
    prescription_date: date | None
    payment_id: int | None


def prescription_of(signed_xml: str) -> tuple[str, date | None]:
    """Prescriber and prescription date of a stored FSE, from its signed XML (verified when
    received) through the safe parser; empty when it cannot be read."""
    from decimal import InvalidOperation

    from amelipro.fse.document import care_sheet_from_xml
    from amelipro.xmlcore.errors import UnsafeXmlError
    from amelipro.xmlcore.safe import parse_untrusted

    if not signed_xml:
        return "", None
    try:
        sheet = care_sheet_from_xml(parse_untrusted(signed_xml.encode()))
    except (UnsafeXmlError, ValueError, KeyError, InvalidOperation):
        return "", None
    return sheet.prescriber_rpps or "", sheet.prescription_date


def fse_details(session: Session, pro: Professional, fse: StoredFse) -> FseDetails:
    from amelipro.beneficiaries.models import Beneficiary
    from amelipro.thirdparty.models import Payment

    person = None
    if fse.patient_nir:
        person = session.scalar(select(Beneficiary).where(
            Beneficiary.nir == fse.patient_nir, Beneficiary.rank == fse.patient_rank))
    name = " ".join(part for part in (person.first_name, person.last_name.upper()) if part) if person else ""
    payment_id = session.scalar(select(Payment.id).where(
        Payment.fse_id == fse.id, Payment.professional_id == pro.id))
    rpps, when = prescription_of(fse.signed_xml)
    return FseDetails(name, rpps, when, payment_id)


def related_fses(session: Session, pro: Professional, fse: StoredFse) -> list[StoredFse]:
    """Other FSE of the same invoice number (original, duplicates, corrections)."""
    if not fse.invoice_number:
        return []
    return list(session.scalars(
        select(StoredFse).where(
            StoredFse.professional_id == pro.id, StoredFse.invoice_number == fse.invoice_number,
            StoredFse.id != fse.id,
        ).order_by(StoredFse.id)
    ))


@dataclass(frozen=True)
class Activity:
    """A professional's sending activity since a moment (the home dashboard)."""

    lots: int
    accepted: int
    rejected: int
    duplicates: int
    amo_accepted: Decimal
    to_correct: int = 0  # rejected and not yet corrected by an accepted resubmission


def activity_since(session: Session, pro: Professional | None, since: datetime) -> Activity:
    """One professional's lots since ``since``; every professional's when ``pro`` is None
    (the operators' view)."""
    stmt = (select(func.count(Lot.id), func.coalesce(func.sum(Lot.accepted_count), 0),
                   func.coalesce(func.sum(Lot.rejected_count), 0),
                   func.coalesce(func.sum(Lot.duplicate_count), 0),
                   func.coalesce(func.sum(Lot.amo_accepted), 0))
            .where(Lot.received_at >= since))
    if pro is not None:
        stmt = stmt.where(Lot.professional_id == pro.id)
    lots, accepted, rejected, duplicates, amo = session.execute(stmt).one()
    return Activity(int(lots), int(accepted), int(rejected), int(duplicates),
                    Decimal(amo).quantize(Decimal("0.01")),
                    to_correct=rejected_to_correct(session, pro, since) if pro is not None else 0)


def rejected_to_correct(session: Session, pro: Professional, since: datetime) -> int:
    """FSE of ``pro`` rejected since ``since`` that still need a correction: not those whose
    invoice was accepted since (a corrected resubmission, linked by ``corrects_id`` or under
    the same invoice number, or an identical resend of an accepted one)."""
    fixed = aliased(StoredFse)
    corrected = select(fixed.id).where(
        fixed.professional_id == pro.id, fixed.status == FseStatus.ACCEPTED,
        or_(fixed.corrects_id == StoredFse.id,
            and_(StoredFse.invoice_number != "", fixed.invoice_number == StoredFse.invoice_number)),
    ).exists()
    return session.scalar(
        select(func.count(StoredFse.id)).join(Lot, Lot.id == StoredFse.lot_id)
        .where(StoredFse.professional_id == pro.id, StoredFse.status == FseStatus.REJECTED,
               Lot.received_at >= since, ~corrected)
    ) or 0


__all__ = [
    "Activity", "FseDetails", "FsePage", "FseSearch", "LotPage", "PAGE_SIZE", "activity_since", "fse_details",
    "get_fse", "get_lot", "list_lots", "lot_fses", "lot_report", "prescription_of", "rejected_to_correct",
    "related_fses", "search_fses",
]
