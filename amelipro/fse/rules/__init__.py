"""The FSE billing rules: pure functions on frozen values, every error reported together.

No database here. The submission service passes in what the rules need: the caisse's file
for the patient (:class:`PatientRights`, or None when unknown), the reference lookup, the
professional's invoice numbers already used, and today's date. Each rule yields zero or
more :class:`RuleViolation` (code, French message and hint, path in the care sheet, detail);
:func:`check_care_sheet` runs them all once, with the gateway's own pricing, and returns
both.

The rules are grouped by family, one module each: ``dates`` (lines and dates), ``patient``
(NIR, rights, exemption, nature), ``codes`` (codes, quantities, majorations), ``amounts`` (price
limits, line amounts, totals), ``ehpad``, ``duplicates`` (care already billed), ``profession``
(profession, prescription, tiers payant flags); ``core`` holds what they share. ``RULES``
below is the one list, in the order the errors are reported.

Paths name the care sheet's fields: ``patient.nir``, ``invoice_date``, ``lines[2].code``,
``lines[2].amounts``, ``totals``... (line numbers are the 1-based ``Line.number``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from amelipro.beneficiaries.domain import PatientRights
from amelipro.domain import Profession
from amelipro.fse.charges import default_billing_config
from amelipro.fse.domain import CareSheet
from amelipro.fse.pricing import PracticeHistory, PriorCharges, price_care_sheet
from amelipro.fse.rules.amounts import rule_amounts, rule_medicine_price, rule_plv, rule_totals
from amelipro.fse.rules.codes import rule_codes, rule_majorations, rule_quantities
from amelipro.fse.rules.core import (
    BILLING_LIMIT_YEARS,
    BilledCare,
    CareKey,
    CheckResult,
    Rule,
    RuleConfig,
    RuleContext,
    RuleViolation,
    billing_deadline,
)
from amelipro.fse.rules.dates import rule_care_dates, rule_invoice_date, rule_no_lines
from amelipro.fse.rules.duplicates import care_keys, duplicate_care, rule_duplicate_care
from amelipro.fse.rules.ehpad import rule_ehpad
from amelipro.fse.rules.patient import (
    rule_exemption_in_file,
    rule_nature,
    rule_nir,
    rule_patient_known,
    rule_rights_open,
)
from amelipro.fse.rules.profession import rule_prescription, rule_profession, rule_tiers_payant
from amelipro.reference.facts import ReferenceLookup

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
    ``lookup`` is asked the same facts by the pricing and several rules: the submission and
    online billing pass the lot's lookup (``reference/lookup.py``), whose one cache answers
    them (each fact asked of the database once per lot).
    """
    config = config or RuleConfig()
    billing = config.billing or default_billing_config()
    if profession is None:
        profession = sheet.professional.specialty
    profession_value = profession.value if isinstance(profession, Profession) else str(profession)
    pricing = price_care_sheet(sheet, lookup, rights, profession_value,
                               sector=practice or PracticeHistory(), prior=prior, config=billing)
    ctx = RuleContext(today, lookup, rights, pricing, profession_value,
                      config, billing, practice, billed_care)
    found: list[RuleViolation] = []
    for rule in RULES:
        found.extend(rule(sheet, ctx))
    return CheckResult(tuple(found), pricing)


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
    "rule_amounts",
    "rule_care_dates",
    "rule_codes",
    "rule_duplicate_care",
    "rule_ehpad",
    "rule_exemption_in_file",
    "rule_invoice_date",
    "rule_majorations",
    "rule_medicine_price",
    "rule_nature",
    "rule_nir",
    "rule_no_lines",
    "rule_patient_known",
    "rule_plv",
    "rule_prescription",
    "rule_profession",
    "rule_quantities",
    "rule_rights_open",
    "rule_tiers_payant",
    "rule_totals",
]
