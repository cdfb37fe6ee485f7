"""Rules of the sheet's lines and dates: at least one line, dates of care neither future nor
past the billing time limit, the invoice date."""

from __future__ import annotations

from collections.abc import Iterator

from amelipro.fse import errors as E
from amelipro.fse.domain import CareSheet
from amelipro.fse.rules.core import (
    RuleContext,
    RuleViolation,
    billing_deadline,
    fr_date,
    line_numbers,
    line_path,
    violation,
)


def rule_no_lines(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    if not sheet.lines:
        yield violation(E.NO_LINES, "lines")


def rule_care_dates(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    years = ctx.config.limit_years
    for line in sheet.lines:
        if line.care_date > ctx.today:
            yield violation(E.CARE_DATE_FUTURE, line_path(line, "care_date"),
                            f"Ligne {line.number} : soins du {fr_date(line.care_date)}, "
                            f"postérieurs à aujourd'hui ({fr_date(ctx.today)}).", line=line.number)
        elif ctx.today > (last := billing_deadline(line.care_date, years)):
            yield violation(E.CARE_DATE_TOO_OLD, line_path(line, "care_date"),
                            f"Ligne {line.number} : soins du {fr_date(line.care_date)}, facturables "
                            f"jusqu'au {fr_date(last)} ({years} ans à compter du premier jour du "
                            "trimestre suivant les soins).", line=line.number)


def rule_invoice_date(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    if sheet.invoice_date > ctx.today:
        yield violation(E.INVOICE_DATE_FUTURE, "invoice_date",
                        f"Facture du {fr_date(sheet.invoice_date)}, aujourd'hui {fr_date(ctx.today)}.")
    if sheet.lines and sheet.invoice_date < sheet.last_care_date:
        late = [line for line in sheet.lines if line.care_date > sheet.invoice_date]
        yield violation(E.INVOICE_BEFORE_CARE, "invoice_date",
                        f"Facture du {fr_date(sheet.invoice_date)}, soins jusqu'au "
                        f"{fr_date(sheet.last_care_date)} (lignes {line_numbers(late)}).")
