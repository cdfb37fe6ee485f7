"""Rules of the patient and their rights: the NIR, the patient in the caisse's file, rights
open on each date of care, the exemption and the insurance nature against the file."""

from __future__ import annotations

from collections.abc import Iterator

from stdnum.exceptions import ValidationError
from stdnum.fr import nir as stdnum_nir

from amelipro.beneficiaries.domain import Cover
from amelipro.fse import errors as E
from amelipro.fse.domain import CareSheet, Exemption, InsuranceNature
from amelipro.fse.rules.core import (
    RuleContext,
    RuleViolation,
    dates_of_care,
    fr_date,
    line_numbers,
    line_path,
    violation,
)


def rule_nir(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    try:
        stdnum_nir.validate(sheet.patient.nir)
    except ValidationError as exc:
        yield violation(E.NIR_INVALID, "patient.nir",
                        f"NIR « {sheet.patient.nir} » : {_nir_reason(exc)}.")


def _nir_reason(exc: ValidationError) -> str:
    name = type(exc).__name__
    return {"InvalidChecksum": "la clé ne correspond pas",
            "InvalidLength": "il faut 15 caractères (13 + clé)",
            "InvalidFormat": "format incorrect"}.get(name, "invalide")


def rule_patient_known(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    if not ctx.config.check_rights:
        return
    rights = ctx.rights
    if rights is None:
        yield violation(E.PATIENT_UNKNOWN, "patient.nir",
                        f"NIR {sheet.patient.nir}, rang {sheet.patient.rank} absent du fichier "
                        "des assurés.", cpam_code=E.CPAM_UNKNOWN_INSURED)
        return
    if rights.birth_date != sheet.patient.birth_date:
        yield violation(E.PATIENT_MISMATCH, "patient.birth_date",
                        f"Reçue : {fr_date(sheet.patient.birth_date)} ; fichier de la caisse : "
                        f"{fr_date(rights.birth_date)}.")


def rule_rights_open(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    rights = ctx.rights
    if not ctx.config.check_rights or rights is None:
        return
    for at, lines in dates_of_care(sheet):
        if not rights.is_open(at):
            yield violation(E.RIGHTS_CLOSED, line_path(lines[0], "care_date"),
                            f"Aucun droit ouvert le {fr_date(at)} (lignes {line_numbers(lines)}).",
                            line=lines[0].number)


_EXEMPTION_COVER = {
    Exemption.ALD: Cover.ALD,
    Exemption.MATERNITY: Cover.MATERNITY,
    Exemption.AT_MP: Cover.AT_MP,
    Exemption.C2S: Cover.C2S,
}


def rule_exemption_in_file(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    rights = ctx.rights
    cover = _EXEMPTION_COVER.get(sheet.exemption)
    if not ctx.config.check_rights or rights is None or cover is None:
        return
    for at, lines in dates_of_care(sheet):
        if rights.is_open(at) and not rights.has_cover(cover, at):
            yield violation(E.EXEMPTION_NOT_IN_FILE, "exemption",
                            f"Exonération « {cover.label} » déclarée, absente du fichier le "
                            f"{fr_date(at)} (lignes {line_numbers(lines)}).",
                            cpam_code=E.CPAM_EXEMPTION_NOT_IN_FILE)


_NATURES_IN_FILE = frozenset({InsuranceNature.AT_MP, InsuranceNature.MATERNITE})  # checked at each date


def rule_nature(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    nature, exemption = sheet.nature, sheet.exemption
    problems: list[str] = []
    if exemption == Exemption.AT_MP and nature != InsuranceNature.AT_MP:
        problems.append("exonération AT/MP avec une nature autre que 41 (AT/MP)")
    if exemption == Exemption.MATERNITY and nature != InsuranceNature.MATERNITE:
        problems.append("exonération maternité avec une nature autre que 30 (maternité)")
    if nature == InsuranceNature.AT_MP and exemption not in (Exemption.AT_MP, Exemption.NONE):
        problems.append(f"nature 41 (AT/MP) avec l'exonération « {exemption.value} »")
    if nature == InsuranceNature.MATERNITE and exemption not in (Exemption.MATERNITY, Exemption.NONE):
        problems.append(f"nature 30 (maternité) avec l'exonération « {exemption.value} »")
    rights = ctx.rights
    if ctx.config.check_rights and rights is not None and nature in _NATURES_IN_FILE:
        for at, _lines in dates_of_care(sheet):
            if not rights.is_open(at):
                continue
            if nature == InsuranceNature.AT_MP and not rights.has_cover(Cover.AT_MP, at):
                problems.append(f"nature 41 (AT/MP) sans AT/MP au fichier le {fr_date(at)}")
            if nature == InsuranceNature.MATERNITE and not rights.has_cover(Cover.MATERNITY, at):
                problems.append(f"nature 30 (maternité) sans maternité au fichier le {fr_date(at)}")
        if nature == InsuranceNature.ALSACE_MOSELLE and not rights.alsace_moselle:
            problems.append("nature 13 (Alsace-Moselle) pour un assuré hors régime local")
    for problem in problems:
        yield violation(E.NATURE_INCOMPATIBLE, "nature", problem[:1].upper() + problem[1:] + ".",
                        cpam_code=E.CPAM_NATURE_INCOMPATIBLE)
