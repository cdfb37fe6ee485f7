"""Every FSE rule code with a failing and a passing care sheet; the pinned list of codes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from amelipro.auth.models import Profession
from amelipro.beneficiaries.domain import Cover, EhpadStay, PatientRights, Period
from amelipro.errors import REGISTRY
from amelipro.fse import errors as fse_errors
from amelipro.fse.domain import Amounts, CareSheet, Exemption, InsuranceNature, LineKind, Totals
from amelipro.fse.rules import RULES, BilledCare, RuleConfig, check_care_sheet
from tests.unit.test_fse_pricing import (
    BIRTH,
    CHILD_NIR,
    CIP_DOLI,
    CIP_OFF,
    LOOKUP,
    LPP_DRESSING,
    LPP_PUMP,
    LPP_WHEELCHAIR,
    NIR,
    NIR13,
    PRESCRIBER_RPPS,
    cover,
    line,
    rights,
    sheet,
    with_gateway_amounts,
)

D = Decimal
TODAY = date(2025, 3, 10)
CARE = date(2025, 3, 3)
PHARMACY = {"profession": Profession.PHARMACIEN, "prescriber_rpps": PRESCRIBER_RPPS,
            "prescription_date": date(2025, 3, 1)}


@dataclass(frozen=True)
class Case:
    care_sheet: CareSheet
    patient: PatientRights | None = field(default_factory=rights)
    today: date = TODAY
    config: RuleConfig = field(default_factory=RuleConfig)
    billed: dict | None = None

    def check(self):
        return check_care_sheet(self.care_sheet, lookup=LOOKUP, rights=self.patient,
                                today=self.today, config=self.config, billed_care=self.billed)


def valid(*lines, patient: PatientRights | None = None, **kwargs) -> CareSheet:
    """A sheet carrying the gateway's own amounts."""
    return with_gateway_amounts(sheet(*(lines or (line(at=CARE),)), **kwargs), patient or rights())


def gp(**kwargs) -> CareSheet:
    return valid(line(at=CARE), **kwargs)


def pharmacy(*lines, **kwargs) -> CareSheet:
    return valid(*(lines or (line(code=CIP_DOLI, kind=LineKind.MEDICINE, at=CARE),)),
                 **{**PHARMACY, **kwargs})


def device(code: str = LPP_DRESSING, quantity: int = 1, at: date = CARE):
    return line(code=code, kind=LineKind.DEVICE, quantity=quantity, at=at)


def _bad_amounts(care: CareSheet) -> CareSheet:
    first = care.lines[0]
    wrong = replace(first, amounts=Amounts(D("30.00"), D("26.50"), 70, D("18.55")))
    return replace(care, lines=(wrong,), totals=Totals(D("30.00"), D("26.50"), D("18.55")))


def _charged(care: CareSheet, charged: str) -> CareSheet:
    first = care.lines[0]
    amounts = replace(first.amounts, charged=D(charged))
    return replace(care, lines=(replace(first, amounts=amounts),),
                   totals=replace(care.totals, charged=D(charged)))


SATURDAY, SUNDAY = date(2025, 3, 8), date(2025, 3, 9)
SIX_YEARS = date(2019, 3, 3)  # born on that day: 6 years old on CARE (2025-03-03)


def _child(born: date) -> Case:
    patient = rights(birth_date=born, nir_=CHILD_NIR)
    return Case(valid(line(at=CARE), line(2, code="MEG", at=CARE), birth_date=born,
                      patient_nir=CHILD_NIR, patient=patient), patient=patient)


EHPAD_2024 = EhpadStay(Period(date(2024, 1, 1), None), "750000017", "EHPAD Les Tilleuls")
EHPAD_ENDED = EhpadStay(Period(date(2024, 1, 1), date(2025, 2, 28)), "750000017", "EHPAD Les Tilleuls")
WHEELCHAIR = device(LPP_WHEELCHAIR)

# code -> (failing case, passing case); built lazily so a broken builder fails one test only.
TABLE: dict[str, tuple[Callable[[], Case], Callable[[], Case]]] = {
    "FSE-R-001": (lambda: Case(gp(patient_nir=NIR13 + "10")), lambda: Case(gp(patient_nir=NIR))),
    "FSE-R-002": (
        lambda: Case(valid(line(at=TODAY + timedelta(days=1)), invoice_date=TODAY),
                     today=TODAY),
        lambda: Case(valid(line(at=TODAY))),
    ),
    "FSE-R-003": (  # care in Q1 2023: billable until 31 March 2025 (CSS L.332-1)
        lambda: Case(valid(line(code="DEQP003", kind=LineKind.CCAM, at=date(2023, 1, 2)),
                           invoice_date=date(2025, 4, 1)), today=date(2025, 4, 1)),
        lambda: Case(valid(line(code="DEQP003", kind=LineKind.CCAM, at=date(2023, 1, 2)),
                           invoice_date=date(2025, 3, 31)), today=date(2025, 3, 31)),
    ),
    "FSE-R-004": (lambda: Case(gp(invoice_date=CARE - timedelta(days=1))),
                  lambda: Case(gp(invoice_date=CARE))),
    "FSE-R-005": (lambda: Case(gp(invoice_date=TODAY + timedelta(days=1))),
                  lambda: Case(gp(invoice_date=TODAY))),
    "FSE-R-006": (lambda: Case(gp(), patient=None), lambda: Case(gp())),
    "FSE-R-007": (lambda: Case(gp(), patient=rights(birth_date=date(1982, 8, 20))),
                  lambda: Case(gp(), patient=rights(birth_date=BIRTH))),
    "FSE-R-008": (lambda: Case(gp(), patient=rights(closed=date(2025, 2, 28))),
                  lambda: Case(gp(), patient=rights(closed=date(2025, 3, 31)))),
    "FSE-R-009": (
        lambda: Case(gp(exemption=Exemption.ALD), patient=rights()),
        lambda: Case(gp(exemption=Exemption.ALD), patient=rights(covers=(cover(Cover.ALD),))),
    ),
    "FSE-R-010": (
        lambda: Case(gp(exemption=Exemption.AT_MP, nature=InsuranceNature.AT_MP),
                     patient=rights(covers=(cover(Cover.AT_MP, end=date(2025, 1, 31)),))),
        lambda: Case(gp(exemption=Exemption.AT_MP, nature=InsuranceNature.AT_MP),
                     patient=rights(covers=(cover(Cover.AT_MP),))),
    ),
    "FSE-R-011": (lambda: Case(valid(line(code="ZZZ", at=CARE))), lambda: Case(gp())),
    "FSE-R-012": (
        lambda: Case(pharmacy(line(code="3400930000648", kind=LineKind.MEDICINE, at=CARE))),
        lambda: Case(pharmacy()),
    ),
    "FSE-R-013": (lambda: Case(pharmacy(device("9999999"))), lambda: Case(pharmacy(device()))),
    "FSE-R-014": (
        lambda: Case(pharmacy(line(code=CIP_OFF, kind=LineKind.MEDICINE, at=CARE))),
        lambda: Case(pharmacy()),
    ),
    "FSE-R-015": (lambda: Case(_bad_amounts(gp())), lambda: Case(gp())),
    "FSE-R-016": (
        lambda: Case(replace(gp(), totals=Totals(D("30.00"), D("30.00"), D("20.00")))),
        lambda: Case(gp()),
    ),
    "FSE-R-017": (
        lambda: Case(pharmacy(WHEELCHAIR), patient=rights(ehpad=(EHPAD_2024,))),
        lambda: Case(pharmacy(WHEELCHAIR), patient=rights(ehpad=(EHPAD_ENDED,))),
    ),
    "FSE-R-019": (
        lambda: Case(pharmacy(profession=Profession.INFIRMIER)),
        lambda: Case(pharmacy(profession=Profession.PHARMACIEN)),
    ),
    "FSE-R-020": (
        lambda: Case(valid(line(code="G", at=CARE), **{**PHARMACY, "profession": Profession.INFIRMIER})),
        lambda: Case(valid(line(code="AMI", at=CARE), **{**PHARMACY, "profession": Profession.INFIRMIER})),
    ),
    "FSE-R-021": (lambda: Case(pharmacy(prescriber_rpps=None)), lambda: Case(pharmacy())),
    "FSE-R-022": (lambda: Case(pharmacy(prescription_date=None)), lambda: Case(pharmacy())),
    "FSE-R-023": (lambda: Case(pharmacy(prescription_date=CARE + timedelta(days=1))),
                  lambda: Case(pharmacy(prescription_date=CARE))),
    "FSE-R-024": (lambda: Case(pharmacy(prescriber_rpps="10101010106")), lambda: Case(pharmacy())),
    "FSE-R-025": (
        lambda: Case(_charged(pharmacy(device(quantity=3)), "18.50")),
        lambda: Case(_charged(pharmacy(device(quantity=3)), "18.00")),
    ),
    "FSE-R-026": (lambda: Case(pharmacy(device(quantity=0))), lambda: Case(pharmacy(device(quantity=1)))),
    "FSE-R-027": (lambda: Case(pharmacy(device(quantity=11))), lambda: Case(pharmacy(device(quantity=10)))),
    "FSE-R-028": (lambda: Case(sheet(line(at=CARE))), lambda: Case(gp())),
    "FSE-R-029": (lambda: Case(replace(gp(), lines=())), lambda: Case(gp())),
    "FSE-R-030": (
        lambda: Case(gp(tiers_payant_amo=False, tiers_payant_amc=True)),
        lambda: Case(gp(tiers_payant_amo=True, tiers_payant_amc=True)),
    ),
    "FSE-R-031": (
        lambda: Case(replace(gp(), professional=replace(gp().professional, specialty="veterinaire"))),
        lambda: Case(gp()),
    ),
    "FSE-R-032": (lambda: Case(valid(line(code="F", at=SUNDAY))),
                  lambda: Case(valid(line(at=SUNDAY), line(2, code="F", at=SUNDAY)))),
    "FSE-R-033": (lambda: _child(SIX_YEARS - timedelta(days=1)), lambda: _child(SIX_YEARS + timedelta(days=1))),
    "FSE-R-034": (lambda: Case(valid(line(at=SATURDAY), line(2, code="F", at=SATURDAY))),
                  lambda: Case(valid(line(at=SUNDAY), line(2, code="F", at=SUNDAY)))),
    "FSE-R-035": (lambda: Case(valid(line(at=CARE), line(2, code="MN", at=CARE))),
                  lambda: Case(valid(line(at=CARE, time_="21:30"), line(2, code="MN", at=CARE)))),
    "FSE-R-036": (lambda: Case(valid(line(at=CARE, time_="19:59"), line(2, code="MN", at=CARE))),
                  lambda: Case(valid(line(at=CARE, time_="20:00"), line(2, code="MN", at=CARE)))),
    "FSE-R-037": (lambda: Case(valid(line(at=CARE), line(2, code="MD", at=CARE))),
                  lambda: Case(valid(line(code="VG", at=CARE), line(2, code="MD", at=CARE)))),
    "FSE-R-038": (lambda: Case(valid(line(at=CARE), line(2, code="MCG", at=CARE), pathway=False)),
                  lambda: Case(valid(line(at=CARE), line(2, code="MCG", at=CARE), pathway=True))),
    "FSE-R-039": (lambda: Case(valid(line(code="G", at=date(2017, 4, 30)), line(2, code="MCG", at=date(2017, 4, 30)),
                                     invoice_date=CARE), today=date(2017, 5, 2)),
                  lambda: Case(valid(line(at=CARE), line(2, code="MCG", at=CARE)))),
    "FSE-R-040": (
        lambda: Case(gp(invoice_number="F2"), billed={(CARE, "ngap", "G", 0): BilledCare("F1", 41)}),
        lambda: Case(gp(invoice_number="F2"), billed={(CARE, "ngap", "CS", 0): BilledCare("F1", 41)}),
    ),
    "FSE-R-041": (lambda: Case(_charged(pharmacy(), "3.58")), lambda: Case(_charged(pharmacy(), "3.57"))),
    "FSE-R-042": (lambda: Case(pharmacy(device(LPP_PUMP))), lambda: Case(pharmacy(device()))),
}


@pytest.mark.parametrize("code", sorted(TABLE))
def test_rule_fails(code):
    failing, _ = TABLE[code]
    result = failing().check()
    assert code in result.codes, result.as_dicts()
    found = [e for e in result.errors if e.code == code]
    for error in found:
        entry = REGISTRY[code]
        assert (error.message, error.hint) == (entry.message, entry.hint)
        assert error.path and error.hint and error.detail is not None


@pytest.mark.parametrize("code", sorted(TABLE))
def test_rule_passes(code):
    _, passing = TABLE[code]
    result = passing().check()
    assert result.ok, result.as_dicts()


def test_every_rule_code_is_in_the_table():
    # FSE-R-018 (invoice number already used) needs the stored FSEs: fse/services.py checks it
    # (tests/api/test_fse_submit.py), not a pure rule.
    assert sorted(TABLE) == [c for c in fse_errors.RULE_CODES if c != "FSE-R-018"]


def test_rule_codes_are_pinned():
    expected = tuple(f"FSE-R-{n:03d}" for n in range(1, 43))
    assert fse_errors.RULE_CODES == expected
    declared = sorted(code for code in REGISTRY if code.startswith("FSE-R-"))
    assert declared == list(expected)
    for code in expected:
        assert REGISTRY[code].status == 422
        assert REGISTRY[code].message and REGISTRY[code].hint


@pytest.mark.parametrize(
    ("code", "cpam"),
    [("FSE-R-006", "0250 050"), ("FSE-R-009", "0450 072"), ("FSE-R-010", "0317 051"),
     ("FSE-R-014", "0470 049"), ("FSE-R-023", "0470 049")],
)
def test_real_cpam_reject_codes_in_details(code, cpam):
    result = TABLE[code][0]().check()
    assert [e.cpam_code for e in result.errors if e.code == code] == [cpam]
    assert next(e for e in result.as_dicts() if e["code"] == code)["cpam_code"] == cpam


def test_all_errors_are_reported_together_with_paths():
    care = replace(
        gp(patient_nir=NIR13 + "10", invoice_date=CARE - timedelta(days=1), exemption=Exemption.ALD),
        lines=(line(1, code="ZZZ", at=CARE, amounts=Amounts(D("1"), D("1"), 70, D("0.70"))),
               line(2, at=TODAY + timedelta(days=2))),
    )
    result = Case(care, patient=rights(closed=date(2025, 3, 5))).check()
    by_code = {e.code: e for e in result.errors}
    assert {"FSE-R-001", "FSE-R-002", "FSE-R-004", "FSE-R-008", "FSE-R-009",
            "FSE-R-011", "FSE-R-028"} <= set(by_code)
    assert by_code["FSE-R-001"].path == "patient.nir"
    assert by_code["FSE-R-011"].path == "lines[1].code" and by_code["FSE-R-011"].line == 1
    assert by_code["FSE-R-028"].path == "lines[2].amounts"
    assert by_code["FSE-R-008"].path == "lines[2].care_date"


def test_amount_error_gives_expected_and_received_values():
    result = Case(_bad_amounts(valid(line(at=date(2024, 12, 23)), invoice_date=CARE))).check()
    error = next(e for e in result.errors if e.code == "FSE-R-015")
    assert error.expected == {"base": "30.00", "rate": 70, "amo": "21.00"}
    assert error.received == {"base": "26.50", "rate": 70, "amo": "18.55"}
    assert "30,00" in error.detail and "26,50" in error.detail


def test_amounts_are_checked_at_the_date_of_care_not_today():
    # 26,50 € is right for care on 21 Dec 2024, even though today G is worth 30 €
    care = valid(line(at=date(2024, 12, 21)), invoice_date=date(2024, 12, 21))
    assert care.lines[0].amounts.base == D("26.50")
    assert Case(care).check().ok


def test_ehpad_error_names_the_annex_category():
    result = TABLE["FSE-R-017"][0]().check()
    error = next(e for e in result.errors if e.code == "FSE-R-017")
    assert "fauteuil roulant manuel non affecté" in error.detail
    assert "EHPAD Les Tilleuls" in error.detail
    assert error.expected == {"ehpad_category": LOOKUP.lpp(LPP_WHEELCHAIR, CARE).ehpad_category}


def test_rights_are_checked_at_the_date_of_care():
    patient = rights(opened=date(2020, 1, 1), closed=date(2025, 3, 4))
    care = valid(line(1, at=date(2025, 3, 3)), line(2, at=date(2025, 3, 5)))
    errors = [e for e in Case(care, patient=patient).check().errors if e.code == "FSE-R-008"]
    assert [e.line for e in errors] == [2]


def test_check_rights_can_be_disabled_where_no_file_is_loaded():
    result = Case(gp(), patient=None, config=RuleConfig(check_rights=False)).check()
    assert result.ok


def test_time_limit_is_configurable():
    care = valid(line(at=date(2024, 3, 1)), invoice_date=TODAY)  # next quarter: 1 April 2024
    assert Case(care).check().ok
    assert "FSE-R-003" in Case(care, config=RuleConfig(limit_years=0)).check().codes


def test_check_returns_the_pricing():
    result = Case(gp()).check()
    assert result.pricing.amo == D("21.00")
    assert result.pricing.charges.participation == D("2.00")


def test_rules_are_pure_functions_listed_once():
    assert len(set(RULES)) == len(RULES)
    assert all(callable(rule) and rule.__name__.startswith("rule_") for rule in RULES)


def test_malformed_code_message_names_the_kind_in_french_not_the_enum():
    care = pharmacy(line(code="12AB", kind=LineKind.MEDICINE, at=CARE))
    error = next(e for e in Case(care).check().errors if e.path == "lines[1].code")
    assert "n'a pas le format d'un code CIP13 de médicament (13 chiffres)." in error.detail
    assert "MEDICAMENT" not in error.detail and "medicament" not in error.detail


def test_totals_error_agrees_in_gender():
    """« part AMO attendue … (reçue …) », « montant facturé attendu … (reçu …) »."""
    result = TABLE["FSE-R-016"][0]().check()
    detail = next(e for e in result.errors if e.code == "FSE-R-016").detail
    assert "part AMO attendue " in detail and "(reçue " in detail and "part AMO attendu " not in detail
    assert re.search(r"base attendue [\d,]+\u00a0€ \(reçue", detail) or "base" not in detail
