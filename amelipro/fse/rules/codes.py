"""Rules of the codes: format and existence on the date of care (NGAP, CCAM, CIP13, LPP),
quantities, and the conditions of each majoration."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from functools import lru_cache

from stdnum import ean

from amelipro.beneficiaries.domain import age_on
from amelipro.codes import ErrorCode
from amelipro.fse import errors as E
from amelipro.fse.domain import CareSheet, Line, LineKind
from amelipro.fse.majorations import CareContext, Failure, day_kind, unmet
from amelipro.fse.pricing import LineProblem
from amelipro.fse.rules.core import RuleContext, RuleViolation, fr_date, line_path, violation

_CIP13 = re.compile(r"3400\d{9}")
_LPP = re.compile(r"\d{7}")
_CCAM = re.compile(r"[A-Z]{4}\d{3}")
_NGAP = re.compile(r"[A-Z][A-Z0-9]{0,5}")


def code_format_ok(line: Line) -> bool:
    return _format_ok(line.kind, line.code)


@lru_cache(maxsize=8192)  # a lot bills a few hundred distinct codes, each asked on every line
def _format_ok(kind: LineKind, code: str) -> bool:
    if kind == LineKind.MEDICINE:
        return bool(_CIP13.fullmatch(code)) and ean.is_valid(code)
    if kind == LineKind.DEVICE:
        return bool(_LPP.fullmatch(code))
    if kind == LineKind.CCAM:
        return bool(_CCAM.fullmatch(code))
    return bool(_NGAP.fullmatch(code))


_UNKNOWN_BY_KIND = {
    LineKind.NGAP: E.ACT_UNKNOWN,
    LineKind.CCAM: E.ACT_UNKNOWN,
    LineKind.MEDICINE: E.MEDICINE_UNKNOWN,
    LineKind.DEVICE: E.LPP_UNKNOWN,
}


_CODE_LABELS = {  # for people: never the enum's value (« MEDICAMENT »)
    LineKind.NGAP: "code NGAP (lettre clé)",
    LineKind.CCAM: "code CCAM (7 caractères)",
    LineKind.MEDICINE: "code CIP13 de médicament (13 chiffres)",
    LineKind.DEVICE: "code LPP (7 chiffres)",
}


def rule_codes(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    """Codes exist and are reimbursable on the date of care (from the pricing's lookups)."""
    for line in sheet.lines:
        priced = ctx.pricing.line(line.number)
        if not code_format_ok(line):
            path = line_path(line, "code")
            yield violation(_UNKNOWN_BY_KIND[line.kind], path,
                            f"Ligne {line.number} : « {line.code} » n'a pas le format d'un "
                            f"{_CODE_LABELS[line.kind]}.", line=line.number)
        elif priced.problem is None:
            continue
        elif priced.problem == LineProblem.UNKNOWN:
            path = line_path(line, "code")
            yield violation(_UNKNOWN_BY_KIND[line.kind], path,
                            f"Ligne {line.number} : « {line.code} » inconnu le {fr_date(line.care_date)}.",
                            line=line.number)
        elif priced.problem == LineProblem.VALUE_UNKNOWN:
            path = line_path(line, "code")
            yield violation(E.MAJORATION_VALUE_UNKNOWN, path,
                            f"Ligne {line.number} : majoration {line.code} ({priced.label}), "
                            f"aucune valeur connue le {fr_date(line.care_date)}.", line=line.number)
        elif priced.problem == LineProblem.NO_TARIFF and line.kind == LineKind.DEVICE:
            path = line_path(line, "code")
            label = f" ({priced.label.rstrip(' .')})" if priced.label else ""
            yield violation(E.LPP_NO_TARIFF, path,
                            f"Ligne {line.number} : code LPP {line.code}{label}, tarif absent du "
                            f"référentiel chargé le {fr_date(line.care_date)}.", line=line.number)
        elif priced.problem in (LineProblem.NOT_REIMBURSABLE, LineProblem.NO_TARIFF):
            path = line_path(line, "code")
            why = ("non remboursable" if priced.problem == LineProblem.NOT_REIMBURSABLE
                   else "sans tarif de remboursement")
            label = f" ({priced.label.rstrip(' .')})" if priced.label else ""
            yield violation(E.NOT_REIMBURSABLE, path,
                            f"Ligne {line.number} : « {line.code} »{label} {why} le "
                            f"{fr_date(line.care_date)}.", line=line.number,
                            cpam_code=E.CPAM_FORBIDDEN_AT_DATE
                            if line.kind == LineKind.MEDICINE else None)


def rule_quantities(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    for line in sheet.lines:
        if line.quantity < 1:
            yield violation(E.QUANTITY_INVALID, line_path(line, "quantity"),
                            f"Ligne {line.number} : quantité {line.quantity}.", line=line.number)
        if line.kind == LineKind.NGAP and line.coefficient <= 0:
            yield violation(E.QUANTITY_INVALID, line_path(line, "coefficient"),
                            f"Ligne {line.number} : coefficient {line.coefficient}.",
                            line=line.number)
        if line.kind == LineKind.DEVICE and line.quantity >= 1:
            fact = ctx.lookup.lpp(line.code, line.care_date)
            if fact is not None and fact.max_quantity is not None and line.quantity > fact.max_quantity:
                yield violation(E.QUANTITY_ABOVE_MAX, line_path(line, "quantity"),
                                f"Ligne {line.number} : quantité {line.quantity}, maximum "
                                f"{fact.max_quantity} pour le code LPP {line.code}.",
                                line=line.number)


_MAJORATION_ERRORS: dict[Failure, ErrorCode] = {
    Failure.NO_ACT: E.MAJORATION_WITHOUT_ACT,
    Failure.AGE: E.MAJORATION_AGE,
    Failure.DAY: E.MAJORATION_DAY,
    Failure.TIME_MISSING: E.MAJORATION_TIME_MISSING,
    Failure.TIME: E.MAJORATION_TIME,
    Failure.HOME_VISIT: E.MAJORATION_HOME_VISIT,
    Failure.PATHWAY: E.MAJORATION_PATHWAY,
}


def rule_majorations(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    """Each majoration's condition, at its date of care (and time, for the night ones)."""
    birth = ctx.rights.birth_date if ctx.rights is not None else sheet.patient.birth_date
    acts: dict[date, list[Line]] = {}
    for line in sheet.lines:
        if line.kind in (LineKind.NGAP, LineKind.CCAM) and ctx.billing.majoration(line.code) is None:
            acts.setdefault(line.care_date, []).append(line)
    for line in sheet.lines:
        majoration = ctx.billing.majoration(line.code) if line.kind == LineKind.NGAP else None
        if majoration is None:
            continue
        same_day = acts.get(line.care_date, [])
        care_time = line.care_time or next((a.care_time for a in same_day if a.care_time), None)
        failure = unmet(majoration, CareContext(line.care_date, care_time, birth,
                                                {a.code for a in same_day}, sheet.pathway))
        if failure is None:
            continue
        yield violation(_MAJORATION_ERRORS[failure], line_path(line, "code"),
                        _majoration_detail(line, majoration, failure, birth, care_time, same_day),
                        line=line.number)


def _majoration_detail(line: Line, majoration, failure: Failure, birth: date,
                       care_time, same_day: list[Line]) -> str:
    head = f"Ligne {line.number} : {line.code} ({majoration.label}) le {fr_date(line.care_date)}"
    if failure == Failure.NO_ACT:
        billed = ", ".join(sorted({a.code for a in same_day})) or "aucun acte"
        return f"{head} ; actes admis : {', '.join(sorted(majoration.acts))} ; ce jour-là : {billed}."
    if failure == Failure.AGE:
        return f"{head} ; patient né le {fr_date(birth)}, {age_on(birth, line.care_date)} ans ce jour-là."
    if failure == Failure.DAY:
        return f"{head} ; ce jour est un {day_kind(line.care_date)}, ni dimanche ni jour férié."
    if failure == Failure.TIME_MISSING:
        return f"{head} ; heure des soins absente ({majoration.describe()})"
    if failure == Failure.TIME:
        return f"{head} à {care_time.strftime('%H:%M')} ; heures admises : {majoration.hours_text()}."
    return f"{head} ; {majoration.describe()}"
