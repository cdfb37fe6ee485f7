"""What the caisse decides for one FSE at liquidation: paid, rejected or adjusted. Pure.

Two layers, both on frozen values and table-tested without a database:

- :func:`decide`: the caisse's rules on a :class:`DecisionInput` (the gateway's own pricing
  at the date of care, what the caisse's file says of the patient, whether the same care was
  already paid). Reject codes are the real caisse codes where the situation matches
  (:class:`CaisseCode`, messages in ``data/caisse_codes.json``).
- :func:`decide_stored`: one stored FSE (a row of the liquidation's claim, see
  :class:`StoredFseValues`): the care sheet rebuilt from storage, priced with
  ``amelipro.fse.pricing.price_care_sheet`` at the date of care, then :func:`decide`.

The batch runner (``liquidation.py``) reads the rows, asks this module, and writes.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from amelipro.beneficiaries.domain import PatientRights
from amelipro.fse.domain import (
    Amounts,
    CareSheet,
    Exemption,
    InsuranceNature,
    Line,
    LineKind,
    PatientRef,
    ProfessionalRef,
    Totals,
)
from amelipro.fse.pricing import LineProblem, PracticeHistory, price_care_sheet
from amelipro.reference.facts import ReferenceLookup
from amelipro.thirdparty.rsp import ReturnCode
from amelipro.thirdparty.states import ReturnStatus

CODES_PATH = Path(__file__).with_name("data") / "caisse_codes.json"
ZERO = Decimal("0.00")


class CaisseCode(enum.StrEnum):
    """The reject and adjustment codes a liquidation gives (``data/caisse_codes.json``)."""

    PATIENT_UNKNOWN = "0250 050"
    EXEMPTION_NOT_ON_FILE = "0450 072"
    NATURE_INCOMPATIBLE = "0317 051"
    ALREADY_PAID = "2900 005"
    NO_TARIFF = "AMP 001"
    AMOUNT_RECOMPUTED = "AMP 002"
    RIGHTS_CLOSED = "AMP 003"
    NOT_REIMBURSABLE_AT_DATE = "0470 049"


# Insurance natures that an exemption contradicts (an AT/MP care under maternity...).
INCOMPATIBLE_NATURES = frozenset({
    (InsuranceNature.AT_MP, Exemption.MATERNITY),
    (InsuranceNature.MATERNITE, Exemption.AT_MP),
})


@lru_cache(maxsize=1)
def code_catalogue() -> dict[str, ReturnCode]:
    raw = json.loads(CODES_PATH.read_text(encoding="utf-8"))
    return {c["code"]: ReturnCode(c["code"], c["message"], c.get("hint", "")) for c in raw["codes"]}


def return_code(code: str) -> ReturnCode:
    return code_catalogue()[code]


@dataclass(frozen=True)
class PatientOnFile:
    """What the caisse's file says of the patient at the date of care."""

    rights_open: bool
    covers: frozenset[str]  # exemption values held at the date of care ("ald", "maternite"...)
    alsace_moselle: bool = False


def on_file(person: PatientRights | None, at: date) -> PatientOnFile | None:
    """What a PatientRights record says at the date of care."""
    if person is None:
        return None
    return PatientOnFile(
        rights_open=person.is_open(at),
        covers=frozenset(c.cover.value for c in person.covers_at(at)),
        alsace_moselle=person.alsace_moselle,
    )


@dataclass(frozen=True)
class DecisionInput:
    amo_claimed: Decimal
    charged: Decimal
    base: Decimal
    nature: str  # InsuranceNature value
    exemption: str  # Exemption value ("aucune", "ald"...)
    care_date: date | None
    priced_amo: Decimal | None  # None: some line has no tariff at the date of care
    priced_charged: Decimal | None = None
    priced_base: Decimal | None = None
    file_loaded: bool = False  # is the caisse's file of insured persons available?
    patient: PatientOnFile | None = None  # None: unknown to the caisse (when file_loaded)
    already_paid: bool = False
    not_reimbursable: bool = False  # a line's product is known but not reimbursable on that date


@dataclass(frozen=True)
class Decision:
    status: ReturnStatus
    amo_paid: Decimal
    charged: Decimal
    base: Decimal
    codes: tuple[ReturnCode, ...] = ()

    @property
    def rejected(self) -> bool:
        return self.status is ReturnStatus.REJECTED

    @property
    def reject_code(self) -> str:
        return self.codes[0].code if self.rejected and self.codes else ""


def _reject(item: DecisionInput, code: CaisseCode) -> Decision:
    return Decision(ReturnStatus.REJECTED, ZERO, item.charged, item.base, (return_code(code),))


def decide(item: DecisionInput) -> Decision:
    """The first matching reason rejects; else paid, or adjusted when the amount differs."""
    if item.already_paid:
        return _reject(item, CaisseCode.ALREADY_PAID)
    if item.file_loaded:
        if item.patient is None:
            return _reject(item, CaisseCode.PATIENT_UNKNOWN)
        if not item.patient.rights_open:
            return _reject(item, CaisseCode.RIGHTS_CLOSED)
        if item.exemption not in ("", Exemption.NONE) and item.exemption not in item.patient.covers:
            return _reject(item, CaisseCode.EXEMPTION_NOT_ON_FILE)
        if item.nature == InsuranceNature.ALSACE_MOSELLE and not item.patient.alsace_moselle:
            return _reject(item, CaisseCode.NATURE_INCOMPATIBLE)
    if (item.nature, item.exemption) in INCOMPATIBLE_NATURES:
        return _reject(item, CaisseCode.NATURE_INCOMPATIBLE)
    if item.not_reimbursable:
        return _reject(item, CaisseCode.NOT_REIMBURSABLE_AT_DATE)
    if item.priced_amo is None:
        return _reject(item, CaisseCode.NO_TARIFF)
    charged = item.priced_charged if item.priced_charged is not None else item.charged
    base = item.priced_base if item.priced_base is not None else item.base
    if item.priced_amo != item.amo_claimed:
        return Decision(ReturnStatus.ADJUSTED, item.priced_amo, charged, base,
                        (return_code(CaisseCode.AMOUNT_RECOMPUTED),))
    return Decision(ReturnStatus.PAID, item.priced_amo, charged, base)


# --- one stored FSE ----------------------------------------------------------------------


class StoredFseValues(Protocol):
    """What the decision reads of a claimed FSE (a row of the claim query; any object with
    these attributes). ``amo_claimed``, ``p_charged``, ``p_base``: the payment's amounts."""

    id: int
    element_id: str | None
    invoice_number: str
    invoice_date: date | None
    first_care_date: date | None
    patient_nir: str
    patient_birth_date: date | None
    patient_rank: int
    nature: str | None
    pathway: bool
    exemption: str | None
    tiers_payant_amo: bool
    tiers_payant_amc: bool
    charged_sent: Decimal | None
    base_sent: Decimal | None
    amo_sent: Decimal | None
    lines_json: str | None
    amo_claimed: Decimal
    p_charged: Decimal
    p_base: Decimal


def decide_stored(row: StoredFseValues, profession: str, lookup: ReferenceLookup, *,
                  file_loaded: bool, person: PatientRights | None = None,
                  practice: PracticeHistory | None = None, already_paid: bool = False) -> Decision:
    """What the caisse decides for one stored FSE: rebuilt, priced at the date of care with
    the patient's rights (``person``, when the file is loaded) and the professional's sector
    (``practice``), then :func:`decide`. A sheet that cannot be rebuilt or priced has no
    tariff (AMP 001)."""
    pricing = None
    try:
        sheet = care_sheet_from_storage(row, profession)
    except (KeyError, ValueError, TypeError):
        sheet = None
    if sheet is not None:
        pricing = price_stored(sheet, lookup, profession, person, practice)
    complete = pricing is not None and pricing.complete
    patient = None
    if file_loaded and row.first_care_date is not None:
        patient = on_file(person, row.first_care_date)
    return decide(DecisionInput(
        amo_claimed=row.amo_claimed, charged=row.p_charged, base=row.p_base,
        nature=row.nature, exemption=row.exemption, care_date=row.first_care_date,
        priced_amo=pricing.amo if complete else None,
        priced_charged=pricing.charged if complete else None,
        priced_base=pricing.base if complete else None,
        file_loaded=file_loaded, patient=patient, already_paid=already_paid,
        not_reimbursable=pricing is not None and any(
            line.problem is LineProblem.NOT_REIMBURSABLE for line in pricing.lines),
    ))


@lru_cache(maxsize=8192)
def _lines_from_json(text: str) -> tuple[Line, ...]:
    """Stored lines as frozen values (memoised: many FSE carry the same lines)."""
    lines = []
    for raw in json.loads(text or "[]"):
        sent = raw.get("sent")
        lines.append(Line(
            number=int(raw["number"]), kind=LineKind(raw["kind"]),
            care_date=date.fromisoformat(raw["care_date"]), code=raw["code"],
            quantity=int(raw.get("quantity", 1)), coefficient=Decimal(str(raw.get("coefficient", "1"))),
            amounts=None if not sent else Amounts(
                charged=Decimal(sent["charged"]), base=Decimal(sent["base"]), rate=int(sent["rate"]),
                amo=Decimal(sent["amo"])),
        ))
    return tuple(lines)


def care_sheet_from_storage(row: StoredFseValues, profession: str) -> CareSheet:
    """Rebuild the frozen care sheet from the stored FSE (signed content mapped at intake)."""
    lines = _lines_from_json(row.lines_json)
    return CareSheet(
        id=row.element_id or f"FSE{row.id}", invoice_number=row.invoice_number,
        invoice_date=row.invoice_date or row.first_care_date,
        professional=ProfessionalRef(rpps="", am_number="", specialty=profession),
        patient=PatientRef(nir=row.patient_nir, birth_date=row.patient_birth_date, rank=row.patient_rank),
        nature=InsuranceNature(row.nature or "10"), pathway=row.pathway,
        exemption=Exemption(row.exemption or "aucune"),
        tiers_payant_amo=row.tiers_payant_amo, tiers_payant_amc=row.tiers_payant_amc,
        lines=lines,
        totals=Totals(charged=row.charged_sent or ZERO, base=row.base_sent or ZERO, amo=row.amo_sent or ZERO),
    )


def price_stored(sheet: CareSheet, lookup: ReferenceLookup, profession: str,
                 rights: PatientRights | None = None, practice: PracticeHistory | None = None):
    """The AMO part, base and charged amount at the date of care, as the submission priced them
    (``None`` when the sheet cannot be priced at all; incomplete when a line has no price).

    No history of patient charges here (no ``prior``): the liquidation pays and compares only
    AMO, base and charged amounts, which the participation forfaitaire and the franchises never
    change (they are deducted from the patient's reimbursements, not from the tiers-payant AMO
    part). The charges that count are the ones the submission stored on the FSE
    (``fse.participation``, ``fse.franchise``, computed against the patient's history).
    """
    if not sheet.lines:
        return None
    try:
        if practice is not None:  # the doctor's sector on the date of care chooses the CCAM grid
            return price_care_sheet(sheet, lookup, rights, profession, sector=practice)
        return price_care_sheet(sheet, lookup, rights, profession)
    except (KeyError, ValueError, LookupError):
        return None


class CachedLookup:
    """Reference answers memoised per (kind, code, date): a run prices many similar lines."""

    def __init__(self, inner: ReferenceLookup) -> None:
        self.inner = inner
        self.cache: dict[tuple[str, str, date], Any] = {}

    def _get(self, kind: str, code: str, at: date, fetch: Callable[[str, date], Any]) -> Any:
        key = (kind, code, at)
        if key not in self.cache:
            self.cache[key] = fetch(code, at)
        return self.cache[key]

    def medicine(self, cip13: str, at: date):
        return self._get("m", cip13, at, self.inner.medicine)

    def lpp(self, code: str, at: date):
        return self._get("l", code, at, self.inner.lpp)

    def act(self, code: str, at: date):
        return self._get("a", code, at, self.inner.act)
