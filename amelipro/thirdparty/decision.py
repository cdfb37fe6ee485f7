"""What the caisse decides for one FSE at liquidation: paid, rejected or adjusted. Pure.

``decide`` works on frozen values: the care sheet rebuilt from storage, the gateway's own
pricing at the date of care (``amelipro.fse.pricing.price_care_sheet``), what the caisse's
file says of the patient, and whether the same care was already paid. Reject codes are the
real caisse codes where the situation matches (``data/caisse_codes.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from amelipro.thirdparty.rsp import ReturnCode

CODES_PATH = Path(__file__).with_name("data") / "caisse_codes.json"

PATIENT_UNKNOWN = "0250 050"
EXEMPTION_NOT_ON_FILE = "0450 072"
NATURE_INCOMPATIBLE = "0317 051"
ALREADY_PAID = "2900 005"
NO_TARIFF = "AMP 001"
AMOUNT_RECOMPUTED = "AMP 002"
RIGHTS_CLOSED = "AMP 003"
NOT_REIMBURSABLE_AT_DATE = "0470 049"

ZERO = Decimal("0.00")


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
    status: str  # "paye" | "rejete" | "ajuste" (ReturnStatus values)
    amo_paid: Decimal
    charged: Decimal
    base: Decimal
    codes: tuple[ReturnCode, ...] = ()

    @property
    def reject_code(self) -> str:
        return self.codes[0].code if self.status == "rejete" and self.codes else ""


def _reject(item: DecisionInput, code: str) -> Decision:
    return Decision("rejete", ZERO, item.charged, item.base, (return_code(code),))


def decide(item: DecisionInput) -> Decision:
    """The first matching reason rejects; else paid, or adjusted when the amount differs."""
    if item.already_paid:
        return _reject(item, ALREADY_PAID)
    if item.file_loaded:
        if item.patient is None:
            return _reject(item, PATIENT_UNKNOWN)
        if not item.patient.rights_open:
            return _reject(item, RIGHTS_CLOSED)
        if item.exemption not in ("", "aucune") and item.exemption not in item.patient.covers:
            return _reject(item, EXEMPTION_NOT_ON_FILE)
        if item.nature == "13" and not item.patient.alsace_moselle:
            return _reject(item, NATURE_INCOMPATIBLE)
    if (item.nature, item.exemption) in (("41", "maternite"), ("30", "atmp")):
        return _reject(item, NATURE_INCOMPATIBLE)
    if item.not_reimbursable:
        return _reject(item, NOT_REIMBURSABLE_AT_DATE)
    if item.priced_amo is None:
        return _reject(item, NO_TARIFF)
    charged = item.priced_charged if item.priced_charged is not None else item.charged
    base = item.priced_base if item.priced_base is not None else item.base
    if item.priced_amo != item.amo_claimed:
        return Decision("ajuste", item.priced_amo, charged, base, (return_code(AMOUNT_RECOMPUTED),))
    return Decision("paye", item.priced_amo, charged, base)
