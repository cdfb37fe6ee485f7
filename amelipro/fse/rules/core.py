"""What every billing rule shares: the violation, the settings, the context a rule reads, the
result of a check, the billing time limit, and the French formatting of dates, amounts and
paths. Pure: no database, no web.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from amelipro.beneficiaries.domain import PatientRights
from amelipro.codes import ErrorCode
from amelipro.fse.charges import BillingConfig
from amelipro.fse.domain import CareSheet, Line
from amelipro.fse.pricing import PracticeHistory, Pricing, money
from amelipro.issues import RULE, Issue
from amelipro.reference.facts import ReferenceLookup

# CSS L.332-1: care is billable for two years from the first day of the quarter following
# the care. THE one place to change the length (RuleConfig.limit_years defaults to it).
BILLING_LIMIT_YEARS = 2


@lru_cache(maxsize=4096)  # a pure function of a few dates of care: asked for every line
def billing_deadline(care_date: date, years: int = BILLING_LIMIT_YEARS) -> date:
    """The last day on which care of ``care_date`` may be billed: ``years`` years from the
    first day of the quarter following the care, that anniversary excluded (care on
    10 March 2023: the next quarter starts on 1 April 2023, last day 31 March 2025)."""
    quarter_month = 3 * ((care_date.month - 1) // 3) + 1
    next_quarter = date(care_date.year + (quarter_month == 10), (quarter_month + 2) % 12 + 1, 1)
    return date(next_quarter.year + years, next_quarter.month, 1) - timedelta(days=1)


@dataclass(frozen=True)
class RuleViolation:
    code: str
    message: str
    hint: str
    path: str
    detail: str = ""
    line: int | None = None
    cpam_code: str | None = None  # the real CPAM reject code when one matches
    expected: dict[str, Any] | None = None  # for amount errors: the gateway's values
    received: dict[str, Any] | None = None

    def issue(self) -> Issue:
        """This violation in the project's one error shape (``path``: the care sheet's
        field, "lines[2].code"; ``line``: the care sheet's line)."""
        return Issue(self.code, self.message, self.hint, self.detail, self.path, self.line,
                     extras=(("cpam_code", self.cpam_code), ("expected", self.expected),
                             ("received", self.received)), layout=RULE)

    def as_dict(self) -> dict[str, Any]:
        return self.issue().as_dict()


def violation(error: ErrorCode, path: str, detail: str = "", **extra: Any) -> RuleViolation:
    return RuleViolation(error.code, error.message, error.hint, path, detail, **extra)


@dataclass(frozen=True)
class RuleConfig:
    """Settings of the rules (secure defaults)."""

    limit_years: int = BILLING_LIMIT_YEARS  # the time limit (see billing_deadline)
    # False only where no beneficiary file is loaded: the patient/rights rules are skipped.
    check_rights: bool = True
    billing: BillingConfig | None = None  # None: the packaged dated configuration


# Duplicate care (checked by the submission against what was already accepted).
CareKey = tuple[date, str, str, int]  # (date of care, kind, code, quantity for medicines)


@dataclass(frozen=True)
class BilledCare:
    """Care already accepted under another invoice: the first invoice's number, and its FSE
    id (stored) or its rank in the lot being sent."""

    invoice_number: str
    fse_id: int | None = None
    position: int | None = None


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may read; built once by :func:`check_care_sheet`."""

    today: date
    lookup: ReferenceLookup
    rights: PatientRights | None
    pricing: Pricing
    profession: str
    config: RuleConfig
    billing: BillingConfig
    practice: PracticeHistory | None = None
    billed_care: Mapping[CareKey, BilledCare] | None = None


@dataclass(frozen=True)
class CheckResult:
    errors: tuple[RuleViolation, ...]
    pricing: Pricing

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def codes(self) -> list[str]:
        return [e.code for e in self.errors]

    def issues(self) -> list[Issue]:
        return [e.issue() for e in self.errors]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.errors]


Rule = Callable[[CareSheet, RuleContext], Iterator[RuleViolation]]


def eur(value: Decimal) -> str:
    return f"{money(value):.2f}".replace(".", ",") + "\u00a0€"


def fr_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def line_path(line: Line, name: str) -> str:
    return f"lines[{line.number}].{name}"


def dates_of_care(sheet: CareSheet) -> list[tuple[date, list[Line]]]:
    """Distinct dates of care, each with its lines, in order."""
    if len(sheet.lines) == 1:
        return [(sheet.lines[0].care_date, [sheet.lines[0]])]
    by_date: dict[date, list[Line]] = {}
    for line in sheet.lines:
        by_date.setdefault(line.care_date, []).append(line)
    return sorted(by_date.items())


def line_numbers(lines: list[Line]) -> str:
    return ", ".join(str(line.number) for line in lines)
