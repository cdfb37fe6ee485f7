"""Duplicate care: the same care (act or medicine, date of care) already accepted under another
invoice number for the same professional and patient. The submission also calls
``duplicate_care`` and ``care_keys`` against the lot being sent."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping

from amelipro.fse import errors as E
from amelipro.fse.charges import BillingConfig, default_billing_config
from amelipro.fse.domain import CareSheet, Line, LineKind
from amelipro.fse.rules.core import (
    BilledCare,
    CareKey,
    RuleContext,
    RuleViolation,
    fr_date,
    line_path,
    violation,
)


def care_keys(sheet: CareSheet, majorations: Collection[str] = ()) -> list[tuple[Line, CareKey]]:
    """The care of a sheet that may not be billed twice: acts (NGAP key, CCAM code) and
    medicines (CIP13 and quantity) by date of care. Majorations follow their act; a line
    flagged as a distinct second act of the day is left out."""
    out = []
    for line in sheet.lines:
        if line.second_act or line.kind == LineKind.DEVICE or line.code in majorations:
            continue
        quantity = line.quantity if line.kind == LineKind.MEDICINE else 0
        out.append((line, (line.care_date, line.kind.value, line.code, quantity)))
    return out


def duplicate_care(sheet: CareSheet, billed: Mapping[CareKey, BilledCare],
                   billing: BillingConfig | None = None) -> list[RuleViolation]:
    """One violation per line whose care was already accepted under another invoice number
    (same professional and patient: ``billed`` holds only theirs)."""
    billing = billing or default_billing_config()
    found = []
    for line, key in care_keys(sheet, billing.majorations):
        first = billed.get(key)
        if first is None or first.invoice_number == sheet.invoice_number:
            continue
        where = (f"FSE n° {first.fse_id}" if first.fse_id is not None
                 else f"rang {first.position} de ce lot")
        what = f"{line.code} × {line.quantity}" if line.kind == LineKind.MEDICINE else line.code
        found.append(violation(
            E.DUPLICATE_CARE, line_path(line, "code"),
            f"Ligne {line.number} : {what} du {fr_date(line.care_date)} déjà accepté sous la facture "
            f"n° {first.invoice_number} ({where}).", line=line.number,
            expected={"first_invoice": first.invoice_number,
                      **({"first_fse_id": first.fse_id} if first.fse_id is not None else {})},
        ))
    return found


def rule_duplicate_care(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    if ctx.billed_care:
        yield from duplicate_care(sheet, ctx.billed_care, ctx.billing)
