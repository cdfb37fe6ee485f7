"""Rules of the professional and the prescription: the kinds of line and NGAP keys a
profession may bill, the prescription (prescriber's RPPS, date) where one is needed, and the
tiers payant flags."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from stdnum import luhn

from amelipro.domain import Profession
from amelipro.fse import errors as E
from amelipro.fse.charges import BillingConfig
from amelipro.fse.domain import CareSheet, Line, LineKind
from amelipro.fse.rules.core import (
    RuleContext,
    RuleViolation,
    fr_date,
    line_numbers,
    line_path,
    violation,
)

_RPPS = re.compile(r"\d{11}")


_KIND_LABELS = {
    LineKind.NGAP: "acte NGAP",
    LineKind.CCAM: "acte CCAM",
    LineKind.MEDICINE: "médicament",
    LineKind.DEVICE: "dispositif LPP",
}


@lru_cache(maxsize=64)
def _profession_label(value: str) -> str:
    try:
        return Profession(value).label
    except ValueError:
        return value


def rule_profession(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    billing, profession = ctx.billing, ctx.profession
    allowed = billing.line_kinds.get(profession)
    if allowed is None:
        yield violation(E.PROFESSION_UNKNOWN, "professional.specialty",
                        f"Profession « {profession} » inconnue.")
        return
    label = _profession_label(profession)
    for line in sheet.lines:
        if line.kind.value not in allowed:
            yield violation(E.KIND_NOT_ALLOWED, line_path(line, "kind"),
                            f"Ligne {line.number} : {_KIND_LABELS[line.kind]} facturé par un "
                            f"professionnel « {label} ».", line=line.number)
        elif line.kind == LineKind.NGAP:
            reserved = billing.ngap_keys.get(line.code)
            if reserved is not None and profession not in reserved:
                owners = ", ".join(sorted(_profession_label(p) for p in reserved))
                yield violation(E.KEY_NOT_ALLOWED, line_path(line, "code"),
                                f"Ligne {line.number} : lettre clé {line.code} réservée à : "
                                f"{owners}.", line=line.number)


def needs_prescription(sheet: CareSheet, profession: str, billing: BillingConfig) -> list[Line]:
    """The lines that can only be billed on a prescription."""
    return [
        line for line in sheet.lines
        if line.kind.value in billing.prescription_kinds
        or (profession in billing.prescription_professions
            and line.kind in (LineKind.NGAP, LineKind.CCAM))
    ]


def rule_prescription(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    lines = needs_prescription(sheet, ctx.profession, ctx.billing)
    if lines and not sheet.prescriber_rpps:
        yield violation(E.PRESCRIBER_MISSING, "prescriber_rpps",
                        f"Lignes sur prescription : {line_numbers(lines)}.")
    if lines and sheet.prescription_date is None:
        yield violation(E.PRESCRIPTION_DATE_MISSING, "prescription_date",
                        f"Lignes sur prescription : {line_numbers(lines)}.")
    rpps = sheet.prescriber_rpps
    if rpps and not (_RPPS.fullmatch(rpps) and luhn.is_valid(rpps)):
        yield violation(E.PRESCRIBER_INVALID, "prescriber_rpps", f"RPPS « {rpps} ».")
    if sheet.prescription_date is not None and sheet.lines:
        before = [line for line in sheet.lines if line.care_date < sheet.prescription_date]
        if before:
            yield violation(E.PRESCRIPTION_AFTER_CARE, "prescription_date",
                            f"Prescription du {fr_date(sheet.prescription_date)}, soins du "
                            f"{fr_date(before[0].care_date)} (lignes {line_numbers(before)}).",
                            cpam_code=E.CPAM_FORBIDDEN_AT_DATE)


def rule_tiers_payant(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    if sheet.tiers_payant_amc and not sheet.tiers_payant_amo:
        yield violation(E.TIERS_PAYANT_FLAGS, "tiers_payant_amc")
