"""Rapprochement: match bank-statement credits to announced virements. Pure, no database.

A virement's reference (``AMP`` + value date + professional + sequence, 20 characters,
letters and digits only so that banks keep it intact in the remittance text) is looked for
in the line's reference and label. Then the amount decides:

- ``rapproche``: the credit settles the virement (alone, or completing earlier credits);
- ``partiel``: the reference is found but the amount received so far differs from the
  amount announced (difference shown);
- ``doublon``: a second credit for a virement already fully received (double posting);
- ``inconnu``: no reference and no single announced virement of that exact amount within
  a few days: the professional must look at it.
Debit lines are ``ignore``. Virements announced (value date on or before the statement's
last day) and not received at all are listed as missing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from amelipro.thirdparty.statements import StatementLine

REFERENCE_RE = re.compile(r"AMP\d{17}")
AMOUNT_ONLY_WINDOW_DAYS = 5
ZERO = Decimal("0.00")


def virement_reference(professional_id: int, value_date: date, sequence: int = 1) -> str:
    """``AMP20261123000042001``: unique per professional, value date and sequence."""
    return f"AMP{value_date:%Y%m%d}{professional_id:06d}{sequence:03d}"


def find_references(text: str) -> list[str]:
    compact = re.sub(r"[\s\-_./]", "", text.upper())
    return REFERENCE_RE.findall(compact)


class MatchStatus(enum.StrEnum):
    MATCHED = "rapproche"
    PARTIAL = "partiel"
    DUPLICATE = "doublon"
    UNKNOWN = "inconnu"
    IGNORED = "ignore"  # debit line

    @property
    def label(self) -> str:
        return {
            "rapproche": "Rapproché", "partiel": "Montant différent", "doublon": "Crédit en double",
            "inconnu": "Crédit inconnu", "ignore": "Débit (ignoré)",
        }[self.value]


@dataclass(frozen=True)
class AnnouncedVirement:
    id: int
    reference: str
    amount: Decimal
    value_date: date
    received: Decimal = ZERO  # already received through earlier statements


@dataclass(frozen=True)
class LineMatch:
    line: StatementLine
    status: MatchStatus
    virement_id: int | None = None
    expected: Decimal | None = None
    difference: Decimal | None = None  # received so far − announced (negative: missing money)
    method: str = ""  # "reference" | "montant" | ""


@dataclass(frozen=True)
class ReconciliationResult:
    matches: tuple[LineMatch, ...]
    missing: tuple[AnnouncedVirement, ...]
    received: Mapping[int, Decimal]  # virement id -> total received after this statement

    def count(self, status: MatchStatus) -> int:
        return sum(1 for m in self.matches if m.status is status)

    @property
    def credits_total(self) -> Decimal:
        return sum((m.line.amount for m in self.matches if m.line.is_credit), ZERO)


def reconcile(
    lines: Iterable[StatementLine], virements: Iterable[AnnouncedVirement], *, period_end: date
) -> ReconciliationResult:
    by_ref = {v.reference: v for v in virements}
    received = {v.id: v.received for v in by_ref.values()}
    by_id = {v.id: v for v in by_ref.values()}
    results: list[LineMatch] = []
    for line in lines:
        if not line.is_credit:
            results.append(LineMatch(line, MatchStatus.IGNORED))
            continue
        target = next((by_ref[r] for r in find_references(line.search_text) if r in by_ref), None)
        method = "reference"
        if target is None:
            target = _unique_by_amount(line, by_id.values(), received)
            method = "montant"
        if target is None:
            results.append(LineMatch(line, MatchStatus.UNKNOWN))
            continue
        so_far = received[target.id]
        if so_far >= target.amount and line.amount == target.amount:
            results.append(LineMatch(line, MatchStatus.DUPLICATE, target.id, target.amount,
                                     line.amount, method))
            continue
        received[target.id] = so_far + line.amount
        difference = received[target.id] - target.amount
        status = MatchStatus.MATCHED if difference == 0 else MatchStatus.PARTIAL
        results.append(LineMatch(line, status, target.id, target.amount, difference, method))
    missing = tuple(
        v for v in sorted(by_id.values(), key=lambda v: (v.value_date, v.reference))
        if received[v.id] == 0 and v.value_date <= period_end
    )
    return ReconciliationResult(tuple(results), missing, received)


def compact_iban(value: str) -> str:
    return re.sub(r"\s", "", value or "").upper()


def credited_elsewhere(statement_iban: str, expected_iban: str | None) -> bool:
    """A credit on a statement of account ``statement_iban`` while the professional is paid on
    ``expected_iban`` (the virement's account, or the one in force that day; None: no account):
    the money did not reach the account it should have. A statement without its account number
    says nothing."""
    statement = compact_iban(statement_iban)
    if not statement:
        return False
    return expected_iban is None or compact_iban(expected_iban) != statement


def _unique_by_amount(line, virements, received) -> AnnouncedVirement | None:
    """Without a reference: the one unreceived virement of exactly that amount, near in time."""
    candidates = [
        v for v in virements
        if received[v.id] == 0 and v.amount == line.amount
        and abs((v.value_date - line.value_date).days) <= AMOUNT_ONLY_WINDOW_DAYS
    ]
    return candidates[0] if len(candidates) == 1 else None
