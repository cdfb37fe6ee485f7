"""Everyday billing rules at their boundaries: majorations (MEG, F, MN/MM, MD, MCG), the
participation forfaitaire once per consultation, the two-year limit, price caps, LPP without
a tariff, sectors by date, duplicate care. Pure: no database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from amelipro.fse import errors as E
from amelipro.fse.charges import default_billing_config
from amelipro.fse.domain import LineKind
from amelipro.fse.majorations import is_sunday_or_holiday
from amelipro.fse.pricing import (
    ConventionSector,
    LineProblem,
    PracticeHistory,
    PracticePeriod,
    Sector,
)
from amelipro.fse.rules import (
    BILLING_LIMIT_YEARS,
    BilledCare,
    billing_deadline,
    care_keys,
    duplicate_care,
)
from tests.unit.test_fse_pricing import (
    CHILD_NIR,
    CIP_DOLI,
    LPP_DRESSING,
    LPP_PUMP,
    line,
    price,
    rights,
    sheet,
)
from tests.unit.test_fse_rules import CARE, Case, _charged, device, pharmacy, valid

D = Decimal
SATURDAY, SUNDAY, WHIT_MONDAY = date(2025, 3, 8), date(2025, 3, 9), date(2025, 6, 9)


def codes(care, **kwargs) -> list[str]:
    return Case(care, **kwargs).check().codes


# --- MEG: under 6 on the date of care ----------------------------------------------------

@pytest.mark.parametrize(
    ("born", "ok"),
    [(date(2019, 3, 4), True),   # 5 years 364 days on 3 March 2025
     (date(2019, 3, 3), False)],  # 6 years that day
)
def test_meg_under_six_on_the_date_of_care(born, ok):
    patient = rights(birth_date=born, nir_=CHILD_NIR)
    care = valid(line(at=CARE), line(2, code="MEG", at=CARE), birth_date=born,
                 patient_nir=CHILD_NIR, patient=patient)
    found = codes(care, patient=patient)
    assert found == ([] if ok else [E.MAJORATION_AGE.code])


def test_meg_is_priced_with_its_dated_value():
    result = price(sheet(line(at=CARE), line(2, code="MEG", at=CARE)), rights())
    assert [item.base for item in result.lines] == [D("30.00"), D("5.00")]
    assert result.line(2).label.startswith("Majoration pour l'enfant")
    assert result.amo == D("24.50")


# --- F: Sunday or public holiday from the project's one calendar --------------------------

@pytest.mark.parametrize(
    ("day", "ok"),
    [(SATURDAY, False), (SUNDAY, True), (WHIT_MONDAY, True), (date(2025, 6, 10), False)],
)
def test_f_on_sundays_and_public_holidays(day, ok):
    care = valid(line(at=day), line(2, code="F", at=day), invoice_date=day)
    found = codes(care, today=date(2025, 7, 1))
    assert found == ([] if ok else [E.MAJORATION_DAY.code])
    assert is_sunday_or_holiday(day) is ok


def test_f_detail_names_the_day():
    result = Case(valid(line(at=SATURDAY), line(2, code="F", at=SATURDAY))).check()
    assert "samedi" in result.errors[0].detail and "F" in result.errors[0].detail


# --- night: the time of care is needed ---------------------------------------------------

@pytest.mark.parametrize(
    ("code", "at", "expected"),
    [("MN", None, "FSE-R-035"), ("MN", "19:59", "FSE-R-036"), ("MN", "20:00", None),
     ("MN", "23:59", None), ("MN", "06:00", None), ("MN", "07:59", None), ("MN", "08:00", "FSE-R-036"),
     ("MN", "02:00", "FSE-R-036"), ("MM", "00:00", None), ("MM", "05:59", None),
     ("MM", "06:00", "FSE-R-036"), ("MM", None, "FSE-R-035")],
)
def test_night_majorations_need_the_time(code, at, expected):
    care = valid(line(at=CARE, time_=at), line(2, code=code, at=CARE))
    assert codes(care) == ([] if expected is None else [expected])


def test_time_on_the_majoration_line_itself_counts():
    care = valid(line(at=CARE), line(2, code="MM", at=CARE, time_="03:10"))
    assert codes(care) == []


# --- MD with a visit; MCG in the pathway; a majoration needs its act ---------------------

def test_md_with_a_home_visit_is_priced():
    care = valid(line(code="VG", at=CARE), line(2, code="MD", at=CARE))
    result = Case(care).check()
    assert result.ok
    assert result.pricing.base == D("40.00")


def test_md_without_a_visit_and_majoration_alone():
    assert codes(valid(line(at=CARE), line(2, code="MD", at=CARE))) == [E.MAJORATION_HOME_VISIT.code]
    alone = valid(line(code="MD", at=CARE))
    result = Case(alone).check()
    assert result.codes == [E.MAJORATION_WITHOUT_ACT.code]
    assert "VG" in result.errors[0].detail


def test_majoration_on_another_day_than_its_act():
    care = valid(line(at=SATURDAY), line(2, code="F", at=SUNDAY), invoice_date=SUNDAY)
    assert E.MAJORATION_WITHOUT_ACT.code in codes(care)


def test_unknown_value_is_said_as_such_never_not_reimbursable():
    day = date(2017, 4, 30)  # a Sunday before the configured value
    care = valid(line(at=day), line(2, code="F", at=day), invoice_date=day)
    result = Case(care, today=date(2017, 5, 2)).check()
    on_f = [e for e in result.errors if e.line == 2]
    assert [e.code for e in on_f] == [E.MAJORATION_VALUE_UNKNOWN.code]
    assert E.NOT_REIMBURSABLE.code not in result.codes
    assert result.pricing.line(2).problem == LineProblem.VALUE_UNKNOWN
    assert "non remboursable" not in (on_f[0].message + on_f[0].hint).lower()
    assert "aucune valeur connue le 30/04/2017" in on_f[0].detail


def test_every_majoration_is_dated_with_status_and_source():
    config = default_billing_config()
    assert set(config.majorations) >= {"MEG", "F", "MN", "MM", "MD", "MCG"}
    values = {code: m.value_at(CARE) for code, m in config.majorations.items()}
    assert values["MEG"] == D("5.00") and values["F"] == D("19.06") and values["MN"] == D("35.00")
    assert values["MM"] == D("40.00") and values["MD"] == D("10.00") and values["MCG"] == D("5.00")
    for m in config.majorations.values():
        for entry in m.values.entries:
            assert entry.status in ("sourced", "unconfirmed") and entry.source
    assert "majorations.F" in config.unconfirmed()


# --- participation forfaitaire: once per consultation ------------------------------------

def test_participation_once_per_consultation_with_its_majorations():
    care = sheet(line(at=SUNDAY), line(2, code="F", at=SUNDAY))
    result = price(care, rights())
    assert result.charges.participation == D("2.00")
    assert [item.participation for item in result.lines] == [D("2.00"), D("0.00")]
    visit = price(sheet(line(code="VG", at=CARE), line(2, code="MD", at=CARE)), rights())
    assert visit.charges.participation == D("2.00")


# --- the two-year limit ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("care", "last"),
    [(date(2023, 1, 1), date(2025, 3, 31)), (date(2023, 3, 31), date(2025, 3, 31)),
     (date(2023, 4, 1), date(2025, 6, 30)), (date(2023, 11, 15), date(2025, 12, 31)),
     (date(2023, 12, 31), date(2025, 12, 31))],
)
def test_billing_deadline_from_the_next_quarter(care, last):
    assert billing_deadline(care) == last
    assert BILLING_LIMIT_YEARS == 2


@pytest.mark.parametrize(("today", "ok"), [(date(2025, 3, 31), True), (date(2025, 4, 1), False)])
def test_last_day_of_the_limit_and_the_day_after(today, ok):
    care = valid(line(code="DEQP003", kind=LineKind.CCAM, at=date(2023, 2, 15)), invoice_date=today)
    found = codes(care, today=today)
    assert found == ([] if ok else [E.CARE_DATE_TOO_OLD.code])


def test_time_limit_detail_gives_the_last_day():
    care = valid(line(code="DEQP003", kind=LineKind.CCAM, at=date(2023, 2, 15)), invoice_date=date(2025, 4, 1))
    error = Case(care, today=date(2025, 4, 1)).check().errors[0]
    assert "31/03/2025" in error.detail


# --- price caps --------------------------------------------------------------------------

@pytest.mark.parametrize(("charged", "ok"), [("3.57", True), ("3.58", False)])
def test_medicine_at_its_price_and_one_cent_above(charged, ok):
    found = codes(_charged(pharmacy(), charged))
    assert found == ([] if ok else [E.ABOVE_PRICE.code])


def test_lpp_sold_below_its_tariff_is_reimbursed_on_the_price_charged():
    care = pharmacy(device(LPP_DRESSING, quantity=2))  # tariff 5,34 € × 2
    cheaper = _charged(care, "9.00")
    result = price(cheaper, rights())
    assert (result.line(1).base, result.line(1).amo) == (D("9.00"), D("5.40"))
    assert price(_charged(care, "12.00"), rights()).line(1).base == D("10.68")


def test_lpp_without_tariff_has_its_own_code_and_no_advice_to_bill_the_patient():
    result = Case(pharmacy(device(LPP_PUMP))).check()
    assert result.codes == [E.LPP_NO_TARIFF.code]
    error = result.errors[0]
    assert error.message == "Tarif absent du référentiel chargé."
    assert "patient" not in error.hint.lower()
    assert "tarif absent du référentiel chargé" in error.detail


# --- sectors by date ---------------------------------------------------------------------

def test_ccam_grid_follows_the_sector_on_the_date_of_care():
    history = PracticeHistory((
        PracticePeriod(date(2020, 1, 1), date(2024, 12, 31), ConventionSector.SECTOR_1, "Médecine générale"),
        PracticePeriod(date(2025, 1, 1), None, ConventionSector.SECTOR_2, "Médecine générale"),
    ))
    care = sheet(line(1, "DEQP003", at=date(2024, 12, 31), kind=LineKind.CCAM),
                 line(2, "DEQP003", at=date(2025, 1, 2), kind=LineKind.CCAM))
    result = price(care, rights(), sector=history)
    assert [item.base for item in result.lines] == [D("14.77"), D("13.81")]
    optam = PracticeHistory((PracticePeriod(date(2020, 1, 1), None, ConventionSector.SECTOR_2_OPTAM),))
    assert price(care, rights(), sector=optam).base == D("29.54")
    assert ConventionSector.SECTOR_2.grid == Sector.OTHER
    assert PracticeHistory().grid(CARE) == Sector.OPTAM


# --- duplicate care ----------------------------------------------------------------------

def test_duplicate_care_names_the_first_invoice():
    care = valid(line(at=CARE), line(2, code="MEG", at=CARE), invoice_number="F2")
    billed = {(CARE, "ngap", "G", 0): BilledCare("F1", 41)}
    found = duplicate_care(care, billed)
    assert [v.code for v in found] == [E.DUPLICATE_CARE.code]  # the majoration follows its act
    assert "F1" in found[0].detail and "41" in found[0].detail
    assert found[0].expected == {"first_invoice": "F1", "first_fse_id": 41}


def test_second_act_flag_and_other_quantities_are_not_duplicates():
    care = valid(line(at=CARE, second_act=True), invoice_number="F2")
    assert duplicate_care(care, {(CARE, "ngap", "G", 0): BilledCare("F1", 41)}) == []
    boxes = pharmacy(line(code=CIP_DOLI, kind=LineKind.MEDICINE, at=CARE, quantity=2))
    keys = [key for _line, key in care_keys(boxes)]
    assert keys == [(CARE, "medicament", CIP_DOLI, 2)]
    assert duplicate_care(boxes, {(CARE, "medicament", CIP_DOLI, 1): BilledCare("F1", 3)}) == []
    assert duplicate_care(boxes, {(CARE, "medicament", CIP_DOLI, 2): BilledCare("F1", 3)})


def test_same_invoice_number_is_not_a_duplicate_of_itself():
    care = valid(line(at=CARE), invoice_number="F1")
    assert duplicate_care(care, {(CARE, "ngap", "G", 0): BilledCare("F1", 41)}) == []


def test_days_of_care_differ():
    care = valid(line(at=CARE), invoice_number="F2")
    assert duplicate_care(care, {(CARE - timedelta(days=1), "ngap", "G", 0): BilledCare("F1", 1)}) == []
