"""The EHPAD exclusion (FSE-R-017): an LPP device of the EHPAD care package (annex
category) is not billed for a resident on the date of care."""

from __future__ import annotations

from collections.abc import Iterator

from amelipro.fse import errors as E
from amelipro.fse.domain import CareSheet, LineKind
from amelipro.fse.rules.core import RuleContext, RuleViolation, fr_date, line_path, violation


def rule_ehpad(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    rights = ctx.rights
    if rights is None:
        return
    for line in sheet.lines:
        if line.kind != LineKind.DEVICE:
            continue
        stay = rights.ehpad_at(line.care_date)
        if stay is None:
            continue
        fact = ctx.lookup.lpp(line.code, line.care_date)
        if fact is None or not fact.ehpad_category:
            continue
        where = f" ({stay.name})" if stay.name else ""
        reason = f" {fact.ehpad_reason}" if fact.ehpad_reason else ""
        yield violation(
            E.EHPAD_PACKAGE, line_path(line, "code"),
            f"Ligne {line.number} : LPP {line.code} « {fact.label} », catégorie de l'annexe "
            f"« {fact.ehpad_category} » ; patient résident en EHPAD{where} le "
            f"{fr_date(line.care_date)}.{reason}",
            line=line.number, expected={"ehpad_category": fact.ehpad_category},
        )
