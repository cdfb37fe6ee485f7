"""What the FSE rules, pricing and liquidation need to know of the reference data.

Frozen values answered *at a date*. ``ReferenceLookup`` is the one query interface the
other packages use; ``amelipro.reference.queries.SqlReferenceLookup`` implements it on
the database, and pure tests may build a ``StaticReferenceLookup`` from plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class MedicineFact:
    cip13: str
    name: str
    reimbursable: bool
    rate_percent: int | None  # 65, 30, 15, 100; None when not reimbursable
    price: Decimal | None  # public price of the box in euros (TTC), None when unknown
    dispensing_fee: Decimal | None = None  # honoraire de dispensation, when published


@dataclass(frozen=True)
class LppFact:
    code: str  # 7 digits
    label: str
    tariff: Decimal | None  # reimbursement base; None when no tariff is known (never 0 €)
    plv: Decimal | None = None  # prix limite de vente
    max_quantity: int | None = None
    ehpad_category: str | None = None  # annex category of the EHPAD care package, if any
    ehpad_reason: str | None = None


@dataclass(frozen=True)
class ActFact:
    code: str  # CCAM code (7 chars) or NGAP letter key (e.g. "G", "AMI")
    kind: str  # "ccam" | "ngap"
    label: str
    # CCAM: tariff of the act; NGAP: value of the letter key (coefficient 1).
    tariff: Decimal | None
    # CCAM only: tariff outside sector 1 / OPTAM when it differs.
    tariff_other_sector: Decimal | None = None


class ReferenceLookup(Protocol):
    def medicine(self, cip13: str, at: date) -> MedicineFact | None: ...

    def lpp(self, code: str, at: date) -> LppFact | None: ...

    def act(self, code: str, at: date) -> ActFact | None: ...


@dataclass
class StaticReferenceLookup:
    """In-memory lookup for pure tests and demos: values are the same at every date."""

    medicines: dict[str, MedicineFact] = field(default_factory=dict)
    lpp_codes: dict[str, LppFact] = field(default_factory=dict)
    acts: dict[str, ActFact] = field(default_factory=dict)

    def medicine(self, cip13: str, at: date) -> MedicineFact | None:
        return self.medicines.get(cip13)

    def lpp(self, code: str, at: date) -> LppFact | None:
        return self.lpp_codes.get(code)

    def act(self, code: str, at: date) -> ActFact | None:
        return self.acts.get(code)
