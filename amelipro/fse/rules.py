"""The FSE billing rules: pure functions on frozen values, every error reported together.

No database here. The submission service passes in what the rules need: the caisse's file
for the patient (:class:`PatientRights`, or None when unknown), the reference lookup, the
professional's invoice numbers already used, and today's date. Each rule yields zero or
more :class:`RuleViolation` (code, French message and hint, path in the care sheet, detail);
:func:`check_care_sheet` runs them all once, with the gateway's own pricing, and returns
both.

Paths name the care sheet's fields: ``patient.nir``, ``invoice_date``, ``lines[2].code``,
``lines[2].amounts``, ``totals``... (line numbers are the 1-based ``Line.number``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from stdnum import ean, luhn
from stdnum.exceptions import ValidationError
from stdnum.fr import nir as stdnum_nir

from amelipro.beneficiaries.domain import Cover, PatientRights, age_on
from amelipro.codes import ErrorCode
from amelipro.domain import Profession
from amelipro.fse import errors as E
from amelipro.fse.charges import BillingConfig, default_billing_config
from amelipro.fse.domain import CareSheet, Exemption, InsuranceNature, Line, LineKind
from amelipro.fse.majorations import CareContext, Failure, day_kind, unmet
from amelipro.fse.pricing import (
    LineProblem,
    PracticeHistory,
    Pricing,
    PriorCharges,
    money,
    price_care_sheet,
)
from amelipro.reference.facts import ReferenceLookup

# CSS L.332-1: care is billable for two years from the first day of the quarter following
# the care. THE one place to change the length (RuleConfig.limit_years defaults to it).
BILLING_LIMIT_YEARS = 2


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

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, "hint": self.hint,
                               "path": self.path, "detail": self.detail}
        for name in ("line", "cpam_code", "expected", "received"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


def violation(error: ErrorCode, path: str, detail: str = "", **extra: Any) -> RuleViolation:
    return RuleViolation(error.code, error.message, error.hint, path, detail, **extra)


@dataclass(frozen=True)
class RuleConfig:
    """Settings of the rules (secure defaults)."""

    limit_years: int = BILLING_LIMIT_YEARS  # the time limit (see billing_deadline)
    # False only where no beneficiary file is loaded: the patient/rights rules are skipped.
    check_rights: bool = True
    billing: BillingConfig | None = None  # None: the packaged dated configuration


# --- duplicate care (checked by the submission against what was already accepted) ---------

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

    def as_dicts(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.errors]


Rule = Callable[[CareSheet, RuleContext], Iterator[RuleViolation]]


def check_care_sheet(
    sheet: CareSheet,
    *,
    lookup: ReferenceLookup,
    rights: PatientRights | None,
    today: date,
    profession: Profession | str | None = None,
    config: RuleConfig | None = None,
    prior: PriorCharges | None = None,
    practice: PracticeHistory | None = None,
    billed_care: Mapping[CareKey, BilledCare] | None = None,
) -> CheckResult:
    """Run every rule on one care sheet; all violations together, with the pricing.

    ``practice``: the professional's dated sector and specialty (the CCAM grid of each line
    is the one of the sector in force on its date of care); None: sector 1 / OPTAM grid.
    ``billed_care``: care of this professional and patient already accepted under other
    invoices (the submission checks it again against the lot, under the patient's lock).
    """
    config = config or RuleConfig()
    billing = config.billing or default_billing_config()
    if profession is None:
        profession = sheet.professional.specialty
    profession_value = profession.value if isinstance(profession, Profession) else str(profession)
    lookup = MemoLookup(lookup)  # the pricing and several rules ask for the same facts
    pricing = price_care_sheet(sheet, lookup, rights, profession_value,
                               sector=practice or PracticeHistory(), prior=prior, config=billing)
    ctx = RuleContext(today, lookup, rights, pricing, profession_value,
                      config, billing, practice, billed_care)
    found: list[RuleViolation] = []
    for rule in RULES:
        found.extend(rule(sheet, ctx))
    return CheckResult(tuple(found), pricing)


# --- helpers -----------------------------------------------------------------------------

class MemoLookup:
    """Remembers the reference's answers for the duration of one check."""

    def __init__(self, inner: ReferenceLookup) -> None:
        self.inner = inner
        self._memo: dict[tuple[str, str, date], Any] = {}

    def _get(self, kind: str, code: str, at: date, fetch: Callable[[str, date], Any]) -> Any:
        key = (kind, code, at)
        if key not in self._memo:
            self._memo[key] = fetch(code, at)
        return self._memo[key]

    def medicine(self, cip13: str, at: date):
        return self._get("medicine", cip13, at, self.inner.medicine)

    def lpp(self, code: str, at: date):
        return self._get("lpp", code, at, self.inner.lpp)

    def act(self, code: str, at: date):
        return self._get("act", code, at, self.inner.act)


def _eur(value: Decimal) -> str:
    return f"{money(value):.2f}".replace(".", ",") + "\u00a0€"


def _d(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _line_path(line: Line, name: str) -> str:
    return f"lines[{line.number}].{name}"


def _dates(sheet: CareSheet) -> list[tuple[date, list[Line]]]:
    """Distinct dates of care, each with its lines, in order."""
    by_date: dict[date, list[Line]] = {}
    for line in sheet.lines:
        by_date.setdefault(line.care_date, []).append(line)
    return sorted(by_date.items())


def _numbers(lines: list[Line]) -> str:
    return ", ".join(str(line.number) for line in lines)


_CIP13 = re.compile(r"3400\d{9}")
_LPP = re.compile(r"\d{7}")
_CCAM = re.compile(r"[A-Z]{4}\d{3}")
_NGAP = re.compile(r"[A-Z][A-Z0-9]{0,5}")
_RPPS = re.compile(r"\d{11}")


def code_format_ok(line: Line) -> bool:
    if line.kind == LineKind.MEDICINE:
        return bool(_CIP13.fullmatch(line.code)) and ean.is_valid(line.code)
    if line.kind == LineKind.DEVICE:
        return bool(_LPP.fullmatch(line.code))
    if line.kind == LineKind.CCAM:
        return bool(_CCAM.fullmatch(line.code))
    return bool(_NGAP.fullmatch(line.code))


_UNKNOWN_BY_KIND = {
    LineKind.NGAP: E.ACT_UNKNOWN,
    LineKind.CCAM: E.ACT_UNKNOWN,
    LineKind.MEDICINE: E.MEDICINE_UNKNOWN,
    LineKind.DEVICE: E.LPP_UNKNOWN,
}


# --- the rules ---------------------------------------------------------------------------

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


def rule_no_lines(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    if not sheet.lines:
        yield violation(E.NO_LINES, "lines")


def rule_care_dates(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    years = ctx.config.limit_years
    for line in sheet.lines:
        if line.care_date > ctx.today:
            yield violation(E.CARE_DATE_FUTURE, _line_path(line, "care_date"),
                            f"Ligne {line.number} : soins du {_d(line.care_date)}, "
                            f"postérieurs à aujourd'hui ({_d(ctx.today)}).", line=line.number)
        elif ctx.today > (last := billing_deadline(line.care_date, years)):
            yield violation(E.CARE_DATE_TOO_OLD, _line_path(line, "care_date"),
                            f"Ligne {line.number} : soins du {_d(line.care_date)}, facturables "
                            f"jusqu'au {_d(last)} ({years} ans à compter du premier jour du "
                            "trimestre suivant les soins).", line=line.number)


def rule_invoice_date(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    if sheet.invoice_date > ctx.today:
        yield violation(E.INVOICE_DATE_FUTURE, "invoice_date",
                        f"Facture du {_d(sheet.invoice_date)}, aujourd'hui {_d(ctx.today)}.")
    if sheet.lines and sheet.invoice_date < sheet.last_care_date:
        late = [line for line in sheet.lines if line.care_date > sheet.invoice_date]
        yield violation(E.INVOICE_BEFORE_CARE, "invoice_date",
                        f"Facture du {_d(sheet.invoice_date)}, soins jusqu'au "
                        f"{_d(sheet.last_care_date)} (lignes {_numbers(late)}).")


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
                        f"Reçue : {_d(sheet.patient.birth_date)} ; fichier de la caisse : "
                        f"{_d(rights.birth_date)}.")


def rule_rights_open(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    rights = ctx.rights
    if not ctx.config.check_rights or rights is None:
        return
    for at, lines in _dates(sheet):
        if not rights.is_open(at):
            yield violation(E.RIGHTS_CLOSED, _line_path(lines[0], "care_date"),
                            f"Aucun droit ouvert le {_d(at)} (lignes {_numbers(lines)}).",
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
    for at, lines in _dates(sheet):
        if rights.is_open(at) and not rights.has_cover(cover, at):
            yield violation(E.EXEMPTION_NOT_IN_FILE, "exemption",
                            f"Exonération « {cover.label} » déclarée, absente du fichier le "
                            f"{_d(at)} (lignes {_numbers(lines)}).",
                            cpam_code=E.CPAM_EXEMPTION_NOT_IN_FILE)


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
    if ctx.config.check_rights and rights is not None:
        for at, _lines in _dates(sheet):
            if not rights.is_open(at):
                continue
            if nature == InsuranceNature.AT_MP and not rights.has_cover(Cover.AT_MP, at):
                problems.append(f"nature 41 (AT/MP) sans AT/MP au fichier le {_d(at)}")
            if nature == InsuranceNature.MATERNITE and not rights.has_cover(Cover.MATERNITY, at):
                problems.append(f"nature 30 (maternité) sans maternité au fichier le {_d(at)}")
        if nature == InsuranceNature.ALSACE_MOSELLE and not rights.alsace_moselle:
            problems.append("nature 13 (Alsace-Moselle) pour un assuré hors régime local")
    for problem in problems:
        yield violation(E.NATURE_INCOMPATIBLE, "nature", problem[:1].upper() + problem[1:] + ".",
                        cpam_code=E.CPAM_NATURE_INCOMPATIBLE)


def rule_codes(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    """Codes exist and are reimbursable on the date of care (from the pricing's lookups)."""
    for line in sheet.lines:
        priced = ctx.pricing.line(line.number)
        path = _line_path(line, "code")
        if not code_format_ok(line):
            yield violation(_UNKNOWN_BY_KIND[line.kind], path,
                            f"Ligne {line.number} : « {line.code} » n'a pas le format d'un "
                            f"{_CODE_LABELS[line.kind]}.", line=line.number)
        elif priced.problem == LineProblem.UNKNOWN:
            yield violation(_UNKNOWN_BY_KIND[line.kind], path,
                            f"Ligne {line.number} : « {line.code} » inconnu le {_d(line.care_date)}.",
                            line=line.number)
        elif priced.problem == LineProblem.VALUE_UNKNOWN:
            yield violation(E.MAJORATION_VALUE_UNKNOWN, path,
                            f"Ligne {line.number} : majoration {line.code} ({priced.label}), "
                            f"aucune valeur connue le {_d(line.care_date)}.", line=line.number)
        elif priced.problem == LineProblem.NO_TARIFF and line.kind == LineKind.DEVICE:
            label = f" ({priced.label.rstrip(' .')})" if priced.label else ""
            yield violation(E.LPP_NO_TARIFF, path,
                            f"Ligne {line.number} : code LPP {line.code}{label}, tarif absent du "
                            f"référentiel chargé le {_d(line.care_date)}.", line=line.number)
        elif priced.problem in (LineProblem.NOT_REIMBURSABLE, LineProblem.NO_TARIFF):
            why = ("non remboursable" if priced.problem == LineProblem.NOT_REIMBURSABLE
                   else "sans tarif de remboursement")
            label = f" ({priced.label.rstrip(' .')})" if priced.label else ""
            yield violation(E.NOT_REIMBURSABLE, path,
                            f"Ligne {line.number} : « {line.code} »{label} {why} le "
                            f"{_d(line.care_date)}.", line=line.number,
                            cpam_code=E.CPAM_FORBIDDEN_AT_DATE
                            if line.kind == LineKind.MEDICINE else None)


def rule_quantities(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    for line in sheet.lines:
        if line.quantity < 1:
            yield violation(E.QUANTITY_INVALID, _line_path(line, "quantity"),
                            f"Ligne {line.number} : quantité {line.quantity}.", line=line.number)
        if line.kind == LineKind.NGAP and line.coefficient <= 0:
            yield violation(E.QUANTITY_INVALID, _line_path(line, "coefficient"),
                            f"Ligne {line.number} : coefficient {line.coefficient}.",
                            line=line.number)
        if line.kind == LineKind.DEVICE and line.quantity >= 1:
            fact = ctx.lookup.lpp(line.code, line.care_date)
            if fact is not None and fact.max_quantity is not None and line.quantity > fact.max_quantity:
                yield violation(E.QUANTITY_ABOVE_MAX, _line_path(line, "quantity"),
                                f"Ligne {line.number} : quantité {line.quantity}, maximum "
                                f"{fact.max_quantity} pour le code LPP {line.code}.",
                                line=line.number)


def rule_plv(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    for line in sheet.lines:
        if line.kind != LineKind.DEVICE or line.amounts is None:
            continue
        fact = ctx.lookup.lpp(line.code, line.care_date)
        if fact is None or fact.plv is None:
            continue
        limit = money(fact.plv * line.quantity)
        if line.amounts.charged > limit:
            yield violation(E.ABOVE_PLV, _line_path(line, "amounts.charged"),
                            f"Ligne {line.number} : facturé {_eur(line.amounts.charged)}, PLV "
                            f"{_eur(fact.plv)} × {line.quantity} = {_eur(limit)}.", line=line.number)


def rule_medicine_price(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    """A medicine is never charged above its price (box + dispensing fee) on the date of care."""
    for line in sheet.lines:
        if line.kind != LineKind.MEDICINE or line.amounts is None or line.quantity < 1:
            continue
        priced = ctx.pricing.line(line.number)
        if not priced.priced or priced.unit_price is None:
            continue
        limit = money(priced.unit_price * line.quantity)
        if line.amounts.charged > limit:
            yield violation(E.ABOVE_PRICE, _line_path(line, "amounts.charged"),
                            f"Ligne {line.number} : facturé {_eur(line.amounts.charged)}, prix "
                            f"{_eur(priced.unit_price)} × {line.quantity} = {_eur(limit)} le "
                            f"{_d(line.care_date)}.", line=line.number,
                            expected={"charged_max": str(limit)},
                            received={"charged": str(line.amounts.charged)})


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
        yield violation(_MAJORATION_ERRORS[failure], _line_path(line, "code"),
                        _majoration_detail(line, majoration, failure, birth, care_time, same_day),
                        line=line.number)


def _majoration_detail(line: Line, majoration, failure: Failure, birth: date,
                       care_time, same_day: list[Line]) -> str:
    head = f"Ligne {line.number} : {line.code} ({majoration.label}) le {_d(line.care_date)}"
    if failure == Failure.NO_ACT:
        billed = ", ".join(sorted({a.code for a in same_day})) or "aucun acte"
        return f"{head} ; actes admis : {', '.join(sorted(majoration.acts))} ; ce jour-là : {billed}."
    if failure == Failure.AGE:
        return f"{head} ; patient né le {_d(birth)}, {age_on(birth, line.care_date)} ans ce jour-là."
    if failure == Failure.DAY:
        return f"{head} ; ce jour est un {day_kind(line.care_date)}, ni dimanche ni jour férié."
    if failure == Failure.TIME_MISSING:
        return f"{head} ; heure des soins absente ({majoration.describe()})"
    if failure == Failure.TIME:
        return f"{head} à {care_time.strftime('%H:%M')} ; heures admises : {majoration.hours_text()}."
    return f"{head} ; {majoration.describe()}"


def rule_amounts(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    for line in sheet.lines:
        if line.amounts is None:
            yield violation(E.AMOUNTS_MISSING, _line_path(line, "amounts"),
                            f"Ligne {line.number}.", line=line.number)
            continue
        priced = ctx.pricing.line(line.number)
        if not priced.priced or not code_format_ok(line):
            continue  # already reported by rule_codes
        sent = line.amounts
        if (sent.base, sent.rate, sent.amo) == (priced.base, priced.rate, priced.amo):
            continue
        parts = []
        if sent.base != priced.base:
            parts.append(f"base attendue {_eur(priced.base)} (reçue {_eur(sent.base)})")
        if sent.rate != priced.rate:
            parts.append(f"taux attendu {priced.rate} % (reçu {sent.rate} %)")
        if sent.amo != priced.amo:
            parts.append(f"part AMO attendue {_eur(priced.amo)} (reçue {_eur(sent.amo)})")
        yield violation(
            E.LINE_AMOUNTS, _line_path(line, "amounts"),
            f"Ligne {line.number} ({line.code}, {_d(line.care_date)}) : " + ", ".join(parts) + ".",
            line=line.number,
            expected={"base": str(priced.base), "rate": priced.rate, "amo": str(priced.amo)},
            received={"base": str(sent.base), "rate": sent.rate, "amo": str(sent.amo)},
        )


def rule_totals(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    if not sheet.lines or any(line.amounts is None for line in sheet.lines):
        return
    pricing = ctx.pricing
    charged = money(sum((line.amounts.charged for line in sheet.lines), Decimal(0)))
    expected = {"charged": charged}
    if pricing.complete:
        expected |= {"base": pricing.base, "amo": pricing.amo}
    received = {"charged": sheet.totals.charged, "base": sheet.totals.base, "amo": sheet.totals.amo}
    # Agreement: « montant facturé attendu », « part AMO attendue ».
    labels = {"charged": ("montant facturé", "attendu", "reçu"), "base": ("base", "attendue", "reçue"),
              "amo": ("part AMO", "attendue", "reçue")}
    wrong = [name for name, value in expected.items() if received[name] != value]
    if wrong:
        yield violation(
            E.TOTALS, "totals",
            ", ".join(f"{labels[n][0]} {labels[n][1]} {_eur(expected[n])} ({labels[n][2]} {_eur(received[n])})"
                      for n in wrong) + ".",
            expected={n: str(expected[n]) for n in wrong},
            received={n: str(received[n]) for n in wrong},
        )


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
            E.EHPAD_PACKAGE, _line_path(line, "code"),
            f"Ligne {line.number} : LPP {line.code} « {fact.label} », catégorie de l'annexe "
            f"« {fact.ehpad_category} » ; patient résident en EHPAD{where} le "
            f"{_d(line.care_date)}.{reason}",
            line=line.number, expected={"ehpad_category": fact.ehpad_category},
        )


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
            yield violation(E.KIND_NOT_ALLOWED, _line_path(line, "kind"),
                            f"Ligne {line.number} : {_KIND_LABELS[line.kind]} facturé par un "
                            f"professionnel « {label} ».", line=line.number)
        elif line.kind == LineKind.NGAP:
            reserved = billing.ngap_keys.get(line.code)
            if reserved is not None and profession not in reserved:
                owners = ", ".join(sorted(_profession_label(p) for p in reserved))
                yield violation(E.KEY_NOT_ALLOWED, _line_path(line, "code"),
                                f"Ligne {line.number} : lettre clé {line.code} réservée à : "
                                f"{owners}.", line=line.number)


_CODE_LABELS = {  # for people: never the enum's value (« MEDICAMENT »)
    LineKind.NGAP: "code NGAP (lettre clé)",
    LineKind.CCAM: "code CCAM (7 caractères)",
    LineKind.MEDICINE: "code CIP13 de médicament (13 chiffres)",
    LineKind.DEVICE: "code LPP (7 chiffres)",
}

_KIND_LABELS = {
    LineKind.NGAP: "acte NGAP",
    LineKind.CCAM: "acte CCAM",
    LineKind.MEDICINE: "médicament",
    LineKind.DEVICE: "dispositif LPP",
}


def _profession_label(value: str) -> str:
    try:
        return Profession(value).label
    except ValueError:
        return value


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
            E.DUPLICATE_CARE, _line_path(line, "code"),
            f"Ligne {line.number} : {what} du {_d(line.care_date)} déjà accepté sous la facture "
            f"n° {first.invoice_number} ({where}).", line=line.number,
            expected={"first_invoice": first.invoice_number,
                      **({"first_fse_id": first.fse_id} if first.fse_id is not None else {})},
        ))
    return found


def rule_duplicate_care(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    if ctx.billed_care:
        yield from duplicate_care(sheet, ctx.billed_care, ctx.billing)


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
                        f"Lignes sur prescription : {_numbers(lines)}.")
    if lines and sheet.prescription_date is None:
        yield violation(E.PRESCRIPTION_DATE_MISSING, "prescription_date",
                        f"Lignes sur prescription : {_numbers(lines)}.")
    rpps = sheet.prescriber_rpps
    if rpps and not (_RPPS.fullmatch(rpps) and luhn.is_valid(rpps)):
        yield violation(E.PRESCRIBER_INVALID, "prescriber_rpps", f"RPPS « {rpps} ».")
    if sheet.prescription_date is not None and sheet.lines:
        before = [line for line in sheet.lines if line.care_date < sheet.prescription_date]
        if before:
            yield violation(E.PRESCRIPTION_AFTER_CARE, "prescription_date",
                            f"Prescription du {_d(sheet.prescription_date)}, soins du "
                            f"{_d(before[0].care_date)} (lignes {_numbers(before)}).",
                            cpam_code=E.CPAM_FORBIDDEN_AT_DATE)


def rule_tiers_payant(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    if sheet.tiers_payant_amc and not sheet.tiers_payant_amo:
        yield violation(E.TIERS_PAYANT_FLAGS, "tiers_payant_amc")


RULES: tuple[Rule, ...] = (
    rule_nir,
    rule_no_lines,
    rule_care_dates,
    rule_invoice_date,
    rule_patient_known,
    rule_rights_open,
    rule_exemption_in_file,
    rule_nature,
    rule_codes,
    rule_quantities,
    rule_plv,
    rule_medicine_price,
    rule_majorations,
    rule_amounts,
    rule_totals,
    rule_ehpad,
    rule_duplicate_care,
    rule_profession,
    rule_prescription,
    rule_tiers_payant,
)

__all__ = [
    "BILLING_LIMIT_YEARS",
    "RULES",
    "BilledCare",
    "CareKey",
    "CheckResult",
    "RuleConfig",
    "RuleContext",
    "RuleViolation",
    "billing_deadline",
    "care_keys",
    "check_care_sheet",
    "duplicate_care",
]
