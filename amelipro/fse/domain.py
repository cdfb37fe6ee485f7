"""The care sheet (FSE) as plain frozen values: what every FSE rule, the pricing and the
liquidation work on. No XML, no database here (``document.py`` maps XML to these values,
``models.py`` stores them).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal


class InsuranceNature(enum.StrEnum):
    MALADIE = "10"
    ALSACE_MOSELLE = "13"
    MATERNITE = "30"
    AT_MP = "41"
    PREVENTION = "90"


class Exemption(enum.StrEnum):
    """Exemption from the patient's share (exonération du ticket modérateur)."""

    NONE = "aucune"
    ALD = "ald"  # affection de longue durée
    MATERNITY = "maternite"
    AT_MP = "atmp"  # accident du travail / maladie professionnelle
    C2S = "c2s"  # complémentaire santé solidaire


class LineKind(enum.StrEnum):
    NGAP = "ngap"  # letter key × coefficient (e.g. G × 1)
    CCAM = "ccam"  # CCAM act code (7 chars)
    MEDICINE = "medicament"  # CIP13 × quantity
    DEVICE = "lpp"  # LPP code × quantity


@dataclass(frozen=True)
class Amounts:
    """Amounts in euros, two decimal places."""

    charged: Decimal  # montant facturé (honoraires / prix de vente)
    base: Decimal  # base de remboursement
    rate: int  # taux AMO, percent
    amo: Decimal  # part AMO


@dataclass(frozen=True)
class Line:
    number: int  # 1-based position in the FSE, used in error paths
    kind: LineKind
    care_date: date
    code: str  # NGAP key, CCAM code, CIP13 or LPP code
    quantity: int = 1
    coefficient: Decimal = Decimal("1")  # NGAP only
    amounts: Amounts | None = None  # as computed by the practice software
    care_time: time | None = None  # time of care (schema 2; night majorations need it)
    second_act: bool = False  # a distinct second act of the same day (schema 2 flag)


@dataclass(frozen=True)
class ProfessionalRef:
    rpps: str
    am_number: str
    specialty: str  # profession code, as amelipro.auth.models.Profession values
    finess: str | None = None


@dataclass(frozen=True)
class PatientRef:
    nir: str  # 13 characters + 2-digit key
    birth_date: date
    rank: int = 1
    regime: str = "01"
    caisse: str = ""
    centre: str = ""


@dataclass(frozen=True)
class Totals:
    charged: Decimal
    base: Decimal
    amo: Decimal


@dataclass(frozen=True)
class CareSheet:
    id: str  # the FSE element's Id (signed reference)
    invoice_number: str
    invoice_date: date
    professional: ProfessionalRef
    patient: PatientRef
    nature: InsuranceNature
    pathway: bool  # True: inside the care pathway (médecin traitant or equivalent)
    exemption: Exemption
    tiers_payant_amo: bool
    tiers_payant_amc: bool
    lines: tuple[Line, ...]
    totals: Totals
    prescriber_rpps: str | None = None
    prescription_date: date | None = None

    @property
    def first_care_date(self) -> date:
        return min(line.care_date for line in self.lines)

    @property
    def last_care_date(self) -> date:
        return max(line.care_date for line in self.lines)
