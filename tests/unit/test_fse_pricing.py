"""Pricing at the date of care: rates, letter keys, patient charges, rounding (all Decimal).

The builders here are shared with ``test_fse_rules.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, time
from decimal import Decimal

import pytest
from stdnum.fr import nir

from amelipro.auth.models import Profession
from amelipro.beneficiaries.domain import Cover, CoverPeriod, EhpadStay, PatientRights, Period
from amelipro.fse import domain
from amelipro.fse.charges import (
    BillingConfigError,
    build_billing_config,
    default_billing_config,
)
from amelipro.fse.domain import CareSheet, Line, LineKind
from amelipro.fse.pricing import (
    LineProblem,
    PriorCharges,
    Sector,
    YearCharges,
    money,
    part,
    price_care_sheet,
)
from amelipro.reference.facts import ActFact, LppFact, MedicineFact

D = Decimal

# --- builders (real-looking values) ------------------------------------------------------

NIR13 = "2820819398814"
NIR = NIR13 + nir.calc_check_digits(NIR13)  # key 09
CHILD13 = "1150575114123"
CHILD_NIR = CHILD13 + nir.calc_check_digits(CHILD13)
BIRTH = date(1982, 8, 19)
CHILD_BIRTH = date(2015, 5, 2)
GP_RPPS = "10003456786"  # 11 digits, Luhn-valid
PRESCRIBER_RPPS = "10101010105"

CIP_DOLI = "3400930000649"  # BDPM: 65 %, 2,55 € + 1,02 € dispensing fee
CIP_PH2 = "3400930000946"
CIP_OFF = "3400930000885"  # no longer reimbursed
LPP_WHEELCHAIR = "4507210"  # VPH fauteuil roulant manuel de base, 1 125,00 €
LPP_DRESSING = "1314030"
LPP_PUMP = "1188098"


@dataclass
class DatedLookup:
    """A ReferenceLookup whose values change with the date (``(start, end, fact)`` lists)."""

    acts: dict[str, list[tuple[date, date | None, ActFact]]] = field(default_factory=dict)
    medicines: dict[str, MedicineFact] = field(default_factory=dict)
    lpp_codes: dict[str, LppFact] = field(default_factory=dict)

    def act(self, code: str, at: date) -> ActFact | None:
        for start, end, fact in self.acts.get(code, []):
            if start <= at and (end is None or at <= end):
                return fact
        return None

    def medicine(self, cip13: str, at: date) -> MedicineFact | None:
        return self.medicines.get(cip13)

    def lpp(self, code: str, at: date) -> LppFact | None:
        return self.lpp_codes.get(code)


def _ngap(code: str, label: str, value: str | None) -> ActFact:
    return ActFact(code, "ngap", label, None if value is None else D(value))


LOOKUP = DatedLookup(
    acts={
        "G": [
            (date(2023, 11, 1), date(2024, 12, 21), _ngap("G", "Consultation de médecine générale", "26.50")),
            (date(2024, 12, 22), None, _ngap("G", "Consultation de médecine générale", "30.00")),
        ],
        "VG": [(date(2024, 12, 22), None, _ngap("VG", "Visite de médecine générale", "30.00"))],
        "AMI": [(date(2012, 1, 1), None, _ngap("AMI", "Acte infirmier", "3.15"))],
        "AMK": [(date(2012, 1, 1), None, _ngap("AMK", "Acte de kinésithérapie", "2.15"))],
        "SFI": [(date(2012, 1, 1), None, _ngap("SFI", "Soins infirmiers sage-femme", "3.15"))],
        "CS": [(date(2012, 1, 1), None, _ngap("CS", "Consultation de spécialiste", "30.00"))],
        "VGX": [(date(2012, 1, 1), None, _ngap("VGX", "Lettre clé sans valeur", None))],
        "DEQP003": [(date(2020, 1, 1), None, ActFact(
            "DEQP003", "ccam", "Électrocardiographie sur au moins 12 dérivations",
            D("14.77"), D("13.81")))],
        "HBQK002": [(date(2020, 1, 1), None, ActFact(
            "HBQK002", "ccam", "Radiographie intrabuccale rétroalvéolaire", D("7.98")))],
    },
    medicines={
        CIP_DOLI: MedicineFact(CIP_DOLI, "PARACETAMOL 500 mg, gélule", True, 65, D("2.55"), D("1.02")),
        CIP_PH2: MedicineFact(CIP_PH2, "Médicament à SMR faible", True, 15, D("2.48"), D("1.02")),
        CIP_OFF: MedicineFact(CIP_OFF, "Médicament déremboursé", False, None, D("11.16"), None),
    },
    lpp_codes={
        LPP_WHEELCHAIR: LppFact(
            LPP_WHEELCHAIR, "VPH, fauteuil roulant à propulsion manuelle de base", D("1125.00"),
            plv=D("1125.00"), max_quantity=1,
            ehpad_category="II. Matériel médical amortissable — fauteuil roulant manuel non affecté",
            ehpad_reason="Compris dans le forfait soins (arrêté du 26 avril 1999).",
        ),
        LPP_DRESSING: LppFact(LPP_DRESSING, "Compresse stérile non tissée", D("5.34"), plv=D("6.00"),
                              max_quantity=10),
        LPP_PUMP: LppFact(LPP_PUMP, "Oxygénothérapie à long terme, concentrateur", None),
    },
)

PROFESSION_OF = {
    LineKind.NGAP: Profession.MEDECIN_GENERALISTE,
    LineKind.CCAM: Profession.MEDECIN_GENERALISTE,
    LineKind.MEDICINE: Profession.PHARMACIEN,
    LineKind.DEVICE: Profession.PHARMACIEN,
}


def line(number: int = 1, code: str = "G", at: date = date(2025, 3, 3), *,
         kind: LineKind = LineKind.NGAP, quantity: int = 1, coefficient: str = "1",
         amounts: domain.Amounts | None = None, time_: str | None = None, second_act: bool = False) -> Line:
    return Line(number=number, kind=kind, care_date=at, code=code, quantity=quantity,
                coefficient=D(coefficient), amounts=amounts,
                care_time=time.fromisoformat(time_) if time_ else None, second_act=second_act)


def sheet(*lines: Line, profession: Profession = Profession.MEDECIN_GENERALISTE,
          invoice_date: date | None = None, nature: domain.InsuranceNature = domain.InsuranceNature.MALADIE,
          pathway: bool = True, exemption: domain.Exemption = domain.Exemption.NONE, patient_nir: str = NIR,
          birth_date: date = BIRTH, invoice_number: str = "F2025-000123",
          prescriber_rpps: str | None = None, prescription_date: date | None = None,
          tiers_payant_amo: bool = True, tiers_payant_amc: bool = False,
          totals: domain.Totals | None = None) -> CareSheet:
    lines = lines or (line(),)
    return CareSheet(
        id="FSE-1",
        invoice_number=invoice_number,
        invoice_date=invoice_date or max(item.care_date for item in lines),
        professional=domain.ProfessionalRef(GP_RPPS, "751234561", profession.value,
                                     "750000017" if profession == Profession.PHARMACIEN else None),
        patient=domain.PatientRef(nir=patient_nir, birth_date=birth_date, rank=1, regime="01",
                           caisse="751", centre="0001"),
        nature=nature,
        pathway=pathway,
        exemption=exemption,
        tiers_payant_amo=tiers_payant_amo,
        tiers_payant_amc=tiers_payant_amc,
        lines=tuple(lines),
        totals=totals or domain.Totals(D("0.00"), D("0.00"), D("0.00")),
        prescriber_rpps=prescriber_rpps,
        prescription_date=prescription_date,
    )


def rights(*, birth_date: date = BIRTH, nir_: str = NIR, opened: date = date(2020, 1, 1),
           closed: date | None = None, covers: tuple[CoverPeriod, ...] = (),
           ehpad: tuple[EhpadStay, ...] = (), alsace_moselle: bool = False) -> PatientRights:
    return PatientRights(
        nir=nir_, rank=1, birth_date=birth_date, last_name="MARTIN", first_name="Claire",
        regime="01", caisse="751", centre="0001", alsace_moselle=alsace_moselle,
        rights=(Period(opened, closed),), covers=covers, ehpad_stays=ehpad,
    )


def cover(kind: Cover, start: date = date(2020, 1, 1), end: date | None = None) -> CoverPeriod:
    return CoverPeriod(kind, Period(start, end), "")


def with_gateway_amounts(care_sheet: CareSheet, patient: PatientRights | None = None,
                         lookup=LOOKUP) -> CareSheet:
    """The same sheet carrying exactly the gateway's amounts (what good software sends)."""
    pricing = price_care_sheet(care_sheet, lookup, patient, care_sheet.professional.specialty)
    lines = tuple(
        replace(item, amounts=domain.Amounts(pricing.line(item.number).charged,
                                      pricing.line(item.number).base,
                                      pricing.line(item.number).rate,
                                      pricing.line(item.number).amo))
        for item in care_sheet.lines
    )
    charged = money(sum((item.amounts.charged for item in lines), D(0)))
    return replace(care_sheet, lines=lines, totals=domain.Totals(charged, pricing.base, pricing.amo))


def price(care_sheet: CareSheet, patient: PatientRights | None = None, **kwargs):
    return price_care_sheet(care_sheet, LOOKUP, patient, care_sheet.professional.specialty, **kwargs)


# --- letter keys and rates at the date of care ------------------------------------------

@pytest.mark.parametrize(
    ("at", "base", "amo"),
    [
        (date(2024, 12, 21), D("26.50"), D("18.55")),
        (date(2024, 12, 22), D("30.00"), D("21.00")),
    ],
)
def test_g_value_changes_on_22_december_2024(at, base, amo):
    result = price(sheet(line(at=at)), rights())
    priced = result.line(1)
    assert (priced.base, priced.rate, priced.amo) == (base, 70, amo)
    assert result.totals.amo == amo
    assert isinstance(priced.base, Decimal) and isinstance(priced.amo, Decimal)


def test_every_line_is_priced_at_its_own_date():
    result = price(sheet(line(1, at=date(2024, 12, 21)), line(2, at=date(2024, 12, 22))), rights())
    assert [item.base for item in result.lines] == [D("26.50"), D("30.00")]
    assert result.base == D("56.50")
    assert result.amo == D("39.55")


def test_outside_pathway_doctor_rate_is_30_percent():
    result = price(sheet(line(at=date(2025, 1, 6)), pathway=False), rights())
    assert (result.line(1).rate, result.line(1).amo) == (30, D("9.00"))


def test_pathway_does_not_apply_under_16():
    child = rights(birth_date=CHILD_BIRTH, nir_=CHILD_NIR)
    result = price(sheet(line(at=date(2025, 1, 6)), pathway=False, birth_date=CHILD_BIRTH,
                         patient_nir=CHILD_NIR), child)
    assert result.line(1).rate == 70


@pytest.mark.parametrize(
    ("exemption", "nature"),
    [
        (domain.Exemption.ALD, domain.InsuranceNature.MALADIE),
        (domain.Exemption.MATERNITY, domain.InsuranceNature.MATERNITE),
        (domain.Exemption.AT_MP, domain.InsuranceNature.AT_MP),
        (domain.Exemption.NONE, domain.InsuranceNature.AT_MP),
    ],
)
def test_full_rate_under_ald_maternity_atmp(exemption, nature):
    result = price(sheet(line(at=date(2025, 1, 6)), exemption=exemption, nature=nature,
                         pathway=False), rights())
    assert (result.line(1).rate, result.line(1).amo) == (100, D("30.00"))


def test_c2s_does_not_change_the_amo_rate():
    result = price(sheet(line(at=date(2025, 1, 6)), exemption=domain.Exemption.C2S),
                   rights(covers=(cover(Cover.C2S),)))
    assert result.line(1).rate == 70


def test_auxiliary_rate_and_half_up_rounding_of_coefficient():
    # AMI 3,15 € × 1,5 = 4,725 -> 4,73 (half-up; banker's rounding would give 4,72)
    result = price(sheet(line(code="AMI", coefficient="1.5", at=date(2025, 1, 6)),
                         profession=Profession.INFIRMIER), rights())
    assert (result.line(1).base, result.line(1).rate, result.line(1).amo) == (D("4.73"), 60, D("2.84"))


def test_money_rounds_half_up():
    assert money(D("0.245")) == D("0.25")
    assert money(D("2.675")) == D("2.68")
    assert part(D("0.35"), 70) == D("0.25")


def test_ccam_sector_tariffs():
    care = sheet(line(code="DEQP003", kind=LineKind.CCAM, at=date(2025, 1, 6)))
    assert price(care, rights()).line(1).base == D("14.77")
    other = price(care, rights(), sector=Sector.OTHER).line(1)
    assert (other.base, other.amo) == (D("13.81"), D("9.67"))


def test_dentist_rate_falls_to_60_percent_on_1_october_2023():
    def rate(at):
        care = sheet(line(code="HBQK002", kind=LineKind.CCAM, at=at),
                     profession=Profession.CHIRURGIEN_DENTISTE)
        return price(care, rights()).line(1).rate

    assert (rate(date(2023, 9, 30)), rate(date(2023, 10, 1))) == (70, 60)


def test_medicine_base_includes_dispensing_fee_and_uses_its_rate():
    care = sheet(line(code=CIP_DOLI, kind=LineKind.MEDICINE, quantity=2, at=date(2025, 1, 6)),
                 profession=Profession.PHARMACIEN)
    priced = price(care, rights()).line(1)
    assert (priced.unit_price, priced.base, priced.rate, priced.amo) == (D("3.57"), D("7.14"), 65, D("4.64"))


def test_ph2_medicine_under_ald_is_paid_at_100_percent():
    care = sheet(line(code=CIP_PH2, kind=LineKind.MEDICINE, at=date(2025, 1, 6)),
                 profession=Profession.PHARMACIEN, exemption=domain.Exemption.ALD)
    assert price(care, rights()).line(1).rate == 100


def test_lpp_device_rate_60_percent():
    care = sheet(line(code=LPP_DRESSING, kind=LineKind.DEVICE, quantity=3, at=date(2025, 1, 6)),
                 profession=Profession.PHARMACIEN)
    priced = price(care, rights()).line(1)
    assert (priced.base, priced.rate, priced.amo) == (D("16.02"), 60, D("9.61"))


def test_alsace_moselle_local_rates():
    care = sheet(line(code=CIP_DOLI, kind=LineKind.MEDICINE, at=date(2025, 1, 6)),
                 profession=Profession.PHARMACIEN, nature=domain.InsuranceNature.ALSACE_MOSELLE)
    assert price(care, rights(alsace_moselle=True)).line(1).rate == 90


@pytest.mark.parametrize(
    ("code", "kind", "problem"),
    [
        ("ZZZ", LineKind.NGAP, LineProblem.UNKNOWN),
        ("VGX", LineKind.NGAP, LineProblem.NO_TARIFF),
        (CIP_OFF, LineKind.MEDICINE, LineProblem.NOT_REIMBURSABLE),
        (LPP_PUMP, LineKind.DEVICE, LineProblem.NO_TARIFF),
        ("DEQP003", LineKind.NGAP, LineProblem.UNKNOWN),  # a CCAM code sent as NGAP
    ],
)
def test_unpriceable_lines_are_flagged_not_guessed(code, kind, problem):
    care = sheet(line(code=code, kind=kind, at=date(2025, 1, 6)), profession=PROFESSION_OF[kind])
    result = price(care, rights())
    assert result.line(1).problem == problem
    assert (result.line(1).base, result.line(1).amo) == (D("0.00"), D("0.00"))
    assert not result.complete


def test_unknown_letter_key_value_falls_back_to_dated_configuration():
    lookup = DatedLookup(acts={"G": [(date(2000, 1, 1), None, _ngap("G", "Consultation", None))]})
    care = sheet(line(at=date(2024, 12, 22)))
    result = price_care_sheet(care, lookup, None, Profession.MEDECIN_GENERALISTE)
    assert result.line(1).base == D("30.00")
    assert price_care_sheet(sheet(line(at=date(2024, 6, 1))), lookup, None,
                            Profession.MEDECIN_GENERALISTE).line(1).base == D("26.50")


def test_charged_amount_comes_from_the_sheet_and_defaults_to_base():
    sent = domain.Amounts(D("35.00"), D("30.00"), 70, D("21.00"))
    result = price(sheet(line(at=date(2025, 1, 6), amounts=sent), line(2, at=date(2025, 1, 6))), rights())
    assert [item.charged for item in result.lines] == [D("35.00"), D("30.00")]
    assert result.charged == D("65.00")
    assert result.patient_share == D("65.00") - D("42.00")


# --- patient charges ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("at", "expected"),
    [(date(2024, 5, 14), D("1.00")), (date(2024, 5, 15), D("2.00"))],
)
def test_participation_forfaitaire_1_then_2_euros_on_15_may_2024(at, expected):
    result = price(sheet(line(at=at)), rights())
    assert result.charges.participation == expected
    assert result.line(1).participation == expected
    assert result.charges.franchise == D("0.00")
    assert result.amo == D("18.55")  # never deducted from the AMO part


def test_participation_daily_cap():
    lines = [line(n, at=date(2024, 6, 3)) for n in range(1, 6)]
    result = price(sheet(*lines), rights())
    assert result.charges.participation == D("8.00")
    assert [item.participation for item in result.lines] == [D("2.00")] * 4 + [D("0.00")]


def test_participation_yearly_cap_with_prior_charges():
    result = price(sheet(line(at=date(2024, 6, 3))), rights(),
                   prior=PriorCharges(years=(YearCharges(2024, participation=D("49.00")),)))
    assert result.charges.participation == D("1.00")


@pytest.mark.parametrize(
    ("patient", "care_kwargs", "reason"),
    [
        (rights(birth_date=CHILD_BIRTH, nir_=CHILD_NIR),
         {"birth_date": CHILD_BIRTH, "patient_nir": CHILD_NIR}, "moins de 18 ans"),
        (rights(covers=(cover(Cover.C2S),)), {}, "complémentaire santé solidaire (C2S)"),
        (rights(covers=(cover(Cover.AME),)), {}, "aide médicale de l'État (AME)"),
        (rights(covers=(cover(Cover.MATERNITY),)),
         {"nature": domain.InsuranceNature.MATERNITE, "exemption": domain.Exemption.MATERNITY}, "assurance maternité"),
    ],
)
def test_charge_exemptions(patient, care_kwargs, reason):
    care = sheet(line(at=date(2024, 6, 3)), **care_kwargs)
    result = price(care, patient)
    assert result.charges.total == D("0.00")
    assert result.charges.exemptions == (reason,)


def test_exemption_is_read_at_the_date_of_care():
    patient = rights(covers=(cover(Cover.C2S, date(2024, 6, 1), date(2024, 6, 30)),))
    result = price(sheet(line(1, at=date(2024, 6, 28)), line(2, at=date(2024, 7, 1))), patient)
    assert [item.participation for item in result.lines] == [D("0.00"), D("2.00")]


def test_turning_18_ends_the_exemption():
    birth = date(2006, 6, 2)
    patient = rights(birth_date=birth)
    result = price(sheet(line(1, at=date(2024, 6, 1)), line(2, at=date(2024, 6, 2)),
                         birth_date=birth), patient)
    assert [item.participation for item in result.lines] == [D("0.00"), D("2.00")]


@pytest.mark.parametrize(
    ("at", "per_box"),
    [(date(2024, 3, 30), D("0.50")), (date(2024, 3, 31), D("1.00"))],
)
def test_franchise_per_medicine_box_changes_on_31_march_2024(at, per_box):
    care = sheet(line(code=CIP_DOLI, kind=LineKind.MEDICINE, quantity=3, at=at),
                 profession=Profession.PHARMACIEN)
    result = price(care, rights())
    assert result.charges.franchise == per_box * 3
    assert result.charges.participation == D("0.00")


def test_franchise_paramedical_acts_daily_cap():
    lines = [line(n, code="AMI", at=date(2024, 4, 2)) for n in range(1, 6)]
    lines.append(line(6, code="AMI", at=date(2024, 4, 3)))
    result = price(sheet(*lines, profession=Profession.INFIRMIER), rights())
    assert [item.franchise for item in result.lines] == [D("1.00")] * 4 + [D("0.00"), D("1.00")]
    assert result.charges.franchise == D("5.00")
    assert result.charges.participation == D("0.00")


def test_franchise_yearly_cap():
    care = sheet(line(code=CIP_DOLI, kind=LineKind.MEDICINE, quantity=5, at=date(2024, 9, 2)),
                 profession=Profession.PHARMACIEN)
    result = price(care, rights(), prior=PriorCharges(years=(YearCharges(2024, franchise=D("47.50")),)))
    assert result.charges.franchise == D("2.50")


def test_no_charge_on_lpp_devices():
    care = sheet(line(code=LPP_DRESSING, kind=LineKind.DEVICE, at=date(2025, 1, 6)),
                 profession=Profession.PHARMACIEN)
    assert price(care, rights()).charges.total == D("0.00")


def test_pricing_without_rights_uses_the_sheet_birth_date():
    care = sheet(line(at=date(2024, 6, 3)), birth_date=CHILD_BIRTH, patient_nir=CHILD_NIR)
    assert price(care, None).charges.exemptions == ("moins de 18 ans",)


# --- the dated configuration -------------------------------------------------------------

def test_packaged_configuration_marks_unconfirmed_values():
    config = default_billing_config()
    assert "participation_forfaitaire.day_cap" in config.unconfirmed()
    assert "participation_forfaitaire.unit" not in config.unconfirmed()
    # the 2026 proposal is documented but not applied
    assert config.participation.unit.at(date(2026, 6, 1)) == D("2.00")
    assert config.franchise.medicine_box.at(date(2026, 6, 1)) == D("1.00")


def _docs():
    import json

    from amelipro.fse.charges import DATA_DIR

    return (json.loads((DATA_DIR / "charges.json").read_text()),
            json.loads((DATA_DIR / "rates.json").read_text()))


def test_activating_a_proposal_changes_the_value_from_its_date():
    charges, rates = _docs()
    for entry in charges["participation_forfaitaire"]["unit"]:
        if entry.get("active") is False:
            entry["active"] = True
    charges["participation_forfaitaire"]["unit"][2]["to"] = "2025-12-31"
    config = build_billing_config(charges, rates)
    assert config.participation.unit.at(date(2025, 12, 31)) == D("2.00")
    assert config.participation.unit.at(date(2026, 1, 1)) == D("4.00")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c["participation_forfaitaire"]["unit"][1].update(to=None), "overlap"),
        (lambda c: c["participation_forfaitaire"]["unit"][1].update(value=1.0), "strings"),
        (lambda c: c["participation_forfaitaire"]["unit"][1].update(status="maybe"), "status"),
        (lambda c: c["participation_forfaitaire"]["unit"][1].update(value="1.005"), "invalid amount"),
    ],
)
def test_malformed_configuration_is_refused(mutate, message):
    charges, rates = _docs()
    mutate(charges)
    with pytest.raises(BillingConfigError, match=message):
        build_billing_config(charges, rates)


def test_ehpad_stay_does_not_change_the_price():
    patient = rights(ehpad=(EhpadStay(Period(date(2024, 1, 1)), "750000017", "EHPAD Les Tilleuls"),))
    care = sheet(line(code=LPP_WHEELCHAIR, kind=LineKind.DEVICE, at=date(2025, 1, 6)),
                 profession=Profession.PHARMACIEN)
    assert price(care, patient).line(1).base == D("1125.00")
