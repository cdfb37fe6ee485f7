"""What a patient was already charged: the history behind the caps of patient charges.

The participation forfaitaire and the franchises have annual caps per patient (the caisse's
view of its insured person: every professional counts) and day caps per patient *and
professional*. Pricing is pure (``amelipro.fse.pricing``); this module reads the stored FSE
and gives it a :class:`~amelipro.fse.pricing.PriorCharges` per care sheet.

Who counts: accepted FSE only (status ``acceptee``), whoever billed them; rejected FSE and
duplicates (``doublon``, never billed twice) do not. A year is the calendar year of the date
of care of each line (an FSE spanning 31 December counts in both years, line by line). A day
counts the same professional's accepted FSE with care that day.

``load_ledger`` reads the whole lot's history in a few queries (grouped sums per patient and
year, then the rare rows that need their lines), never one per FSE; the
:class:`ChargeLedger` then accumulates the lot's own accepted FSE in order, so that the second
FSE of a patient in a lot sees the first one's charges.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, exists, extract, func, or_, select, text
from sqlalchemy.orm import Session

from amelipro.db import filter_only, is_postgresql, one_of, pairs_in
from amelipro.fse import stored
from amelipro.fse.charges import default_billing_config
from amelipro.fse.domain import CareSheet, LineKind
from amelipro.fse.models import FseStatus, StoredFse
from amelipro.fse.pricing import ZERO, DayCharges, PricedLine, PriorCharges, YearCharges, money
from amelipro.fse.rules import BilledCare, CareKey
from amelipro.thirdparty.models import Payment
from amelipro.thirdparty.states import PaymentStatus

_IN_CHUNK = 500  # bound on IN (...) lists
_ACTS = frozenset({LineKind.NGAP.value, LineKind.CCAM.value})

PatientKey = tuple[str, int]  # (NIR, rank)
_UNPAID = (PaymentStatus.REJECTED, PaymentStatus.RESUBMITTED)  # the caisse refused to pay


class ChargeLedger:
    """Charges already taken, per patient and year and per patient and day (one professional).

    Pure and in memory: filled by :func:`load_ledger`, then by :meth:`add` for each accepted
    FSE of the lot, in order.
    """

    def __init__(self) -> None:
        self._years: dict[tuple[str, int, int], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        self._days: dict[tuple[str, int, date], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])

    def add_year(self, nir: str, rank: int, year: int, participation: Decimal, franchise: Decimal) -> None:
        entry = self._years[(nir, rank, year)]
        entry[0] += participation
        entry[1] += franchise

    def add_day(self, nir: str, rank: int, day: date, participation: Decimal,
                paramedical_franchise: Decimal) -> None:
        entry = self._days[(nir, rank, day)]
        entry[0] += participation
        entry[1] += paramedical_franchise

    def add(self, nir: str, rank: int, lines: Iterable[PricedLine]) -> None:
        """Count the charges of one more accepted FSE of this professional."""
        for line in lines:
            if line.participation or line.franchise:
                self.add_year(nir, rank, line.care_date.year, line.participation, line.franchise)
                para = line.franchise if line.kind.value in _ACTS else ZERO
                self.add_day(nir, rank, line.care_date, line.participation, para)

    def prior(self, sheet: CareSheet) -> PriorCharges:
        """What was taken before this care sheet, for its patient, years and days of care."""
        nir, rank = sheet.patient.nir, sheet.patient.rank
        days = sorted({line.care_date for line in sheet.lines})
        years = sorted({day.year for day in days})
        return PriorCharges(  # only what was taken: an empty prior means "nothing yet"
            years=tuple(YearCharges(y, *self._years[(nir, rank, y)]) for y in years
                        if (nir, rank, y) in self._years),
            days=tuple(DayCharges(d, *self._days[(nir, rank, d)]) for d in days
                       if (nir, rank, d) in self._days),
        )

    def year_total(self, nir: str, rank: int, year: int) -> tuple[Decimal, Decimal]:
        participation, franchise = self._years.get((nir, rank, year), (ZERO, ZERO))
        return participation, franchise


def _chunks(items: list, size: int = _IN_CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def load_year_charges(
    session: Session, keys: Iterable[tuple[str, int, int]], ledger: ChargeLedger | None = None,
) -> ChargeLedger:
    """Charges of accepted FSE (all professionals) per (NIR, rank, calendar year of care).

    One grouped query per 500 NIR; the FSE whose care spans two years (rare) are then read
    line by line, in one more query.
    """
    ledger = ledger or ChargeLedger()
    wanted = set(keys)
    if not wanted:
        return ledger
    first = date(min(y for _, _, y in wanted), 1, 1)
    last = date(max(y for _, _, y in wanted), 12, 31)
    y_first = extract("year", StoredFse.first_care_date)
    y_last = extract("year", StoredFse.last_care_date)
    spanning: set[PatientKey] = set()
    for chunk in _chunks(sorted({nir for nir, _, _ in wanted})):
        rows = session.execute(
            select(StoredFse.patient_nir, StoredFse.patient_rank, y_first, y_last,
                   func.coalesce(func.sum(StoredFse.participation), 0),
                   func.coalesce(func.sum(StoredFse.franchise), 0))
            .where(StoredFse.status == FseStatus.ACCEPTED, one_of(session, StoredFse.patient_nir, chunk),
                   StoredFse.last_care_date >= first, StoredFse.first_care_date <= last)
            .group_by(StoredFse.patient_nir, StoredFse.patient_rank, y_first, y_last)
        )
        for nir, rank, year, year_last, participation, franchise in rows:
            if int(year) != int(year_last):
                spanning.add((nir, rank))
            elif (nir, rank, int(year)) in wanted:
                ledger.add_year(nir, rank, int(year), money(participation), money(franchise))
    if spanning:
        for chunk in _chunks(sorted({nir for nir, _ in spanning})):
            rows = session.execute(
                select(StoredFse.patient_nir, StoredFse.patient_rank, StoredFse.lines_json)
                .where(StoredFse.status == FseStatus.ACCEPTED, one_of(session, StoredFse.patient_nir, chunk),
                       StoredFse.last_care_date >= first, StoredFse.first_care_date <= last,
                       y_first != y_last)
            )
            for nir, rank, lines_json in rows:
                if (nir, rank) not in spanning:
                    continue
                for day, _kind, participation, franchise in stored.charged_lines(lines_json):
                    if (nir, rank, day.year) in wanted:
                        ledger.add_year(nir, rank, day.year, participation, franchise)
    return ledger


def load_day_charges(
    session: Session, professional_id: int, keys: Iterable[tuple[str, int, date]],
    ledger: ChargeLedger | None = None,
) -> ChargeLedger:
    """Charges of the professional's accepted FSE per (NIR, rank, day of care): what the day
    caps count. Read line by line (an FSE may hold several days), in one query per 500 NIR."""
    ledger = ledger or ChargeLedger()
    wanted = set(keys)
    if not wanted:
        return ledger
    days = sorted({day for _, _, day in wanted})
    days_of = _days_by_patient((nir, rank, day) for nir, rank, day in wanted)
    for chunk in _chunks(sorted({nir for nir, _, _ in wanted})):
        rows = session.execute(
            select(StoredFse.patient_nir, StoredFse.patient_rank, StoredFse.first_care_date,
                   StoredFse.last_care_date, StoredFse.lines_json)
            .where(
                filter_only(session, StoredFse.professional_id) == professional_id,
                StoredFse.status == FseStatus.ACCEPTED,
                one_of(session, StoredFse.patient_nir, chunk),
                or_(StoredFse.participation > 0, StoredFse.franchise > 0),
                or_(
                    pairs_in(session, (StoredFse.patient_nir, StoredFse.first_care_date),
                             _patient_days(days_of, chunk)),
                    and_(StoredFse.first_care_date != StoredFse.last_care_date,
                         StoredFse.first_care_date <= days[-1], StoredFse.last_care_date >= days[0]),
                ),
            )
        )
        for nir, rank, first_day, last_day, lines_json in rows:
            if not _covers_one_of(first_day, last_day, days_of.get((nir, rank))):
                continue  # another patient of that NIR, or none of this patient's days
            for day, kind, participation, franchise in stored.charged_lines(lines_json):
                if (nir, rank, day) in wanted:
                    ledger.add_day(nir, rank, day, participation, franchise if kind in _ACTS else ZERO)
    return ledger


def load_billed_care(
    session: Session, professional_id: int, sheets: Iterable[CareSheet],
) -> dict[PatientKey, dict[CareKey, BilledCare]]:
    """Care this professional already billed and had accepted, per patient: what a new care
    sheet may not bill again under another invoice number (``rules.duplicate_care``).

    Read from the accepted FSE whose dates of care overlap the lot's, in one query per 500
    NIR. Lines flagged as a distinct second act are left out, as are majorations, and so are
    FSE the caisse rejected (tiers payant: rejected or already corrected): their care was
    not paid, and billing it again under a new number is the correction."""
    sheets = list(sheets)
    days = sorted({line.care_date for sheet in sheets for line in sheet.lines})
    days_of = _days_by_patient((s.patient.nir, s.patient.rank, line.care_date) for s in sheets for line in s.lines)
    found: dict[PatientKey, dict[CareKey, BilledCare]] = {}
    if not days:
        return found
    majorations = default_billing_config().majorations
    for chunk in _chunks(sorted({nir for nir, _ in days_of})):
        rows = session.execute(
            select(StoredFse.id, StoredFse.invoice_number, StoredFse.patient_nir, StoredFse.patient_rank,
                   StoredFse.first_care_date, StoredFse.last_care_date, StoredFse.lines_json)
            .where(filter_only(session, StoredFse.professional_id) == professional_id,
                   StoredFse.status == FseStatus.ACCEPTED,
                   one_of(session, StoredFse.patient_nir, chunk),
                   or_(  # a day of the patient's own, or a span across the lot's days (rare)
                       and_(StoredFse.first_care_date == StoredFse.last_care_date,
                            pairs_in(session, (StoredFse.patient_nir, StoredFse.first_care_date),
                                     _patient_days(days_of, chunk))),
                       and_(StoredFse.first_care_date != StoredFse.last_care_date,
                            StoredFse.first_care_date <= days[-1], StoredFse.last_care_date >= days[0])),
                   ~exists().where(Payment.fse_id == StoredFse.id, Payment.status.in_(_UNPAID)))
            .order_by(StoredFse.id)
        )
        for fse_id, invoice, nir, rank, first_day, last_day, lines_json in rows:
            patient_days = days_of.get((nir, rank))
            if not _covers_one_of(first_day, last_day, patient_days):
                continue  # another patient of that NIR, or none of this patient's days of care
            billed = found.setdefault((nir, rank), {})
            for raw in stored.read_lines(lines_json):
                if raw.get("second_act") or raw.get("code") in majorations:
                    continue
                day = date.fromisoformat(raw["care_date"])
                if day not in patient_days or raw.get("kind") == LineKind.DEVICE.value:
                    continue
                quantity = int(raw.get("quantity") or 0) if raw.get("kind") == LineKind.MEDICINE.value else 0
                billed.setdefault((day, raw.get("kind", ""), raw.get("code", ""), quantity),
                                  BilledCare(invoice, fse_id))
    return found


def _days_by_patient(keys: Iterable[tuple[str, int, date]]) -> dict[PatientKey, frozenset[date]]:
    """The days of care of each patient of the lot."""
    days: dict[PatientKey, set[date]] = defaultdict(set)
    for nir, rank, day in keys:
        days[(nir, rank)].add(day)
    return {key: frozenset(found) for key, found in days.items()}


def _patient_days(days_of: dict[PatientKey, frozenset[date]], nirs: list[str]) -> set[tuple[str, date]]:
    """(NIR, day) of care of the lot's patients of these NIR: the stored FSE of a single day
    worth reading (one query reads them, not the patients' whole range of the lot's days)."""
    wanted = set(nirs)
    return {(nir, day) for (nir, _rank), days in days_of.items() if nir in wanted for day in days}


def _covers_one_of(first: date | None, last: date | None, days: frozenset[date] | None) -> bool:
    """Whether a stored FSE (its first and last days of care) may hold one of ``days``: the
    rows whose lines cannot count are not parsed (the query reads the lot's range of days for
    every patient; a patient's history on the lot's other days counts for nothing)."""
    if not days:
        return False
    if first is None or last is None:
        return True  # no dates stored: read its lines, as before
    return any(first <= day <= last for day in days)


def _lock_key(nir: str, rank: int) -> int:
    """A signed 64-bit advisory-lock key for one insured person."""
    digest = hashlib.sha256(f"amelipro.fse.charges:{nir}:{rank}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_patients(session: Session, sheets: Iterable[CareSheet]) -> None:
    """Serialise the lots that charge the same patients, until this transaction ends.

    PostgreSQL: one transaction-level advisory lock per patient, taken in ascending key order
    (two lots never wait on each other crosswise), before the history is read: a concurrent
    lot for one of these patients waits for this one's commit, then reads its FSE (READ
    COMMITTED), so the caps hold across professionals sending at the same moment. SQLite
    needs nothing: the submission already holds the database's write lock.
    """
    if not is_postgresql(session):
        return
    keys = sorted({_lock_key(s.patient.nir, s.patient.rank) for s in sheets})
    if keys:
        # unnest yields the keys in array order: the locks are taken in that (sorted) order
        session.execute(text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k"),
                        {"keys": keys})


def load_ledger(session: Session, professional_id: int, sheets: Iterable[CareSheet]) -> ChargeLedger:
    """The history behind a lot of this professional's care sheets, in a few queries."""
    year_keys: set[tuple[str, int, int]] = set()
    day_keys: set[tuple[str, int, date]] = set()
    for sheet in sheets:
        nir, rank = sheet.patient.nir, sheet.patient.rank
        for line in sheet.lines:
            year_keys.add((nir, rank, line.care_date.year))
            day_keys.add((nir, rank, line.care_date))
    ledger = load_year_charges(session, year_keys)
    return load_day_charges(session, professional_id, day_keys, ledger)


__all__ = ["ChargeLedger", "load_billed_care", "load_day_charges", "load_ledger", "load_year_charges", "lock_patients"]
